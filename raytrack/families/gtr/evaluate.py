"""The ``mot`` evaluator: track held-out clips with GTR and with the baseline, score both.

Clips are grouped into *sequences*: with ``tracker.persistent_tracking`` the runs of consecutive
clips of a video (tracks carry across clip boundaries and the run is scored as one sequence),
otherwise every clip alone. Each sequence is tracked by the checkpoint's transformer
(:class:`~raytrack.families.gtr.tracker.Tracker`) and by the
:class:`~raytrack.families.gtr.baseline_tracker.BaselineTracker` with the same ``max_gap``, and
scored with py-motmetrics; the summary has the transformer's metrics under their names and the
baseline's as ``baseline_<name>``, over all sequences (py-motmetrics' ``OVERALL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch

from raytrack.families.gtr.baseline_tracker import BaselineSettings, BaselineTracker
from raytrack.families.gtr.clip import Clip
from raytrack.families.gtr.evaluate_settings import MotEvaluationSettings
from raytrack.families.gtr.hparams import MOT_METRICS
from raytrack.families.gtr.mot_metrics import MotCounts
from raytrack.families.gtr.scoring import score_sequence
from raytrack.families.gtr.tracker import Tracker
from raytrack.families.gtr.tracker_settings import TrackerSettings
from raytrack.family import Evaluation


def sequences(clips: Iterable[Clip], persistent: bool) -> list[list[Clip]]:
    """Clips grouped for tracking: runs of consecutive clips of one video, or one clip each."""
    ordered = sorted(clips, key=lambda c: (c.video_index, c.video, c.first_frame))
    groups: list[list[Clip]] = []
    for clip in ordered:
        previous = groups[-1][-1] if groups else None
        joins = (
            persistent
            and previous is not None
            and (previous.video_index, previous.video) == (clip.video_index, clip.video)
            and previous.first_frame + previous.clip_frames == clip.first_frame
        )
        if joins:
            groups[-1].append(clip)
        else:
            groups.append([clip])
    return groups


def evaluate_tracking(
    model: torch.nn.Module | None,
    clips: Sequence[Clip],
    tracker: TrackerSettings,
    baseline: BaselineSettings,
    *,
    metrics: Sequence[str] = MOT_METRICS,
    iou_threshold: float = 0.5,
    distance_threshold: float = 5.0,
) -> Evaluation:
    """Track ``clips`` with ``model`` (None: the baseline alone) and the baseline, and score them."""
    if not clips:
        raise ValueError("no clips to evaluate")
    totals: dict[str, MotCounts] = {"": MotCounts(), "baseline_": MotCounts()}
    rows: list[dict[str, Any]] = []
    for sequence in sequences(clips, tracker.persistent_tracking):
        found = {"baseline_": BaselineTracker(baseline, tracker.max_gap).track(sequence)}
        if model is not None:
            found[""] = Tracker(tracker).track(model, sequence)
        row: dict[str, Any] = {
            "video": sequence[0].video,
            "first_frame": sequence[0].first_frame,
            "frames": sum(c.clip_frames for c in sequence),
            "clips": len(sequence),
            "instances": sum(len(c) for c in sequence),
        }
        for prefix, ids in found.items():
            counts = score_sequence(sequence, ids, iou_threshold, distance_threshold)
            totals[prefix] = totals[prefix] + counts
            row.update({prefix + k: v for k, v in counts.metrics(metrics).items()})
        rows.append(row)
    summary: dict[str, Any] = {}
    for prefix in ("", "baseline_") if model is not None else ("baseline_",):
        summary.update({prefix + k: v for k, v in totals[prefix].metrics(metrics).items()})
    summary.update(
        sequences=len(rows),
        clips=len(clips),
        instances=int(sum(r["instances"] for r in rows)),
        persistent_tracking=tracker.persistent_tracking,
    )
    return Evaluation(summary, pd.DataFrame(rows))


def _ids(checkpoint: Any, store: Any, settings: MotEvaluationSettings, ids: list[int] | None):
    if ids is not None:
        if settings.samples != "all":
            raise ValueError(f"give sample ids or samples: {settings.samples}, not both")
        return ids
    if settings.samples == "all":
        return None
    from raytrack.data.build import splits_of

    return getattr(splits_of(checkpoint.experiment.data, store), settings.samples)


def evaluate_mot(
    checkpoint: Any,
    store: Any,
    settings: MotEvaluationSettings,
    *,
    ids: list[int] | None = None,
    device: str = "cpu",
    reference: Any = None,
) -> Evaluation:
    """The ``mot`` evaluator (see the module docstring); ``reference`` is not used (the clips
    carry their truth)."""
    model, task = checkpoint.model.to(device).eval(), checkpoint.task
    wanted = _ids(checkpoint, store, settings, ids)
    clips = [Clip.from_row(row, task.use_vis_feats) for row in store.iter_rows(ids=wanted)]
    return evaluate_tracking(
        model,
        clips,
        settings.tracker or task.tracker_settings,
        settings.baseline,
        metrics=settings.metrics or task.runner.metrics.test,
        iou_threshold=settings.iou_threshold or task.options.iou_threshold,
        distance_threshold=settings.distance_threshold or task.options.distance_threshold,
    )
