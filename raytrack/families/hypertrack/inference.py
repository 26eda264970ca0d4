"""What a trained HyperTrack model makes of one stored event (``raytrack infer`` / evaluators).

The event as stored, after the trial's data options (no re-sampling: ``rfactor`` and
``noise_ratio`` are training augmentations), gets the voxdyn candidate graph the model trained
on, the GNN's edge scores and the trial's clustering (``cluster``; the transformer grows its
clusters from the GNN latents). The output row is the event with:

- its graph as ``e_src, e_dst, e_score`` (the ``graph`` and ``tracks`` evaluators read it);
- ``cluster_id`` per hit: the hit's cluster, ``-1`` on none (the ``tracks`` evaluator's
  ``method: stage`` takes these as the tracks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from raytrack.families.hypertrack import resample
from raytrack.families.hypertrack.model import cluster_hits
from raytrack.families.hypertrack.voxdyn_edges import candidate_edges
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import GRAPH_COLUMNS
from raytrack.families.tracking.tracks import CLUSTER_COLUMN
from raytrack.families.tracking.truth import apply_options
from raytrack.store.columns import Column
from raytrack.tasks.base import Row

OUTPUT_COLUMNS: tuple[Column, ...] = (
    *GRAPH_COLUMNS,
    Column(CLUSTER_COLUMN, "int64", (None,), "hit"),
)


@torch.no_grad()
def infer_event(task: Any, model: nn.Module, row: Row, device: torch.device | str) -> Row:
    """The output row of ``row`` (see the module documentation)."""
    if task.constructor is None:
        raise RuntimeError(
            "the hypertrack model has no voxdyn constructor: load it from a checkpoint "
            "(raytrack infer/evaluate) or run its task's setup first"
        )
    event = apply_options(Event.from_row(row), task.options)
    edges = candidate_edges(task.constructor, event, max_edges=task.max_edges)
    x = torch.as_tensor(resample.node_features(event), device=device)
    edge_index = torch.as_tensor(edges.astype(np.int64), device=device)
    model.eval()
    out = model(x, edge_index)
    prob = out["edge_prob"].float()
    net = getattr(model, "module", model)
    found = cluster_hits(
        task.cluster, x, edge_index, prob, edge_threshold=task.edge_threshold,
        cluster_param=task.cluster_param, z=out["z"], transformer=net.transformer,
    )  # fmt: skip
    hits = {**event.hits, CLUSTER_COLUMN: found.labels.cpu().numpy().astype(np.int64)}
    graph = {"src": edges[0], "dst": edges[1], "score": prob.cpu().numpy().astype(np.float32)}
    return Event(event.event_id, hits, event.particles, edges=graph, meta=event.meta).to_row()
