"""Node features and edge truth shared by the Exa.TrkX stages (embedding, filter, GNN).

- :func:`node_features`: ``cell_channels`` cell features followed by ``spatial_channels`` of
  ``r/1000, φ/π, z/1000``, as the reference scales them.
- :func:`edge_labels`: for candidate edges, the training target ``y`` (membership of the
  unordered hit pair in the truth graph chosen by ``true_edges``, or, with ``pid``, "both hits
  belong to the same non-noise particle") and ``signal`` (true edges whose particle has
  ``pT > pt_signal_cut``).
- :func:`truth_weights`: the ``weighting`` regime's per-edge loss weights: each true edge
  weighted by the mean TrackML weight of its hits, normalised to mean 1 over the event's true
  edges (the reference's ``edge_weight_norm``); false edges weigh 1.

Shapes: ``N`` hits, ``E`` edges; ``edges`` is ``(2, E)`` int64 positions in the hit arrays.
"""

from __future__ import annotations

import numpy as np

from raytrack.families.tracking.event import CELL_COLUMNS, Event
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.families.tracking.truth import signal_edges, true_edges

FEATURE_SCALE = (1000.0, np.pi, 1000.0)  # r, φ, z as the reference scales them


def node_features(event: Event, spatial_channels: int, cell_channels: int) -> np.ndarray:
    """``(N, cell_channels + spatial_channels)`` float32, NaN replaced by 0."""
    hits = event.hits
    columns = []
    for name in list(CELL_COLUMNS)[:cell_channels]:
        if name not in hits:
            raise KeyError(
                f"cell_channels={cell_channels} needs the hit column {name!r}, which this event "
                f"lacks (its store has no cell features)"
            )
        columns.append(np.asarray(hits[name], np.float32))
    for name, scale in list(zip(("r", "phi", "z"), FEATURE_SCALE))[:spatial_channels]:
        columns.append(np.asarray(hits[name], np.float32) / np.float32(scale))
    x = np.stack(columns, axis=1) if columns else np.zeros((event.num_hits, 0), np.float32)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def edges_in(edges: np.ndarray, reference: np.ndarray, num_hits: int) -> np.ndarray:
    """``(E,)`` bool: whether each edge of ``edges`` is in ``reference`` as an unordered pair."""
    if edges.shape[1] == 0 or reference.size == 0:
        return np.zeros(edges.shape[1], dtype=bool)
    n = np.int64(num_hits)

    def code(e: np.ndarray) -> np.ndarray:
        e = np.asarray(e, np.int64)
        return np.minimum(e[0], e[1]) * n + np.maximum(e[0], e[1])

    return np.isin(code(edges), code(reference))


def same_particle(event: Event, edges: np.ndarray) -> np.ndarray:
    """``(E,)`` bool: both hits of the edge belong to the same particle (noise never does)."""
    pid = np.asarray(event.hits["particle_id"])
    return (pid[edges[0]] == pid[edges[1]]) & (pid[edges[0]] != 0)


def edge_labels(
    event: Event, edges: np.ndarray, options: TrackingDataOptions, *, pid: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(y, signal)``, both ``(E,)`` bool (see the module documentation)."""
    if pid:
        y = same_particle(event, edges)
    else:
        y = edges_in(edges, true_edges(event, options.true_edges), event.num_hits)
    signal = y & signal_edges(event, edges, options.pt_signal_cut)
    return y, signal


def truth_weights(event: Event, edges: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(E,)`` float32 loss weights of the ``weighting`` regime."""
    weights = np.ones(edges.shape[1], np.float32)
    hit_weight = event.hits.get("weight")
    if hit_weight is None or not y.any():
        return weights
    hit_weight = np.asarray(hit_weight, np.float64)
    mean_pair = (hit_weight[edges[0, y]] + hit_weight[edges[1, y]]) / 2
    scale = mean_pair.mean()
    if scale > 0:
        weights[y] = (mean_pair / scale).astype(np.float32)
    return weights
