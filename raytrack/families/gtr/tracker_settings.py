"""``tracker``: how GTR's association scores become tracks (biogtr's ``Tracker`` arguments).

Used by validation (``val_mota``, ``val_idf1``, ... on every validation clip) and by the ``mot``
evaluator (``raytrack evaluate``); see :class:`~raytrack.families.gtr.tracker.Tracker` for what
each setting does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrackerSettings(BaseModel):
    """biogtr's ``tracker`` section, with its names and defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_size: Annotated[int, Field(ge=2)] = 8
    """Frames in the sliding window: the query frame and up to ``window_size - 1`` earlier
    instances of every live track."""
    overlap_thresh: Annotated[float, Field(ge=0, le=1)] = 0.01
    """A query instance joins its Hungarian-matched track only when their trajectory score
    exceeds this (times the track's instances in the window under ``mult_thresh``)."""
    mult_thresh: bool = True
    decay_time: Annotated[float, Field(gt=0, le=1)] | None = None
    """Weight ``decay_time ** (frames between)`` of the association with older instances."""
    iou: Literal["mult", "max"] | None = None
    """Reweight trajectory scores with the IoU of the query box and the track's last box."""
    max_center_dist: Annotated[float, Field(gt=0)] | None = None
    """Tracks whose last centre is farther (pixels) from a query instance cannot take it."""
    persistent_tracking: bool = False
    """``raytrack evaluate``: keep the tracks across consecutive clips of a video (and score the
    video as one sequence); false tracks and scores each clip on its own. Validation always
    tracks each clip on its own (its statistics must add up over clips and workers)."""
    max_gap: Annotated[int, Field(ge=1)] | None = None
    """A track unseen for this many frames ends (raised to ``window_size`` when smaller, as in
    biogtr); ``None``: tracks never end (biogtr's ``inf``)."""
    max_tracks: Annotated[int, Field(ge=1)] | None = None
    """At most this many live tracks: once reached, every Hungarian match is accepted and an
    instance left over gets no track (a miss). ``None``: no limit."""

    @model_validator(mode="before")
    @classmethod
    def _use_vis_feats_moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "use_vis_feats" in data:
            raise ValueError(
                "use_vis_feats is a model hyperparameter in raytrack (model.hparams.use_vis_feats), "
                "not a tracker setting: it decides training as well as tracking"
            )
        return data
