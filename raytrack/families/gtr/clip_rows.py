"""Cutting videos into clips (biogtr's ``chunk``, ``clip_length``, ``n_chunks``, ``seed``) and
writing each clip as a store row (:mod:`raytrack.families.gtr.clip`). Shared by every source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from raytrack.families.gtr.clip import KEY


class ClipSettings(BaseModel):
    """How a source cuts its videos into clips (biogtr's dataset keys)."""

    model_config = ConfigDict(extra="forbid")

    clip_length: int = Field(32, ge=1, description="frames per clip (chunk: true)")
    chunk: bool = Field(True, description="cut videos into clips of clip_length frames; false: "
                        "one clip per whole video")  # fmt: skip
    n_chunks: float = Field(1.0, gt=0, description="keep this fraction of the clips (<= 1) or "
                            "this many (an integer > 1), drawn with seed")  # fmt: skip
    seed: int | None = Field(None, description="seed of the n_chunks draw (None: 0)")

    @model_validator(mode="after")
    def _consistent(self) -> ClipSettings:
        if self.n_chunks > 1 and self.n_chunks != int(self.n_chunks):
            raise ValueError(
                f"n_chunks is a fraction (<= 1) or a number of clips (an integer), but got "
                f"{self.n_chunks}"
            )
        if not self.chunk and "clip_length" in self.model_fields_set:
            raise ValueError(
                f"clip_length ({self.clip_length}) is set but chunk is false (one clip per whole "
                "video): remove one of them"
            )
        return self


@dataclass(frozen=True)
class VideoTable:
    """One video's instances (sorted by frame) and the frames its clips are cut from.

    Shapes:
        ``frame``, ``track_id``: ``(n,)``; ``box``: ``(n, A, 4)``; ``centroid``: ``(n, 2)``;
        ``frame_ids``: the frames to cut into clips (SLEAP: the labelled ones), sorted.
    """

    name: str
    index: int
    source: str
    """The file it comes from (for messages)."""
    image_size: tuple[int, int]
    geometry: str
    frame_ids: np.ndarray
    frame: np.ndarray
    track_id: np.ndarray
    box: np.ndarray
    centroid: np.ndarray


Cropper = Callable[[VideoTable, np.ndarray], np.ndarray]
"""``(video, instance indices) -> (k, A, S, S, C)`` uint8 crops of those instances."""


def plan_clips(videos: list[VideoTable], settings: ClipSettings) -> list[tuple[int, np.ndarray]]:
    """``(position in videos, frames of the clip)`` of every clip kept, in video and frame order."""
    plan: list[tuple[int, np.ndarray]] = []
    for position, video in enumerate(videos):
        frames = np.asarray(video.frame_ids, np.int64)
        if not len(frames):
            continue
        if not settings.chunk:
            plan.append((position, frames))
            continue
        if settings.clip_length > len(frames):
            raise ValueError(
                f"clip_length {settings.clip_length} is longer than video {video.source} "
                f"({len(frames)} frames to cut into clips): lower clip_length or set chunk: false"
            )
        plan += [
            (position, frames[start : start + settings.clip_length])
            for start in range(0, len(frames), settings.clip_length)
        ]
    wanted = len(plan)
    if settings.n_chunks <= 1:
        wanted = max(1, int(settings.n_chunks * len(plan)))
    elif settings.n_chunks < len(plan):
        wanted = int(settings.n_chunks)
    if wanted < len(plan):
        rng = np.random.default_rng(0 if settings.seed is None else settings.seed)
        chosen = np.sort(rng.choice(len(plan), size=wanted, replace=False))
        plan = [plan[i] for i in chosen]
    return plan


def clip_rows(
    videos: list[VideoTable], plan: list[tuple[int, np.ndarray]], cropper: Cropper | None = None
) -> Iterator[dict]:
    """One store row per planned clip (clip ids count from 0 in plan order)."""
    for clip_id, (position, frames) in enumerate(plan):
        video = videos[position]
        first, last = int(frames[0]), int(frames[-1])
        members = np.flatnonzero(np.isin(video.frame, frames))
        row = {
            KEY: clip_id,
            "video": video.name,
            "video_index": video.index,
            "first_frame": first,
            "clip_frames": last - first + 1,
            "geometry": video.geometry,
            "image_size": np.asarray(video.image_size, np.int32),
            "frame": video.frame[members].astype(np.int32),
            "track_id": video.track_id[members].astype(np.int32),
            "box": video.box[members].astype(np.float32),
            "centroid": video.centroid[members].astype(np.float32),
        }
        if cropper is not None:
            row["crop"] = cropper(video, members)
        yield row
