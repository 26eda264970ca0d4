"""The embedding stage's validation metrics on a hand-made event whose graph is known.

The embedding is the hit features themselves (``r/1000, φ/π, z/1000``), so the radius graph and
every metric follow from the hit positions, counted here by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.families.exatrkx.test_embedding import build, with_cylindrical
from tests.families.tracking.test_truth import make_event

R_VAL = 0.025  # hits 10 apart in r are 0.01005 apart, 20 apart 0.0201, 30 apart 0.0302


class FeaturesAsEmbedding(nn.Module):
    """The identity map: each hit's embedding is its feature vector."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"embedding": x}


def hits_at(pid: int, radii: list[float], phi: float) -> list[tuple]:
    """Hits on one straight line from the origin (``z = r / 10``), layer ``r / 5``."""
    return [
        (pid, r * np.cos(phi), r * np.sin(phi), 0.1 * r, 8, int(r // 5), int(r // 10))
        for r in radii
    ]


def hand_event():
    """Particle 11 (pT 2) misses the layers at r = 40, 50: its 30 -> 60 truth pair is 0.0302
    apart, outside R_VAL; particle 22 (pT 3) is complete, 33 (pT 0.5) is no signal; a noise hit
    sits on 11's line at r = 15."""
    hits = (
        hits_at(11, [10, 20, 30, 60, 70], 0.3)
        + hits_at(22, [10, 20, 30, 40, 50], 2.0)
        + hits_at(33, [10, 20, 30, 40], -1.5)
        + hits_at(0, [15], 0.3)
    )
    particles = [(11, 0, 0, 0, 2.0), (22, 0, 0, 0, 3.0), (33, 0, 0, 0, 0.5)]
    return with_cylindrical(make_event(hits, particles))


def test_validation_metrics_equal_the_hand_count():
    _, task = build(regime=(), r_val=R_VAL, knn_val=50, target_efficiency=0.8)
    sample = task.prepare(hand_event().to_row())
    # the truth graph (layerwise): consecutive hits of each particle, 4 + 4 + 3 pairs
    truth = {tuple(sorted(p)) for p in sample["truth"].T.tolist()}
    assert truth == {(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (8, 9),
                     (10, 11), (11, 12), (12, 13)}  # fmt: skip
    # The graph within R_VAL: hits up to 20 apart in r on one line.
    #   11 (r 10 20 30 60 70): 10-20 10-30 20-30 60-70        4 pairs, 3 true (30-60 missed)
    #   22 (r 10 ... 50):      4 pairs 10 apart, 3 pairs 20 apart   7 pairs, 4 true
    #   33 (r 10 ... 40):      3 + 2                            5 pairs, 3 true (not signal)
    #   noise (r 15, on 11's line): to r 10 and 20 (5 apart), 30 (15 apart)   3 pairs, 0 true
    edges, found, n_truth = 4 + 7 + 5 + 3, 3 + 4 + 3, 11
    signal_truth, signal_found, non_signal_true = 4 + 4, 3 + 4, 3
    stats = task.validation_step(FeaturesAsEmbedding(), task.collate([sample]))
    metrics = task.summarize(stats)
    assert metrics["edges_per_event"] == edges
    assert metrics["efficiency"] == pytest.approx(found / n_truth)
    assert metrics["purity"] == pytest.approx(found / edges)
    assert metrics["signal_efficiency"] == pytest.approx(signal_found / signal_truth)
    # true pairs that are not signal count neither as found nor as fake
    assert metrics["signal_purity"] == pytest.approx(signal_found / (edges - non_signal_true))
    # 80% of the 8 signal pairs (6.4) needs all 7 found ones, each 0.01005 apart: the radius
    # is the upper edge of the bin of width R_VAL / 200 holding 0.01005 (bin 80)
    assert metrics["target_radius"] == pytest.approx(R_VAL * 81 / 200)
    # within it: the 10 pairs 10 apart and the noise hit's 2 pairs 5 apart; 3 of them are 33's
    assert metrics["target_edges_per_event"] == 10 + 2
    assert metrics["target_purity"] == pytest.approx(signal_found / (10 + 2 - non_signal_true))

    # loss: the hinge over the graph's pairs, signal pairs pulled (d²), the others pushed out
    # to the margin 0.1 (max(0, 0.01 - d²)); on a line with z = r / 10, d² = 1.01 (Δr / 1000)²
    def d2(dr: float) -> float:
        return 1.01 * (dr / 1000) ** 2

    push = [20] * (1 + 3 + 2) + [10] * 3 + [5, 5, 15]  # the 12 pairs that are not signal
    hinge = (7 * d2(10) + sum(max(0.0, 0.1**2 - d2(dr)) for dr in push)) / edges
    assert metrics["loss"] == pytest.approx(hinge, rel=1e-4)
