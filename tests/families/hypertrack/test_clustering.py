"""Cut, DBSCAN and HDBSCAN clustering of the sparsified edge graph, and the dispatcher."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.families.hypertrack.clustering import (
    cut_clustering,
    dbscan_clustering,
    distance_matrix,
    hdbscan_clustering,
    sparsify,
    weak_components,
)
from raytrack.families.hypertrack.model import cluster_hits


def two_groups() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Groups A = 0..3 and B = 4..7 (all pairs at p 0.95), a bridge 3-4 at p 0.6, hit 8 tied
    to 0 at p 0.3 (below the cut), a pair 9-10 at p 0.9 (below min_graph), self-edges at 1."""
    edges, probs = [], []
    for group in (range(0, 4), range(4, 8)):
        for i in group:
            for j in group:
                if i != j:
                    edges.append((i, j))
                    probs.append(0.95)
    for (i, j), p in {(3, 4): 0.6, (0, 8): 0.3, (9, 10): 0.9}.items():
        edges += [(i, j), (j, i)]
        probs += [p, p]
    edges += [(k, k) for k in range(11)]
    probs += [1.0] * 11
    return torch.tensor(edges).T, torch.tensor(probs), 11


def _partition(labels) -> set[frozenset[int]]:
    labels = np.asarray(labels)
    return {frozenset(np.flatnonzero(labels == k).tolist()) for k in set(labels.tolist()) - {-1}}


A, B = frozenset(range(4)), frozenset(range(4, 8))


def test_sparsify_drops_self_edges_and_weak_edges():
    ei, p, _ = two_groups()
    keep = sparsify(ei, p, 0.55)
    assert not bool((ei[0, keep] == ei[1, keep]).any())
    assert int(keep.sum()) == 12 + 12 + 2 + 2


def test_weak_components_smallest_first_above_min_graph():
    ei = torch.tensor([[0, 1, 2, 5, 6], [1, 2, 3, 6, 7]])
    comps = weak_components(ei, 9, min_graph=3)
    assert [c.tolist() for c in comps] == [[5, 6, 7], [0, 1, 2, 3]]


def test_distance_matrix_is_symmetric_and_keeps_the_larger_probability():
    ei = torch.tensor([[0, 1, 0], [1, 0, 1]])
    d = distance_matrix(ei, torch.tensor([0.7, 0.9, 0.8]), 2, 0.5).toarray()
    np.testing.assert_allclose(d, [[0.0, 0.1], [0.1, 0.0]], atol=1e-7)
    v = distance_matrix(ei, torch.tensor([0.7, 0.9, 0.8]), 2, 0.5, virtual=1, max_dist=1.0)
    np.testing.assert_allclose(v.toarray()[2], [1.0, 1.0, 0.0])


def test_cut_joins_what_the_bridge_joins():
    ei, p, n = two_groups()
    assert _partition(cut_clustering(ei, p, n, 0.55)) == {A | B}
    assert _partition(cut_clustering(ei, p, n, 0.7)) == {A, B}
    assert _partition(cut_clustering(ei, p, n, 0.55, min_graph=2)) == {A | B, frozenset({9, 10})}


def test_dbscan_splits_at_eps():
    ei, p, n = two_groups()
    assert _partition(dbscan_clustering(ei, p, n, 0.55)) == {A, B}
    assert _partition(dbscan_clustering(ei, p, n, 0.55, {"eps": 0.5})) == {A | B}
    assert _partition(dbscan_clustering(ei, p, n, 0.55, {"min_samples": 2})) == {
        A,
        B,
        frozenset({9, 10}),
    }


def test_hdbscan_finds_the_two_groups_and_follows_its_parameters():
    ei, p, n = two_groups()
    labels = hdbscan_clustering(ei, p, n, 0.55)
    assert _partition(labels) == {A, B}
    assert labels[8] == labels[9] == labels[10] == -1
    assert _partition(hdbscan_clustering(ei, p, n, 0.55, {"min_cluster_size": 5})) != {A, B}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda e, p, n: dbscan_clustering(e, p, n, 0.5, {"epsilon": 1}), "dbscan: unknown key"),
        (
            lambda e, p, n: hdbscan_clustering(e, p, n, 0.5, {"algorithm": "prims_kdtree"}),
            "generic",
        ),
        (lambda e, p, n: cut_clustering(e, p, n, 1.5), "edge_threshold must be in"),
    ],
)
def test_bad_parameters_name_the_key(call, message):
    ei, p, n = two_groups()
    with pytest.raises(ValueError, match=message):
        call(ei, p, n)


def test_dispatcher_runs_every_graph_algorithm():
    ei, p, n = two_groups()
    x = torch.zeros(n, 3)
    got = {
        algo: _partition(cluster_hits(algo, x, ei, p, edge_threshold=0.55).labels.numpy())
        for algo in ("cut", "dbscan", "hdbscan", "none")
    }
    assert got == {"cut": {A | B}, "dbscan": {A, B}, "hdbscan": {A, B}, "none": set()}
    with pytest.raises(ValueError, match="cluster must be one of"):
        cluster_hits("kmeans", x, ei, p)
    with pytest.raises(ValueError, match="needs the GNN latents"):
        cluster_hits("transformer", x, ei, p)
    with pytest.raises(ValueError, match="cluster_param: unknown key"):
        cluster_hits("cut", x, ei, p, cluster_param={"min_size": 3})


def test_no_edge_above_the_threshold_clusters_nothing():
    # an untrained GNN may score every edge below edge_threshold
    ei, p, n = two_groups()
    x = torch.zeros(n, 3)
    for algo in ("cut", "dbscan", "hdbscan"):
        labels = cluster_hits(algo, x, ei, p * 0.1, edge_threshold=0.55).labels
        assert labels.tolist() == [-1] * n, algo
