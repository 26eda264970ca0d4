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

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from raytrack.families.tracking.event import Event
from raytrack.store.reader import EventStore
from raytrack.families.tracking.truth import hit_particle_pt
from raytrack.families.tracking.matching import TrackingMetrics, tracking_metrics
from raytrack.families.tracking.track_building import build_tracks, labels_to_submission
from raytrack.families.tracking.trackml_score import trackml_score
from raytrack.pipeline.checkpoints import resolve_checkpoint
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.train.checkpoint import load_model


@dataclass(frozen=True)
class TrackEvaluation:
    metrics: TrackingMetrics
    purity_metrics: TrackingMetrics
    """The same tracks matched ``one_way``: a track is fake when no particle holds more than
    half of its hits (the purity definition of fakes; a pure fragment of a split or looping
    track is not fake here, as it is under double majority)."""
    trackml_score: float
    """Mean of the events' TrackML scores."""
    per_event: pd.DataFrame

    def summary(self) -> dict[str, float | int | str]:
        return {
            **self.metrics.as_dict(),
            "fake_rate_purity": self.purity_metrics.fake_rate,
            "trackml_score": self.trackml_score,
            "events": len(self.per_event),
        }


def event_track_labels(
    full: Event, scored: Event, settings: TrackSettings, default_edge_cut: float
) -> np.ndarray:
    """Track label of every hit of ``full`` (−1: on no track) from the scored graph."""
    edges = scored.edge_index
    if edges is None:
        raise ValueError(f"event {full.event_id}: the stage returned no scored graph")
    scores = np.asarray(scored.edges["score"], np.float64)
    if settings.method == "cc":
        cut = settings.edge_cut if settings.edge_cut is not None else default_edge_cut
        selected = build_tracks(edges, scores, scored.num_hits, method="cc", edge_cut=cut)
    else:
        order = np.asarray(scored.hits["r"], np.float64) ** 2 + np.asarray(scored.hits["z"], np.float64) ** 2
        selected = build_tracks(
            edges,
            scores,
            scored.num_hits,
            method="walkthrough",
            node_order=order,
            score_cut_cc=settings.score_cut_cc,
            th_min=settings.th_min,
            th_add=settings.th_add,
        )
    position = pd.Index(np.asarray(full.hits["hit_id"])).get_indexer(np.asarray(scored.hits["hit_id"]))
    if (position < 0).any():
        raise ValueError(f"event {full.event_id}: the stage returned hits that are not in the event")
    labels = np.full(full.num_hits, -1, dtype=np.int64)
    labels[position] = selected
    return labels


def evaluate_tracks(
    checkpoint: str | Path,
    store_path: str | Path,
    settings: TrackSettings = TrackSettings(),
    *,
    event_ids: list[int] | None = None,
    device: str = "cpu",
    truth_store: str | Path | None = None,
) -> TrackEvaluation:
    """Evaluate the GNN at ``checkpoint`` on the events of ``store_path``.

    ``truth_store``: the store holding the complete events (the pipeline's first store), when
    ``store_path`` is a later stage's output whose hits were already selected; default: the
    events of ``store_path`` themselves.
    """
    model, task, _ = load_model(resolve_checkpoint(checkpoint), map_location=device)
    truth = EventStore(truth_store) if truth_store is not None else None
    model.to(device).eval()
    default_cut = float(getattr(task, "edge_cut", 0.5))
    store = EventStore(store_path)
    total: TrackingMetrics | None = None
    purity_total: TrackingMetrics | None = None
    rows = []
    with torch.no_grad():
        for row in store.iter_rows(event_ids=event_ids):
            full = Event.from_row(row) if truth is None else truth.event(int(row["event_id"]))
            labels = event_track_labels(full, task.infer(model, row, device), settings, default_cut)
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
        raise ValueError(f"no events to evaluate in {store_path}")
    per_event = pd.DataFrame(rows)
    return TrackEvaluation(total, purity_total, float(per_event["trackml_score"].mean()), per_event)


def write_evaluation(evaluation: TrackEvaluation, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    evaluation.per_event.to_csv(directory / "tracks_per_event.csv", index=False)
    (directory / "tracks_summary.json").write_text(json.dumps(evaluation.summary(), indent=1, default=float))
    return directory
