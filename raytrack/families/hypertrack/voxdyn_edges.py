"""Candidate edges of an event from a trained voxdyn constructor, and their truth metrics.

An unordered hit pair ``{i, j}`` (``i != j``) is a candidate when the cells of its hits are
connected in ``C`` (:mod:`.voxdyn`). Edges come out as ``(2, E)`` int64 hit positions with
``i < j`` on top, each pair once (HyperTrack's adjacency holds both directions; flip and
concatenate for a directed graph).

Algorithm: hits are sorted by cell; ``C`` is restricted to the event's occupied cells and its
upper triangle (diagonal included) lists the connected cell pairs ``(u <= v)``; each pair gives
``n_u * n_v`` hit pairs (``n_u (n_u - 1) / 2`` when ``u == v``), expanded with ``repeat`` and
``arange``, never a dense ``N x N`` matrix. Expansion runs over blocks of cell pairs of at most
``chunk_edges`` hit pairs each (a cell pair is never split), so memory stays bounded whatever the pile-up; the metrics
stream over the blocks and never hold the whole edge list.

Metrics (HyperTrack's adjacency figures, against the constructor's own ``node2node`` truth):
*efficiency* = true edges among the candidates / true edges, *purity* = true edges among the
candidates / candidates, and candidates (*edges*) per event. :func:`edge_statistics` gives the
additive counts of one event; :func:`graph_metrics` turns their sum into the figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from raytrack.families.hypertrack.voxdyn import VoxdynConstructor, hit_positions
from raytrack.families.hypertrack.voxdyn_key import VoxdynError
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import node2node_edges

__all__ = [
    "VOXDYN_GRAPH_METRICS",
    "candidate_edges",
    "count_candidate_edges",
    "edge_statistics",
    "graph_metrics",
    "iter_candidate_edges",
    "label_edges",
]

DEFAULT_CHUNK_EDGES = 1 << 22
"""Hit pairs expanded at once (about 100 MB of temporaries at most)."""

VOXDYN_GRAPH_METRICS = ("efficiency", "purity", "edges_per_event")


def _cell_pairs(constructor: VoxdynConstructor, positions: np.ndarray):
    """Hits sorted by cell, the occupied cells' starts and sizes, and the connected pairs."""
    cells = constructor.cells(positions)
    order = np.argsort(cells, kind="stable")
    occupied, starts, sizes = np.unique(cells[order], return_index=True, return_counts=True)
    sub = constructor.connectivity[occupied][:, occupied]
    upper = sp.triu(sub, k=0, format="coo")
    a, b = upper.row.astype(np.int64), upper.col.astype(np.int64)
    o = np.lexsort((b, a))
    a, b = a[o], b[o]
    n_a, n_b = sizes[a].astype(np.int64), sizes[b].astype(np.int64)
    pairs = np.where(a == b, n_a * (n_a - 1) // 2, n_a * n_b)
    return order, starts.astype(np.int64), sizes.astype(np.int64), a, b, pairs


def _expand(order, starts, sizes, a, b) -> np.ndarray:
    """Hit pairs of the cell pairs ``(a, b)``: the ``n_a x n_b`` grid of each, row-major, with
    only ``i < j`` kept when ``a == b``; returned as hit positions, smaller first."""
    n_a, n_b = sizes[a], sizes[b]
    grid = n_a * n_b
    which = np.repeat(np.arange(a.size), grid)
    local = np.arange(int(grid.sum())) - np.repeat(np.cumsum(grid) - grid, grid)
    cols = n_b[which]
    i, j = local // cols, local % cols
    keep = (a[which] != b[which]) | (i < j)
    which, i, j = which[keep], i[keep], j[keep]
    src = order[starts[a[which]] + i]
    dst = order[starts[b[which]] + j]
    return np.stack([np.minimum(src, dst), np.maximum(src, dst)])


def _positions(event_or_positions: Event | np.ndarray) -> np.ndarray:
    if isinstance(event_or_positions, Event):
        return hit_positions(event_or_positions)
    return np.asarray(event_or_positions, np.float32).reshape(-1, 3)


def count_candidate_edges(
    constructor: VoxdynConstructor, event_or_positions: Event | np.ndarray
) -> int:
    """How many candidate edges the event has (cheap: nothing is expanded)."""
    *_, pairs = _cell_pairs(constructor, _positions(event_or_positions))
    return int(pairs.sum())


def iter_candidate_edges(
    constructor: VoxdynConstructor,
    event_or_positions: Event | np.ndarray,
    *,
    chunk_edges: int = DEFAULT_CHUNK_EDGES,
) -> Iterator[np.ndarray]:
    """The candidate edges in blocks of about ``chunk_edges`` (a cell pair is never split)."""
    if chunk_edges < 1:
        raise ValueError(f"chunk_edges must be at least 1, but got chunk_edges={chunk_edges}")
    order, starts, sizes, a, b, pairs = _cell_pairs(constructor, _positions(event_or_positions))
    keep = pairs > 0
    a, b = a[keep], b[keep]
    bounds = np.cumsum(sizes[a] * sizes[b])  # grid cells expanded (a diagonal grid twice its pairs)
    first = 0
    while first < a.size:
        budget = (bounds[first - 1] if first else 0) + chunk_edges
        last = max(first + 1, int(np.searchsorted(bounds, budget, side="right")))
        yield _expand(order, starts, sizes, a[first:last], b[first:last])
        first = last


def candidate_edges(
    constructor: VoxdynConstructor,
    event_or_positions: Event | np.ndarray,
    *,
    max_edges: int | None = None,
) -> np.ndarray:
    """All candidate edges ``(2, E)`` (``i < j``, sorted); an event with more than
    ``max_edges`` is a :class:`VoxdynError` naming ``ncell`` (more cells, fewer edges)."""
    positions = _positions(event_or_positions)
    if max_edges is not None:
        count = count_candidate_edges(constructor, positions)
        if count > max_edges:
            raise VoxdynError(
                f"the event's {positions.shape[0]} hits give {count} voxdyn candidate edges, "
                f"more than max_edges={max_edges}; raise ncell (now {constructor.ncell}) or "
                f"max_edges ({constructor.key.describe()})"
            )
    blocks = list(iter_candidate_edges(constructor, positions))
    if not blocks:
        return np.zeros((2, 0), np.int64)
    edges = np.concatenate(blocks, axis=1)
    o = np.lexsort((edges[1], edges[0]))
    return edges[:, o]


def _pair_keys(edges: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(edges[0], edges[1]), np.maximum(edges[0], edges[1])
    return lo * n + hi


def _truth_keys(event: Event, node2node: str) -> np.ndarray:
    truth = node2node_edges(event, node2node)
    truth = truth[:, truth[0] != truth[1]]
    return np.unique(_pair_keys(truth, event.num_hits))


def _is_true(keys: np.ndarray, truth_keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(truth_keys, keys)
    found = pos < truth_keys.size
    found[found] = truth_keys[pos[found]] == keys[found]
    return found


def label_edges(event: Event, edges: np.ndarray, node2node: str) -> np.ndarray:
    """Whether each edge ``(2, E)`` (either direction) is a ``node2node`` truth edge: the GNN's
    edge labels on the candidate graph (the reference's ``create_edge_label``)."""
    return labels_and_true_edges(event, edges, node2node)[0]


def labels_and_true_edges(
    event: Event, edges: np.ndarray, node2node: str
) -> tuple[np.ndarray, int]:
    """:func:`label_edges` and the number of the event's ``node2node`` truth edges (unordered
    pairs, as :func:`edge_statistics` counts them), from one truth graph."""
    edges = np.asarray(edges, np.int64).reshape(2, -1)
    truth_keys = _truth_keys(event, node2node)
    return _is_true(_pair_keys(edges, event.num_hits), truth_keys), int(truth_keys.size)


def edge_statistics(
    constructor: VoxdynConstructor, event: Event, *, node2node: str | None = None
) -> np.ndarray:
    """``[true_positives, candidates, true_edges]`` (float64) of one event; additive over events.

    Truth is the ``node2node`` graph (default: the constructor's own) as unordered pairs.
    """
    kind = constructor.key.node2node if node2node is None else node2node
    truth_keys = _truth_keys(event, kind)
    tp = candidates = 0
    for block in iter_candidate_edges(constructor, event):
        tp += int(_is_true(_pair_keys(block, event.num_hits), truth_keys).sum())
        candidates += block.shape[1]
    return np.array([tp, candidates, truth_keys.size], np.float64)


def graph_metrics(totals: Sequence[float] | np.ndarray, events: int) -> dict[str, float]:
    """``efficiency, purity, edges_per_event`` from summed :func:`edge_statistics` over
    ``events`` events (a ratio with a zero denominator is ``nan``)."""
    tp, candidates, true_edges = (float(x) for x in totals)
    return {
        "efficiency": tp / true_edges if true_edges > 0 else float("nan"),
        "purity": tp / candidates if candidates > 0 else float("nan"),
        "edges_per_event": candidates / events if events > 0 else float("nan"),
    }
