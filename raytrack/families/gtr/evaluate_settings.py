"""Settings of the ``mot`` evaluator (``raytrack evaluate CHECKPOINT STORE --set key=value``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from raytrack.families.gtr.baseline_tracker import BaselineSettings
from raytrack.families.gtr.hparams import MotMetricName
from raytrack.families.gtr.tracker_settings import TrackerSettings


class MotEvaluationSettings(BaseModel):
    """What the ``mot`` evaluator tracks and how it scores; ``None``: the checkpoint's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: Literal["all", "train", "val", "test"] = "all"
    """Clips to judge when no ids are given: all, or one split of the checkpoint's experiment
    (``data.split`` and ``split_seed`` applied to this store's clips)."""
    tracker: TrackerSettings | None = None
    """The transformer's tracker (default: the checkpoint's ``tracker``)."""
    baseline: BaselineSettings = Field(default_factory=BaselineSettings)
    """The baseline tracker run beside it on the same clips."""
    metrics: list[MotMetricName] | None = None
    """The metrics in the summary (default: the checkpoint's ``runner.metrics.test``)."""
    iou_threshold: Annotated[float, Field(gt=0, le=1)] | None = None
    """Box stores: match at IoU >= this (default: the checkpoint's ``data.options``)."""
    distance_threshold: Annotated[float, Field(gt=0)] | None = None
    """Point stores: match within this many pixels (default: the checkpoint's ``data.options``)."""
