"""Tracks from a trained GNN, and their evaluation against the truth of the full event.

Per event: the GNN stage scores its candidate graph (:meth:`~raytrack.tasks.base.Task.infer`);
tracks are built from the scores (connected components above ``edge_cut``, or acorn's
walk-through); the labels are mapped back onto *every* hit of the stored event by ``hit_id``
(hits the stage dropped, e.g. noise, are on no track), and evaluated there:

- double-majority (or another style of) matching, tracking efficiency over reconstructable
  particles (``pt > pt_min`` and at least ``min_hits`` hits in the event), fake and duplicate
  rates (:func:`~raytrack.families.tracking.matching.tracking_metrics`), and the purity fake rate (tracks no
  particle holds the majority of; one-way matching);
- the TrackML score of the event (:func:`raytrack.families.tracking.trackml_score`), every hit on no
  track counting as a track of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import read_event
from raytrack.families.tracking.matching import TrackingMetrics, tracking_metrics
from raytrack.families.tracking.track_building import build_tracks, labels_to_submission
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.families.tracking.trackml_score import trackml_score
from raytrack.families.tracking.truth import hit_particle_pt
from raytrack.family import Evaluation


def model_edge_cut(task: Any, settings: TrackSettings) -> float | None:
    """The cut of connected components: the settings' ``edge_cut``, else the model's own.

    ``None`` for the walk-through, which has cuts of its own. A model without an ``edge_cut``
    (one that is not an edge classifier) and no cut in the settings is an error naming the
    setting: raytrack never invents a cut.
    """
    if settings.method != "cc" or settings.edge_cut is not None:
        return settings.edge_cut
    cut = getattr(task, "edge_cut", None)
    if cut is None:
        raise ValueError(
            f"{type(task).__name__} has no edge_cut of its own: set the tracks evaluator's "
            "edge_cut (raytrack tracks --edge-cut, or evaluate.settings.edge_cut in a pipeline)"
        )
    return float(cut)


CLUSTER_COLUMN = "cluster_id"
"""The hit column of a stage's output that holds the stage's own track labels (−1: none)."""


def _tracks_from_scores(
    scored: Event, edges: np.ndarray, scores: np.ndarray, settings: TrackSettings,
    edge_cut: float | None,
) -> np.ndarray:  # fmt: skip
    """Track label of every hit of ``scored`` built from its edge scores (cc or walk-through)."""
    if settings.method == "cc":
        cut = settings.edge_cut if settings.edge_cut is not None else edge_cut
        if cut is None:
            raise ValueError("method cc needs an edge cut: set the tracks evaluator's edge_cut")
        return build_tracks(edges, scores, scored.num_hits, method="cc", edge_cut=cut)
    order = (
        np.asarray(scored.hits["r"], np.float64) ** 2
        + np.asarray(scored.hits["z"], np.float64) ** 2
    )
    return build_tracks(
        edges,
        scores,
        scored.num_hits,
        method="walkthrough",
        node_order=order,
        score_cut_cc=settings.score_cut_cc,
        th_min=settings.th_min,
        th_add=settings.th_add,
    )


def event_track_labels(
    full: Event, scored: Event, settings: TrackSettings, edge_cut: float | None = None
) -> np.ndarray:
    """Track label of every hit of ``full`` (−1: on no track) from the scored graph."""
    edges = scored.edge_index
    if settings.method == "stage":
        if CLUSTER_COLUMN not in scored.hits:
            raise ValueError(
                f"event {full.event_id}: method stage needs the stage's own clusters (a "
                f"{CLUSTER_COLUMN!r} hit column), but the stage returned none: use method cc or "
                "walkthrough"
            )
        selected = np.asarray(scored.hits[CLUSTER_COLUMN], np.int64)
    else:
        if edges is None:
            raise ValueError(f"event {full.event_id}: the stage returned no scored graph")
        scores = np.asarray(scored.edges["score"], np.float64)
        selected = _tracks_from_scores(scored, edges, scores, settings, edge_cut)
    position = pd.Index(np.asarray(full.hits["hit_id"])).get_indexer(
        np.asarray(scored.hits["hit_id"])
    )
    if (position < 0).any():
        raise ValueError(
            f"event {full.event_id}: the stage returned hits that are not in the event"
        )
    labels = np.full(full.num_hits, -1, dtype=np.int64)
    labels[position] = selected
    return labels


def evaluate_tracks(
    checkpoint: Any,
    store: Any,
    settings: TrackSettings,
    *,
    ids: list[int] | None = None,
    device: str = "cpu",
    reference: Any = None,
) -> Evaluation:
    """Build tracks with the edge classifier of ``checkpoint`` on the events of ``store``.

    ``reference``: the store holding the complete events (the pipeline's first store), when
    ``store`` is a later stage's output whose hits were already selected; default: the events of
    ``store`` themselves. Summary: the matching metrics (``efficiency``, ``fake_rate``,
    ``duplicate_rate``, counts), ``fake_rate_purity`` (one-way matching), ``trackml_score``
    (mean over events) and ``events``; one row per event.
    """
    model, task = checkpoint.model, checkpoint.task
    model.to(device).eval()
    cut = model_edge_cut(task, settings)
    total: TrackingMetrics | None = None
    purity_total: TrackingMetrics | None = None
    rows = []
    with torch.no_grad():
        for row in store.iter_rows(ids=ids):
            full = (
                Event.from_row(row) if reference is None else read_event(reference, row["event_id"])
            )
            scored = Event.from_row(task.infer(model, row, device))
            labels = event_track_labels(full, scored, settings, cut)
            pid = np.asarray(full.hits["particle_id"])
            metrics, purity = (
                tracking_metrics(
                    pid,
                    labels,
                    matching_style=style,
                    min_track_hits=settings.min_hits,
                    min_particle_hits=settings.min_hits,
                    pt=hit_particle_pt(full),
                    pt_min=settings.pt_min,
                )
                for style in (settings.matching_style, "one_way")
            )
            hits = pd.DataFrame(
                {"hit_id": full.hits["hit_id"], "particle_id": pid, "weight": full.hits["weight"]}
            )
            score = trackml_score(hits, labels_to_submission(full.hits["hit_id"], labels))
            rows.append(
                {
                    "event_id": full.event_id,
                    **metrics.as_dict(),
                    "fake_rate_purity": purity.fake_rate,
                    "trackml_score": score,
                }
            )
            total = metrics if total is None else total + metrics
            purity_total = purity if purity_total is None else purity_total + purity
    if total is None or purity_total is None:
        raise ValueError(f"no events to evaluate in {store.path}")
    per_event = pd.DataFrame(rows)
    summary = {
        **total.as_dict(),
        "fake_rate_purity": purity_total.fake_rate,
        "trackml_score": float(per_event["trackml_score"].mean()),
        "events": len(per_event),
    }
    return Evaluation(summary, per_event)
