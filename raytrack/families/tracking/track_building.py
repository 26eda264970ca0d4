"""Track candidates from a scored hit graph: connected components, graph helpers, submissions.

Input everywhere: ``edge_index`` (node indices ``0 .. num_nodes - 1``) and one score per edge
(the GNN's edge probability). Output everywhere: one integer label per node, ``labels[i]`` the
candidate node ``i`` is on, ``0 .. k - 1``, or ``-1`` for a hit on no candidate.
:func:`labels_to_submission` turns labels into a TrackML submission, giving every ``-1`` hit a
track of its own.

Two methods, after the Exa.TrkX / acorn (GNN4ITk "CommonFramework",
``acorn/stages/track_building/models/``) track-building stages, chosen by :func:`build_tracks`:

- ``"cc"``, :func:`connected_components_tracks` (acorn ``ConnectedComponents``): keep edges with
  ``score > edge_cut``, label the connected components of the undirected graph. A hit with no
  kept edge is on no candidate (``-1``), as in acorn's current version (older versions gave it a
  one-hit component: ``min_hits=1``).
- ``"walkthrough"``, :func:`raytrack.families.tracking.walkthrough.walkthrough_tracks` (acorn
  ``CCandWalk``): simple paths from connected components, then a walk along the best edges of a
  DAG for the branching rest.

Shapes:
    edge_index: ``(2, E)`` integers; scores: ``(E,)``; labels: ``(num_nodes,)`` ``int64``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "build_tracks",
    "connected_components_tracks",
    "labels_to_submission",
    "orient_edges",
    "topological_order",
]

TRACK_BUILDERS = ("cc", "walkthrough")


def check_graph(
    edge_index: np.ndarray, scores: np.ndarray | None, num_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate a scored graph; return ``(src, dst, scores)`` as ``int64, int64, float64``."""
    edge_index = np.asarray(edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), but got shape {edge_index.shape}")
    if edge_index.size and not np.issubdtype(edge_index.dtype, np.integer):
        raise TypeError(f"edge_index must hold integers, but got dtype {edge_index.dtype}")
    num_nodes = int(num_nodes)
    if num_nodes < 0:
        raise ValueError(f"num_nodes must be non-negative, but got num_nodes={num_nodes}")
    src = edge_index[0].astype(np.int64, copy=False)
    dst = edge_index[1].astype(np.int64, copy=False)
    if src.size:
        lo, hi = min(src.min(), dst.min()), max(src.max(), dst.max())
        if lo < 0 or hi >= num_nodes:
            raise ValueError(
                f"edge_index must refer to nodes 0 .. {num_nodes - 1} (num_nodes={num_nodes}), "
                f"but holds {lo if lo < 0 else hi}"
            )
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != src.shape[0]:
            raise ValueError(
                f"scores must have one value per edge ({src.shape[0]}), but got {scores.shape[0]}"
            )
    return src, dst, scores


def relabel_dense(labels: np.ndarray) -> np.ndarray:
    """Map the labels ``>= 0`` to ``0 .. k - 1`` in order of first appearance; keep ``-1``."""
    out = np.full(labels.shape, -1, dtype=np.int64)
    keep = labels >= 0
    if keep.any():
        _, first, inverse = np.unique(labels[keep], return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size)
        out[keep] = rank[inverse]
    return out


def connected_components_tracks(
    edge_index: np.ndarray,
    scores: np.ndarray,
    num_nodes: int,
    edge_cut: float = 0.5,
    min_hits: int = 2,
) -> np.ndarray:
    """Track labels from the connected components of the edges with ``score > edge_cut``.

    Args:
        edge_index: node indices; the direction of an edge does not matter.
        scores: one score per edge.
        num_nodes: number of hits (the length of the result).
        edge_cut: edges with ``score > edge_cut`` (strictly) connect hits.
        min_hits: components with fewer hits are labelled ``-1``. The default 2 leaves out
            exactly the hits without a kept edge, as acorn's ``ConnectedComponents`` does; 1
            makes each of them a one-hit component instead.

    Returns:
        Component labels ``0 .. k - 1`` in order of each component's lowest node index, ``-1``
        for hits on components below ``min_hits``.

    Shapes:
        edge_index: ``(2, E)``; scores: ``(E,)``; returns ``(num_nodes,)`` ``int64``.
    """
    if min_hits < 1:
        raise ValueError(f"min_hits must be at least 1, but got min_hits={min_hits}")
    src, dst, scores = check_graph(edge_index, scores, num_nodes)
    keep = (scores > edge_cut) & (src != dst)
    n = int(num_nodes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    adj = coo_matrix((ones, (src[keep], dst[keep])), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=False, return_labels=True)
    labels = labels.astype(np.int64)
    if min_hits > 1:
        size = np.bincount(labels)
        labels = np.where(size[labels] >= min_hits, labels, -1)
    return relabel_dense(labels)


def orient_edges(
    edge_index: np.ndarray, order: np.ndarray, scores: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Point every edge from the node with the smaller ``order`` to the larger one.

    Ties in ``order`` go by node index, so the result is acyclic. Repeated edges (``u -> v``
    twice, or ``u -> v`` and ``v -> u``) become one that keeps the largest score; self-loops are
    dropped. acorn's ``remove_cycles`` orients the same way with ``order = r**2 + z**2``.

    Returns:
        ``(edge_index, scores)`` of the oriented, de-duplicated edges (``scores`` is ``None``
        when none were given).

    Shapes:
        edge_index: ``(2, E)``; order: ``(num_nodes,)``; scores: ``(E,)``; returns ``(2, E')``
        and ``(E',)`` with ``E' <= E``.
    """
    order = np.asarray(order).reshape(-1)
    src, dst, scores = check_graph(edge_index, scores, order.shape[0])
    flip = (order[src] > order[dst]) | ((order[src] == order[dst]) & (src > dst))
    return dedupe_edges(np.where(flip, dst, src), np.where(flip, src, dst), scores, order.size)


def dedupe_edges(
    src: np.ndarray, dst: np.ndarray, scores: np.ndarray | None, num_nodes: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Drop self-loops and merge repeated directed edges (keeping the largest score)."""
    keep = src != dst
    src, dst = src[keep], dst[keep]
    base = max(int(num_nodes), 1)
    key = src * base + dst
    if scores is None:
        key = np.unique(key)
        return np.stack([key // base, key % base]), None
    scores = scores[keep]
    idx = np.lexsort((-scores, key))
    key, scores = key[idx], scores[idx]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, scores = key[first], scores[first]
    return np.stack([key // base, key % base]), scores


def topological_order(edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """All nodes in topological generations (Kahn): first the nodes without incoming edges, then
    those whose predecessors are all placed, and so on; by node index within a generation.

    This is the order of ``networkx.topological_sort`` (it yields ``topological_generations``),
    which acorn's walk-through relies on. Raises ``ValueError`` when the graph has a cycle.

    Shapes:
        edge_index: ``(2, E)``; returns ``(num_nodes,)`` ``int64``.
    """
    src, dst, _ = check_graph(edge_index, None, num_nodes)
    n = int(num_nodes)
    perm = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    dst_sorted = dst[perm]
    indeg = np.bincount(dst, minlength=n).astype(np.int64)
    frontier = np.flatnonzero(indeg == 0)
    out = []
    placed = 0
    while frontier.size:
        out.append(frontier)
        placed += frontier.size
        starts, counts = indptr[frontier], indptr[frontier + 1] - indptr[frontier]
        total = int(counts.sum())
        if total == 0:
            break
        first = np.repeat(starts - np.cumsum(counts) + counts, counts)
        uniq, dec = np.unique(dst_sorted[first + np.arange(total)], return_counts=True)
        indeg[uniq] -= dec
        frontier = uniq[indeg[uniq] == 0]
    if placed != n:
        raise ValueError(
            f"the directed graph must be acyclic, but {n - placed} of its {n} nodes lie on or "
            "after a cycle; orient the edges first, e.g. with node_order = r**2 + z**2"
        )
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def build_tracks(
    edge_index: np.ndarray,
    scores: np.ndarray,
    num_nodes: int,
    method: Literal["cc", "walkthrough"] = "cc",
    **kwargs: object,
) -> np.ndarray:
    """Track labels by ``method``: ``"cc"`` (:func:`connected_components_tracks`, keywords
    ``edge_cut, min_hits``) or ``"walkthrough"`` (:func:`~raytrack.families.tracking.walkthrough.
    walkthrough_tracks`, keywords ``score_cut_cc, th_min, th_add, node_order, cc_only``).

    Shapes:
        edge_index: ``(2, E)``; scores: ``(E,)``; returns ``(num_nodes,)`` ``int64``.
    """
    from raytrack.families.tracking.walkthrough import walkthrough_tracks  # it imports this module

    builders = {"cc": connected_components_tracks, "walkthrough": walkthrough_tracks}
    if method not in builders:
        raise ValueError(f"method must be one of {TRACK_BUILDERS}, but got method={method!r}")
    return builders[method](edge_index, scores, num_nodes, **kwargs)  # type: ignore[operator]


def labels_to_submission(hit_id: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """A TrackML submission (``hit_id, track_id``) from per-hit track labels.

    Hits labelled ``-1`` (on no candidate) each get a track of their own, numbered after the
    largest label, so that every hit is assigned as the challenge's format expects; the score
    treats them exactly like hits left out of the submission.

    Shapes:
        hit_id: ``(N,)``; labels: ``(N,)``; returns a DataFrame of ``N`` rows.
    """
    hit_id = np.asarray(hit_id).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if hit_id.shape != labels.shape:
        raise ValueError(
            f"hit_id and labels must have the same length, but got {hit_id.size} and {labels.size}"
        )
    if labels.size and labels.min() < -1:
        raise ValueError(f"labels must be >= 0, or -1 for no track, but got {labels.min()}")
    track_id = labels.copy()
    free = labels < 0
    start = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    track_id[free] = start + np.arange(int(free.sum()), dtype=np.int64)
    return pd.DataFrame({"hit_id": hit_id, "track_id": track_id})
