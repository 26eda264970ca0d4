"""Hand-made events with a stored graph, a task factory and a constant-logit model for the
filter tests (``test_filter*.py``)."""

from __future__ import annotations

import numpy as np
import torch

from raytrack.families.exatrkx.filter_task import FilterTask
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions
from tests.families.exatrkx.test_interaction_gnn import straight_track_event

LAYER_PAIRS = [(2, 4), (4, 6), (6, 8), (2, 6)]  # barrel layers of straight_track_event, one skip


def with_graph(event: Event, edges: np.ndarray) -> Event:
    graph = {"src": edges[0], "dst": edges[1], "score": np.ones(edges.shape[1], np.float32)}
    return Event(event.event_id, event.hits, event.particles, graph)


def hand_event(**extra_hits) -> Event:
    """Two particles on four layers (pT 2 and 0.7) and a noise hit; every inner→outer pair of
    the layer pairs above is an edge (22 edges: 6 truth-graph edges, 2 same-particle skips)."""
    event = straight_track_event()
    layer = event.hits["layer_id"]
    pairs = [
        (i, j)
        for a, b in LAYER_PAIRS
        for i in np.flatnonzero(layer == a)
        for j in np.flatnonzero(layer == b)
    ]
    hits = {**event.hits, **extra_hits}
    return with_graph(Event(event.event_id, hits, event.particles), np.array(pairs, np.int64).T)


def make_task(options=None, **kwargs) -> FilterTask:
    task = FilterTask(**kwargs)
    task.options = TrackingDataOptions(**(options or {}))
    return task


class ConstantFilter(torch.nn.Module):
    """Every edge gets the same logit (an untrained filter's extreme cases)."""

    def __init__(self, logit: float):
        super().__init__()
        self.logit = torch.nn.Parameter(torch.tensor(float(logit)))

    def forward(self, x, edge_index, emb=None):
        return {"edge_logits": self.logit.expand(edge_index.shape[1])}
