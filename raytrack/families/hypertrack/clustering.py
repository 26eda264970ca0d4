"""Clustering of hits from the GNN's edge probabilities: ``cut``, ``dbscan``, ``hdbscan``.

All three start from the *sparsified* graph: the edges whose probability exceeds
``edge_threshold`` (self-edges dropped). ``transformer`` clustering (pivot seeding and the set
transformer) is in :mod:`raytrack.families.hypertrack.pivot_clustering`; ``none`` clusters nothing.

- ``cut``: the weakly connected components of the sparsified graph with at least ``min_graph``
  hits are the clusters; smaller ones are noise.
- ``dbscan`` / ``hdbscan``: scikit-learn's DBSCAN / HDBSCAN on the precomputed sparse distance
  ``1 − p`` of the sparsified edges (made symmetric: the larger probability of ``i→j`` and
  ``j→i``). For HDBSCAN, ``min_samples`` virtual hits at distance ``max_dist`` from every hit
  are added (the reference adds one for the ``hdbscan`` package; scikit-learn's sparse
  HDBSCAN needs ``min_samples`` neighbours per row and one connected component); their labels
  are dropped.

Every function returns one label per hit (``int64``, ``-1``: not in a cluster).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import DBSCAN, HDBSCAN

CLUSTER_ALGORITHMS = ("transformer", "cut", "dbscan", "hdbscan", "none")

DBSCAN_DEFAULTS: dict[str, Any] = {"eps": 0.2, "min_samples": 3}
HDBSCAN_DEFAULTS: dict[str, Any] = {
    "algorithm": "generic",
    "cluster_selection_epsilon": 0.0,
    "cluster_selection_method": "eom",
    "alpha": 1.0,
    "min_samples": 2,
    "min_cluster_size": 4,
    "max_dist": 1.0,
}


def _checked(params: Mapping[str, Any] | None, defaults: dict[str, Any], name: str) -> dict:
    unknown = sorted(set(params or {}) - set(defaults))
    if unknown:
        raise ValueError(
            f"cluster_param.{name}: unknown key(s) {unknown}; allowed: {sorted(defaults)}"
        )
    return {**defaults, **(params or {})}


def sparsify(
    edge_index: torch.Tensor, edge_prob: torch.Tensor, edge_threshold: float
) -> torch.Tensor:
    """Boolean mask ``[E]`` of the edges kept: probability above ``edge_threshold``, not a self-edge."""
    if not 0.0 <= edge_threshold < 1.0:
        raise ValueError(
            f"edge_threshold must be in [0, 1), but got edge_threshold={edge_threshold}"
        )
    return (edge_prob > edge_threshold) & (edge_index[0] != edge_index[1])


def weak_components(
    edge_index: torch.Tensor, num_nodes: int, min_graph: int = 4
) -> list[np.ndarray]:
    """The weakly connected components with at least ``min_graph`` nodes, smallest first
    (each a sorted array of node indices)."""
    ei = edge_index.detach().cpu().numpy()
    graph = sp.coo_matrix(
        (np.ones(ei.shape[1], dtype=np.int8), (ei[0], ei[1])), shape=(num_nodes, num_nodes)
    )
    _, comp = connected_components(graph, directed=True, connection="weak")
    order = np.argsort(comp, kind="stable")
    sizes = np.bincount(comp)
    groups = np.split(order, np.cumsum(sizes)[:-1])
    groups = [g for g in groups if len(g) >= min_graph]
    return sorted(groups, key=len)


def labels_from_clusters(clusters: list, num_nodes: int) -> np.ndarray:
    """Per-hit labels from a list of index arrays (cluster ``k`` gets label ``k``)."""
    labels = np.full(num_nodes, -1, dtype=np.int64)
    for k, members in enumerate(clusters):
        labels[np.asarray(members, dtype=np.int64)] = k
    return labels


def cut_clustering(
    edge_index, edge_prob, num_nodes: int, edge_threshold: float, min_graph: int = 4
) -> np.ndarray:
    """``cut``: components of the sparsified graph with ``min_graph`` or more hits."""
    keep = sparsify(edge_index, edge_prob, edge_threshold)
    return labels_from_clusters(
        weak_components(edge_index[:, keep], num_nodes, min_graph), num_nodes
    )


def distance_matrix(
    edge_index,
    edge_prob,
    num_nodes: int,
    edge_threshold: float,
    virtual: int = 0,
    max_dist: float = 1.0,
) -> sp.csr_matrix:
    """Symmetric sparse distances ``1 − p`` of the sparsified edges, ``[N + virtual]²``; the
    ``virtual`` extra nodes sit at ``max_dist`` from every node (and from each other)."""
    keep = sparsify(edge_index, edge_prob, edge_threshold)
    ei = edge_index[:, keep].detach().cpu().numpy().astype(np.int64)
    dist = 1.0 - edge_prob[keep].detach().cpu().to(torch.float64).numpy()
    dist = np.clip(dist, 1e-12, None)  # a stored zero would read as "no edge"
    rows, cols = np.concatenate([ei[0], ei[1]]), np.concatenate([ei[1], ei[0]])
    dist = np.concatenate([dist, dist])
    m = num_nodes + virtual
    if virtual:
        real, extra = np.arange(num_nodes), num_nodes + np.arange(virtual)
        r, c = np.meshgrid(extra, np.concatenate([real, extra]), indexing="ij")
        off = r != c
        rows = np.concatenate([rows, r[off], c[off]])
        cols = np.concatenate([cols, c[off], r[off]])
        dist = np.concatenate([dist, np.full(2 * int(off.sum()), float(max_dist))])
    key = rows * m + cols
    order = np.lexsort((dist, key))  # per (row, col): the smallest distance first
    key, dist = key[order], dist[order]
    first = np.ones(key.size, bool)  # (empty when no edge passes the threshold)
    first[1:] = key[1:] != key[:-1]
    key, dist = key[first], dist[first]
    return sp.csr_matrix((dist, (key // m, key % m)), shape=(m, m))


def dbscan_clustering(
    edge_index,
    edge_prob,
    num_nodes: int,
    edge_threshold: float,
    params: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """``dbscan``: DBSCAN (``eps``, ``min_samples``) on the distance ``1 − p``."""
    p = _checked(params, DBSCAN_DEFAULTS, "dbscan")
    if num_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    dist = distance_matrix(edge_index, edge_prob, num_nodes, edge_threshold)
    out = DBSCAN(metric="precomputed", eps=p["eps"], min_samples=p["min_samples"]).fit(dist)
    return out.labels_.astype(np.int64)


def hdbscan_clustering(
    edge_index,
    edge_prob,
    num_nodes: int,
    edge_threshold: float,
    params: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """``hdbscan``: HDBSCAN with the reference's parameters on the distance ``1 − p``."""
    p = _checked(params, HDBSCAN_DEFAULTS, "hdbscan")
    if p["algorithm"] not in ("generic", "brute"):
        raise ValueError(
            "cluster_param.hdbscan.algorithm must be 'generic' (or 'brute', its scikit-learn "
            f"name) for a precomputed sparse distance, but got {p['algorithm']!r}"
        )
    if num_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    virtual = max(int(p["min_samples"]), 1)
    dist = distance_matrix(edge_index, edge_prob, num_nodes, edge_threshold, virtual, p["max_dist"])
    model = HDBSCAN(
        metric="precomputed",
        algorithm="brute",
        min_cluster_size=p["min_cluster_size"],
        min_samples=p["min_samples"],
        cluster_selection_epsilon=p["cluster_selection_epsilon"],
        cluster_selection_method=p["cluster_selection_method"],
        alpha=p["alpha"],
        metric_params={"max_distance": p["max_dist"]},
        copy=True,
    )
    labels = model.fit(dist).labels_[:num_nodes].astype(np.int64)
    # Renumber densely (a cluster could hold only virtual hits).
    valid = labels >= 0
    labels[valid] = np.unique(labels[valid], return_inverse=True)[1]
    return labels
