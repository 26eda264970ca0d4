"""Edge metrics from additive statistics: counts at a cut, score histograms, ROC AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from raytrack.families.tracking.edge_metrics import (
    edge_counts,
    efficiency_purity,
    roc_auc_from_histograms,
    score_histograms,
)


def test_edge_counts_and_ratios():
    scores = torch.tensor([0.9, 0.8, 0.2, 0.6, 0.1, 0.7])
    truth = torch.tensor([1, 1, 1, 0, 0, 0], dtype=torch.bool)
    counts = edge_counts(scores, truth, 0.5)
    assert counts.dtype == torch.float64
    assert counts.tolist() == [2.0, 4.0, 3.0]  # TP, predicted positives, true edges
    assert efficiency_purity(*counts) == pytest.approx((2 / 3, 2 / 4))
    # signal statistics: true edges outside the signal are neither wanted nor fake
    signal = torch.tensor([1, 0, 1, 0, 0, 0], dtype=torch.bool)
    counts = edge_counts(scores, truth & signal, 0.5, keep=~truth | signal)
    assert counts.tolist() == [1.0, 3.0, 2.0]


def test_ratios_with_empty_denominators_are_nan():
    eff, pur = efficiency_purity(0, 0, 0)
    assert math.isnan(eff) and math.isnan(pur)


def test_histograms_split_positives_and_negatives():
    scores = torch.tensor([0.0, 0.25, 0.5, 1.0, 1.2, -0.1])
    truth = torch.tensor([1, 0, 1, 1, 0, 0], dtype=torch.bool)
    hist = score_histograms(scores, truth, bins=4)
    assert hist.shape == (2, 4) and hist.dtype == torch.float64
    assert hist[0].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert hist[1].tolist() == [1.0, 1.0, 0.0, 1.0]  # out-of-range scores clamp to the end bins


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_histogram_auc_agrees_with_sklearn(seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    n = 50_000
    truth = rng.random(n) < 0.2
    logits = rng.normal(size=n) + 1.5 * truth * (seed + 1) / 2
    scores = 1 / (1 + np.exp(-logits))
    hist = score_histograms(torch.from_numpy(scores), torch.from_numpy(truth), bins=1000)
    auc = roc_auc_from_histograms(hist[0], hist[1])
    assert auc == pytest.approx(roc_auc_score(truth, scores), abs=1e-3)


def test_histograms_merge_additively():
    rng = np.random.default_rng(3)
    scores = torch.from_numpy(rng.random(1000))
    truth = torch.from_numpy(rng.random(1000) < 0.5)
    whole = score_histograms(scores, truth, 100)
    parts = score_histograms(scores[:400], truth[:400], 100) + score_histograms(
        scores[400:], truth[400:], 100
    )
    torch.testing.assert_close(whole, parts)


def test_auc_edge_cases():
    perfect = score_histograms(
        torch.tensor([0.9, 0.95, 0.1]), torch.tensor([True, True, False]), 10
    )
    assert roc_auc_from_histograms(perfect[0], perfect[1]) == 1.0
    only_positive = score_histograms(torch.tensor([0.9]), torch.tensor([True]), 10)
    assert math.isnan(roc_auc_from_histograms(only_positive[0], only_positive[1]))
    with pytest.raises(ValueError, match="bins must be at least 1"):
        score_histograms(torch.zeros(1), torch.zeros(1, dtype=torch.bool), 0)


def test_signal_auc_ranks_signal_edges_against_fake_ones():
    """True edges below the signal cut count as neither positives nor negatives."""
    from sklearn.metrics import roc_auc_score

    from raytrack.families.tracking.edge_metrics import (
        edge_classifier_metrics,
        edge_classifier_statistics,
    )

    rng = np.random.default_rng(4)
    n = 20_000
    truth = rng.random(n) < 0.3
    signal = truth & (rng.random(n) < 0.5)
    # non-signal true edges score lowest: they would drag an all-edge AUC down, not the signal AUC
    logits = rng.normal(size=n) + 2.0 * signal - 3.0 * (truth & ~signal)
    scores = torch.from_numpy(1 / (1 + np.exp(-logits)))
    stats = edge_classifier_statistics(
        scores, torch.from_numpy(truth), torch.from_numpy(signal), 0.5
    )
    metrics = edge_classifier_metrics(stats)
    keep = ~truth | signal
    assert metrics["signal_auc"] == pytest.approx(
        roc_auc_score(signal[keep], scores[keep]), abs=1e-3
    )
    assert metrics["auc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-3)
    assert metrics["signal_auc"] > 0.85 > metrics["auc"]
