"""Track building from scored graphs: connected components, orientation, order, submissions."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.tracking.track_building import (
    build_tracks,
    connected_components_tracks,
    labels_to_submission,
    orient_edges,
    topological_order,
)


def graph(*edges: tuple[int, int, float]) -> tuple[np.ndarray, np.ndarray]:
    e = np.array([(u, v) for u, v, _ in edges], dtype=np.int64).T.reshape(2, -1)
    s = np.array([w for _, _, w in edges], dtype=np.float64)
    return e, s


def groups(labels: np.ndarray) -> set[frozenset[int]]:
    """The candidates as sets of nodes (label values do not matter)."""
    out: dict[int, set[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            out.setdefault(lab, set()).add(i)
    return {frozenset(g) for g in out.values()}


# ---------------------------------------------------------------- connected components


def test_connected_components():
    # Two chains joined by a weak edge (0.4) and one isolated hit (7).
    e, s = graph((0, 1, 0.9), (1, 2, 0.8), (2, 3, 0.4), (3, 4, 0.95), (5, 4, 0.7), (6, 5, 0.6))
    lab = connected_components_tracks(e, s, 8, edge_cut=0.5)
    assert lab.tolist() == [0, 0, 0, 1, 1, 1, 1, -1]  # the isolated hit is on no candidate
    # min_hits=1 makes it a one-hit component instead.
    lab = connected_components_tracks(e, s, 8, edge_cut=0.5, min_hits=1)
    assert lab.tolist() == [0, 0, 0, 1, 1, 1, 1, 2]
    # At a lower cut they merge; the cut is strict (score == edge_cut is cut).
    assert groups(connected_components_tracks(e, s, 8, edge_cut=0.3)) == {frozenset(range(7))}
    assert connected_components_tracks(e, s, 8, edge_cut=0.4).max() == 1
    # min_hits turns small components into "no candidate".
    lab = connected_components_tracks(e, s, 8, edge_cut=0.5, min_hits=4)
    assert lab.tolist() == [-1, -1, -1, 0, 0, 0, 0, -1]


def test_connected_components_edge_cases():
    empty = np.zeros((2, 0), int)
    assert connected_components_tracks(empty, np.zeros(0), 3).tolist() == [-1, -1, -1]
    assert connected_components_tracks(empty, np.zeros(0), 3, min_hits=1).tolist() == [0, 1, 2]
    # A self-loop connects nothing.
    assert connected_components_tracks(np.array([[1], [1]]), np.ones(1), 2).tolist() == [-1, -1]
    assert connected_components_tracks(np.zeros((2, 0), int), np.zeros(0), 0).tolist() == []
    with pytest.raises(ValueError, match="one value per edge"):
        connected_components_tracks(np.array([[0], [1]]), np.array([0.9, 0.8]), 2)
    with pytest.raises(ValueError, match="must refer to nodes 0 .. 1"):
        connected_components_tracks(np.array([[0], [5]]), np.array([0.9]), 2)
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        connected_components_tracks(np.array([0, 1]), np.array([0.9]), 2)


# ---------------------------------------------------------------- orientation and order


def test_orient_edges_points_outwards_and_merges_duplicates():
    order = np.array([3.0, 1.0, 2.0, 2.0])
    e = np.array([[0, 1, 2, 3, 2, 1], [1, 2, 3, 2, 2, 0]])
    s = np.array([0.1, 0.2, 0.3, 0.9, 0.5, 0.7])
    (src, dst), sc = orient_edges(e, order, s)
    got = {(u, v): w for u, v, w in zip(src.tolist(), dst.tolist(), sc.tolist())}
    # 0-1 twice -> 1->0 with the larger score; 2-3 both ways -> 2->3 (tie on order: by index);
    # the self-loop 2-2 is dropped.
    assert got == {(1, 0): 0.7, (1, 2): 0.2, (2, 3): 0.9}


def test_topological_order_generations_and_cycles():
    e = np.array([[3, 3, 0, 1], [0, 1, 2, 2]])
    assert topological_order(e, 5).tolist() == [3, 4, 0, 1, 2]
    with pytest.raises(ValueError, match="cycle"):
        topological_order(np.array([[0, 1, 2], [1, 2, 0]]), 3)


# ---------------------------------------------------------------- dispatch and submissions


def test_connected_components_on_a_large_graph():
    rng = np.random.default_rng(0)
    n_particles, n_layers = 5000, 10
    n = n_particles * n_layers
    true_src = np.flatnonzero(np.arange(n) % n_layers < n_layers - 1)
    fake_src = rng.choice(true_src, 50_000)
    fake_dst = rng.integers(0, n_particles, 50_000) * n_layers + fake_src % n_layers + 1
    e = np.stack([np.r_[true_src, fake_src], np.r_[true_src + 1, fake_dst]])
    scores = np.r_[rng.uniform(0.6, 1.0, true_src.size), rng.uniform(0.0, 0.4, 50_000)]
    lab = connected_components_tracks(e, scores, n, edge_cut=0.5)
    assert np.array_equal(lab, np.arange(n) // n_layers)


def test_build_tracks_dispatch():
    e, s = graph((0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9))
    assert build_tracks(e, s, 5, "cc", edge_cut=0.5).tolist() == [0, 0, 0, 0, -1]
    assert build_tracks(e, s, 5, "walkthrough").tolist() == [0, 0, 0, 0, -1]
    with pytest.raises(ValueError, match="method must be one of"):
        build_tracks(e, s, 5, "dbscan")


def test_labels_to_submission():
    sub = labels_to_submission(np.array([10, 11, 12, 13, 14]), np.array([1, -1, 1, 0, -1]))
    assert sub.columns.tolist() == ["hit_id", "track_id"]
    assert sub.track_id.tolist() == [1, 2, 1, 0, 3]
    assert labels_to_submission(np.array([5, 6]), np.array([-1, -1])).track_id.tolist() == [0, 1]
    with pytest.raises(ValueError, match="same length"):
        labels_to_submission(np.array([1, 2]), np.array([0]))
