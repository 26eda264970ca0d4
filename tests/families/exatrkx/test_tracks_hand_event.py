"""The last pipeline step (GNN scores -> tracks -> metrics) on a hand-made event whose track
candidates, and therefore every metric, are known: the expected values are counted by hand
from the definitions (double majority, purity fakes, ATLAS duplicates, the TrackML score)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.families.exatrkx.gnn_task import InteractionGNNTask
from raytrack.families.exatrkx.interaction_gnn import InteractionGNN
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import write_events
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.families.tracking.tracks import evaluate_tracks
from raytrack.pipeline.checkpoints import LoadedCheckpoint

# particle: (pT GeV, hits, weight of each hit); 0 is noise. Reconstructable (pT > 1, >= 5 hits):
# 1, 2, 3, 6 and 7; particle 4 is too soft, particle 5 has too few hits.
PARTICLES = {1: (2.0, 6, 0.01), 2: (3.0, 6, 0.02), 3: (1.5, 6, 0.03), 4: (0.5, 6, 0.005),
             5: (2.0, 4, 0.04), 6: (5.0, 6, 0.05), 7: (4.0, 6, 0.06), 0: (0.0, 6, 0.0)}  # fmt: skip

# Connected chains of the stored graph, as (particle, k-th hit of that particle); every hit is
# on one chain or on none (particle 7's last three: a chain of 3, too short to be a candidate).
CHAINS = {
    "A": [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5)],  # all of 1
    "B": [(2, 0), (2, 1), (2, 2), (2, 3), (0, 0)],  # 4/6 of 2 + noise
    "C": [(2, 4), (2, 5), (3, 0), (3, 1), (3, 2)],  # 3 of 3: purity 3/5, completeness 3/6
    "D": [(3, 3), (3, 4), (4, 0), (4, 1), (4, 2)],  # 3 of (soft) 4: purity 3/5, complet. 3/6
    "E": [(5, 0), (5, 1), (5, 2), (5, 3), (0, 1)],  # all of 5 (4 hits) + noise
    "G": [(6, 0), (6, 1), (6, 2), (0, 2), (0, 3)],  # half of 6: purity 3/5
    "H": [(6, 3), (6, 4), (6, 5), (0, 4), (7, 0)],  # the other half of 6: purity 3/5
    "I": [(7, 1), (7, 2), (4, 3), (4, 4), (0, 5)],  # no majority: purity 2/5 at most
    "F": [(4, 5), (3, 5)],  # 2 hits: not a candidate
    "J": [(7, 3), (7, 4), (7, 5)],  # 3 hits: not a candidate
}


def hand_event() -> Event:
    """The hits of :data:`PARTICLES` and the chains of :data:`CHAINS` as a scored graph."""
    position = {}
    rows = []
    for c, chain in enumerate(CHAINS.values()):
        for j, (pid, k) in enumerate(chain):
            position[pid, k] = len(rows)
            r, phi = 30.0 * (j + 1), 0.2 * c
            rows.append((pid, r * np.cos(phi), r * np.sin(phi), 10.0 * j, r, phi))
    assert len(rows) == sum(n for _, n, _ in PARTICLES.values())  # every hit placed once
    h = np.array(rows)
    pid = h[:, 0].astype(np.int64)
    hits = {
        "hit_id": np.arange(100, 100 + len(h), dtype=np.int64),
        "x": h[:, 1].astype(np.float32),
        "y": h[:, 2].astype(np.float32),
        "z": h[:, 3].astype(np.float32),
        "volume_id": np.full(len(h), 8, np.int32),
        "layer_id": np.full(len(h), 2, np.int32),
        "module_id": np.arange(len(h), dtype=np.int32),
        "particle_id": pid,
        "weight": np.array([PARTICLES[p][2] for p in pid], np.float32),
        "r": h[:, 4].astype(np.float32),
        "phi": h[:, 5].astype(np.float32),
        "eta": np.arcsinh(h[:, 3] / h[:, 4]).astype(np.float32),
    }
    ids = np.array([p for p in PARTICLES if p], np.int64)
    pt = np.array([PARTICLES[p][0] for p in ids], np.float32)
    zeros = np.zeros(len(ids), np.float32)
    particles = {"particle_id": ids, "vx": zeros, "vy": zeros, "vz": zeros, "px": pt,
                 "py": zeros, "pz": zeros, "q": np.ones(len(ids), np.int32),
                 "nhits": np.array([PARTICLES[p][1] for p in ids], np.int32), "pt": pt,
                 "eta": zeros}  # fmt: skip
    src, dst = [], []
    for chain in CHAINS.values():
        src += [position[a] for a in chain[:-1]]
        dst += [position[b] for b in chain[1:]]
    edges = {"src": np.array(src, np.int64), "dst": np.array(dst, np.int64),
             "score": np.ones(len(src), np.float32)}  # fmt: skip
    return Event(event_id=3, hits=hits, particles=particles, edges=edges)


def confident_gnn() -> InteractionGNN:
    """A real interaction GNN whose last layer scores every edge sigmoid(10) (keep them all)."""
    torch.manual_seed(0)
    model = InteractionGNN(hidden=8, n_graph_iters=1)
    last = [m for m in model.output_edge_classifier.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        last[-1].weight.zero_()
        last[-1].bias.fill_(10.0)
    return model.eval()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand") / "store"
    return write_events(path, [hand_event()], provenance={"source": "hand-made"})


def evaluate(store, **settings):
    task = InteractionGNNTask(input_graph="stored", edge_cut=0.5)
    checkpoint = LoadedCheckpoint(store.path, confident_gnn(), task, None)
    return evaluate_tracks(checkpoint, store, TrackSettings(method="cc", **settings)).summary


def test_double_majority_metrics_equal_the_hand_count(store):
    reconstructable = [p for p, (pt, n, _) in PARTICLES.items() if p and pt > 1.0 and n >= 5]
    candidates = [name for name, chain in CHAINS.items() if len(chain) >= 5]
    assert reconstructable == [1, 2, 3, 6, 7] and candidates == list("ABCDEGHI")
    # purity > 1/2 and completeness > 1/2: A-1 (6/6, 6/6), B-2 (4/5, 4/6), E-5 (4/5, 4/4); C-3,
    # D-4, G-6 and H-6 reach exactly 1/2 completeness (3 of 6), which is not more than half
    matched, reconstructed = ["A", "B", "E"], [1, 2]  # 5 is matched but not reconstructable
    summary = evaluate(store)
    assert summary["n_particles"] == len(reconstructable)
    assert summary["n_tracks"] == len(candidates)
    assert summary["n_reconstructed_particles"] == len(reconstructed)
    assert summary["efficiency"] == pytest.approx(len(reconstructed) / len(reconstructable))
    assert summary["fake_rate"] == pytest.approx(1 - len(matched) / len(candidates))
    assert summary["duplicate_rate"] == 0.0
    # purity fakes (one-way): only I has no particle above half of its hits
    assert summary["fake_rate_purity"] == pytest.approx(1 / len(candidates))
    # TrackML: good tracks hold more than half of their hits from one particle and more than
    # half of its hits, singletons and short chains included: A, B, E; their hits of that
    # particle over the weight of every hit
    total = sum(n * w for _, n, w in PARTICLES.values())
    good = 6 * PARTICLES[1][2] + 4 * PARTICLES[2][2] + 4 * PARTICLES[5][2]
    assert summary["trackml_score"] == pytest.approx(good / total)
    assert summary["events"] == 1


def test_atlas_matching_counts_the_split_particle_as_a_duplicate(store):
    # ATLAS: purity > 1/2 alone matches and reconstructs: A-1, B-2, C-3, D-4, E-5, G-6, H-6
    summary = evaluate(store, matching_style="ATLAS")
    assert summary["efficiency"] == pytest.approx(4 / 5)  # 1, 2, 3, 6 of 1, 2, 3, 6, 7
    assert summary["fake_rate"] == pytest.approx(1 / 8)  # I
    # 6 is reconstructed twice (G and H): one surplus over the 4 reconstructed particles
    assert summary["n_duplicated_particles"] == 1
    assert summary["duplicate_rate"] == pytest.approx(1 / 4)
