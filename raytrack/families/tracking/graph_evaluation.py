"""How good a stage's output graph is: truth-edge efficiency and purity on held-out events.

For graph-building stages (Exa.TrkX's embedding and filter, HyperTrack's constructor), what the
next stage can still find is bounded by the true edges the graph keeps. Per event, the stage's
output graph (:meth:`~raytrack.tasks.base.Task.infer`) is mapped onto the complete event by
``hit_id`` and compared with its truth graph (``true_edges`` of the data options the stage was
trained with):

- ``efficiency``: true edges of signal particles (pT above ``pt_min``) that are in the graph,
  either direction, over all such true edges of the complete event (hits the stage dropped count
  as missed);
- ``purity``: graph edges joining two hits of one particle, over all graph edges;
- ``edges_per_event``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import read_event
from raytrack.families.tracking.truth import signal_edges, true_edges
from raytrack.family import Evaluation


class GraphSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pt_min: float | None = Field(None, ge=0)
    """Signal particles: pT above this (GeV); ``None``: the stage's ``pt_signal_cut``."""
    true_edges: str | None = None
    """The truth graph (``modulewise`` or ``layerwise``); ``None``: the stage's own."""


def _pair_codes(edges: np.ndarray, n: int) -> np.ndarray:
    edges = np.asarray(edges, np.int64)
    return np.minimum(edges[0], edges[1]) * np.int64(n) + np.maximum(edges[0], edges[1])


def graph_counts(full: Event, out: Event, kind: str, pt_min: float) -> dict[str, int]:
    """Signal true edges (found and all), graph edges and same-particle graph edges of one event."""
    position = pd.Index(np.asarray(full.hits["hit_id"])).get_indexer(np.asarray(out.hits["hit_id"]))
    if (position < 0).any():
        raise ValueError(
            f"event {full.event_id}: the stage returned hits that are not in the event"
        )
    graph = out.edge_index if out.edge_index is not None else np.zeros((2, 0), np.int64)
    graph = position[graph]
    truth = true_edges(full, kind)  # type: ignore[arg-type]
    truth = truth[:, signal_edges(full, truth, pt_min)]
    n = full.num_hits
    found = (
        np.isin(_pair_codes(truth, n), _pair_codes(graph, n))
        if graph.size
        else np.zeros(truth.shape[1], bool)
    )
    pid = np.asarray(full.hits["particle_id"], np.int64)
    same = (pid[graph[0]] == pid[graph[1]]) & (pid[graph[0]] != 0)
    return {
        "true": truth.shape[1],
        "found": int(found.sum()),
        "edges": graph.shape[1],
        "same": int(same.sum()),
    }


def evaluate_graph(
    checkpoint: Any, store: Any, settings: GraphSettings, *, ids: list[int] | None = None,
    device: str = "cpu", reference: Any = None,
) -> Evaluation:  # fmt: skip
    """Efficiency and purity of the graphs the stage at ``checkpoint`` writes for ``store``."""
    model, task = checkpoint.model, checkpoint.task
    options = task.options
    kind = settings.true_edges or options.true_edges
    pt_min = settings.pt_min if settings.pt_min is not None else options.pt_signal_cut
    model.to(device).eval()
    rows = []
    with torch.no_grad():
        for row in store.iter_rows(ids=ids):
            full = (
                Event.from_row(row) if reference is None else read_event(reference, row["event_id"])
            )
            out = Event.from_row(task.infer(model, row, device))
            rows.append({"event_id": full.event_id, **graph_counts(full, out, kind, pt_min)})
    if not rows:
        raise ValueError(f"no events to evaluate in {store.path}")
    per_event = pd.DataFrame(rows)
    totals = per_event.sum()
    summary = {
        "efficiency": float(totals["found"] / totals["true"]) if totals["true"] else float("nan"),
        "purity": float(totals["same"] / totals["edges"]) if totals["edges"] else float("nan"),
        "edges_per_event": float(totals["edges"] / len(per_event)),
        "true_edges": int(totals["true"]),
        "events": len(per_event),
        "pt_min": pt_min,
        "true_edges_kind": kind,
    }
    return Evaluation(summary, per_event)
