"""The baseline tracker: frame-to-frame Hungarian matching, no learning.

What a user would run without a model (SORT without its Kalman filter; Bewley et al.,
arXiv:1602.00763): each frame's instances are matched to the live tracks' last boxes or
centres with the Hungarian algorithm, and every result table of the ``mot`` evaluator shows it
beside the transformer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import linear_sum_assignment

from raytrack.families.gtr.association_scores import box_iou
from raytrack.families.gtr.clip import Clip

UNMATCHABLE = 1e9


class BaselineSettings(BaseModel):
    """The baseline tracker's settings (the ``mot`` evaluator's ``baseline``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Literal["auto", "iou", "centre"] = "auto"
    """``iou``: cost ``1 - IoU`` of the instance's and the track's last box; ``centre``: the
    distance of their centres (pixels); ``auto``: ``iou`` on box stores, ``centre`` on points."""
    min_iou: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """``iou``: pairs with IoU <= this are never matched."""
    max_dist: Annotated[float, Field(gt=0)] | None = None
    """``centre``: pairs farther apart are never matched (pixels); ``None``: the side of the
    instances' boxes (for point stores ``crop_size + 2 padding``)."""
    max_gap: Annotated[int, Field(ge=1)] | None = None
    """A track unseen for this many frames ends; ``None``: the GTR tracker's ``max_gap``."""


class BaselineTracker:
    r"""Hungarian assignment of each frame's instances to the live tracks.

    Per frame: cost ``C_{ij}`` between instance ``i`` and live track ``j`` (``1 - IoU`` or centre
    distance to its last instance), pairs beyond the gate made unmatchable; the assignment
    minimising ``Σ C`` keeps its gated pairs; every other instance starts a track. A track unseen
    for ``max_gap`` frames ends (``None``: never).

    Shapes:
        :meth:`track` returns per clip an ``(N,)`` int64 array of track ids.
    """

    def __init__(self, settings: BaselineSettings, max_gap: int | None = None) -> None:
        self.settings = settings
        self.max_gap = settings.max_gap if settings.max_gap is not None else max_gap

    def track(self, clips: Sequence[Clip]) -> list[np.ndarray]:
        """Track ``clips`` in order, as one sequence (consecutive clips of one video)."""
        live: dict[int, tuple[int, torch.Tensor, torch.Tensor]] = {}  # id -> (frame, box, centre)
        next_id = 0
        out = []
        for clip in clips:
            mode = self.settings.match
            if mode == "auto":
                mode = "iou" if clip.geometry == "box" else "centre"
            gate = self.settings.max_dist
            if gate is None and len(clip):
                sides = (clip.box[..., 2] - clip.box[..., 0]).flatten()
                gate = float(torch.nanmean(sides)) if torch.isfinite(sides).any() else None
            ids = np.full(len(clip), -1, dtype=np.int64)
            frames = clip.frame.numpy()
            for frame in range(clip.first_frame, clip.first_frame + clip.clip_frames):
                if self.max_gap is not None:
                    live = {t: v for t, v in live.items() if frame - v[0] < self.max_gap + 1}
                members = np.flatnonzero(frames == frame)
                if not len(members):
                    continue
                tracks = sorted(live)
                cost = self._cost(mode, gate, clip, members, [live[t] for t in tracks])
                taken = {}
                if tracks:
                    for i, j in zip(*linear_sum_assignment(cost)):
                        if cost[i, j] < UNMATCHABLE:
                            taken[i] = tracks[j]
                for i, index in enumerate(members):
                    if i not in taken:
                        taken[i], next_id = next_id, next_id + 1
                    ids[index] = taken[i]
                    live[taken[i]] = (frame, clip.box[index], clip.centroid[index])
            out.append(ids)
        return out

    def _cost(self, mode: str, gate: float | None, clip: Clip, members: np.ndarray,
              last: list[tuple[int, torch.Tensor, torch.Tensor]]) -> np.ndarray:  # fmt: skip
        if not last:
            return np.zeros((len(members), 0))
        if mode == "iou":
            iou = box_iou(clip.box[members], torch.stack([b for _, b, _ in last])).numpy()
            return np.where(iou > self.settings.min_iou, 1.0 - iou, UNMATCHABLE)
        distance = torch.cdist(clip.centroid[members], torch.stack([c for _, _, c in last])).numpy()
        return distance if gate is None else np.where(distance <= gate, distance, UNMATCHABLE)
