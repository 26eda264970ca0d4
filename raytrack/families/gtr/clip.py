"""One clip: the store row of the GTR family and the sample its task and trackers work on.

Every GTR data source (SLEAP, ISBI, MOTChallenge, the simulator) writes one row per clip of
consecutive frames of one video, with one entry per *instance* (a detected animal, cell or
pedestrian in one frame) in the group ``instance``:

==================  ==========================  ==============================================
column              shape, dtype                what
==================  ==========================  ==============================================
``clip_id``         key, int64                  the row key
``video``           str                         the video (file stem or sequence name)
``video_index``     int32                       the video's position in the source
``first_frame``     int32                       the clip's first frame in its video
``clip_frames``     int32                       frames in the clip (empty frames included)
``geometry``        str                         ``box`` (MOT boxes) or ``point`` (centroids)
``image_size``      (2,) int32                  width, height in pixels
``frame``           (None,) int32               the instance's frame in its video
``track_id``        (None,) int32               its true track (-1: unknown)
``box``             (None, A, 4) float32        ``x1 y1 x2 y2`` pixels per anchor (NaN: absent)
``centroid``        (None, 2) float32           the point matched against the truth (pixels)
``crop``            (None, A, S, S, C) uint8    image crop per anchor (stores with crops only)
==================  ==========================  ==============================================

Legend: ``N`` instances in a clip, ``A`` anchors per instance, ``S`` crop side, ``C`` channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from raytrack.store.columns import Column, StoreSchema

KEY = "clip_id"
INSTANCE = "instance"
INSTANCE_COLUMNS = ("frame", "track_id", "box", "centroid", "crop")
CLIP_COLUMNS = (KEY, "video", "video_index", "first_frame", "clip_frames", "geometry",
                "image_size", "frame", "track_id", "box", "centroid")  # fmt: skip
"""The columns every clip row has (``crop`` only where the source has images)."""


def clip_schema(anchors: int, crop_shape: tuple[int, int, int] | None) -> StoreSchema:
    """The store schema of clips with ``anchors`` boxes per instance and crops of ``(S, S, C)``."""
    columns = [
        Column("video", "str"),
        Column("video_index", "int32"),
        Column("first_frame", "int32"),
        Column("clip_frames", "int32"),
        Column("geometry", "str"),
        Column("image_size", "int32", (2,)),
        Column("frame", "int32", (None,), INSTANCE),
        Column("track_id", "int32", (None,), INSTANCE),
        Column("box", "float32", (None, anchors, 4), INSTANCE, finite=False),
        Column("centroid", "float32", (None, 2), INSTANCE),
    ]
    if crop_shape is not None:
        columns.append(Column("crop", "uint8", (None, anchors, *crop_shape), INSTANCE))
    return StoreSchema(KEY, tuple(columns))


@dataclass(frozen=True)
class Clip:
    """A clip as tensors, instances sorted by frame (what the model, loss and trackers read).

    Shapes:
        ``frame``, ``track_id``: ``(N,)`` int64; ``box``: ``(N, A, 4)`` float32 pixels;
        ``centroid``: ``(N, 2)``; ``crop``: ``(N, A, S, S, C)`` uint8 or None.
    """

    clip_id: int
    video: str
    video_index: int
    first_frame: int
    clip_frames: int
    geometry: str
    image_size: tuple[int, int]
    frame: torch.Tensor
    track_id: torch.Tensor
    box: torch.Tensor
    centroid: torch.Tensor
    crop: torch.Tensor | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], with_crops: bool) -> Clip:
        """The clip of a stored row; ``with_crops`` reads its crops (an error if it has none)."""
        missing = [name for name in CLIP_COLUMNS if name not in row]
        if missing:
            raise ValueError(
                f"data.store: a row without the GTR clip columns {missing} (it has "
                f"{sorted(row)[:8]}...): the gtr model reads stores of clips written by its "
                "sources moving_objects, sleap, isbi or motchallenge (set data.source)"
            )
        if with_crops and "crop" not in row:
            raise ValueError(
                f"clip {row[KEY]} has no image crops, but use_vis_feats is true: build the store "
                "with crops (a SLEAP source or the simulator with crops: true) or set "
                "model.hparams.use_vis_feats: false"
            )
        frame = np.asarray(row["frame"], np.int64)
        order = np.argsort(frame, kind="stable")
        crop = torch.from_numpy(np.array(row["crop"])[order]) if with_crops else None
        width, height = (int(v) for v in row["image_size"])
        return cls(
            clip_id=int(row[KEY]),
            video=str(row["video"]),
            video_index=int(row["video_index"]),
            first_frame=int(row["first_frame"]),
            clip_frames=int(row["clip_frames"]),
            geometry=str(row["geometry"]),
            image_size=(width, height),
            frame=torch.from_numpy(frame[order]),
            track_id=torch.from_numpy(np.asarray(row["track_id"], np.int64)[order]),
            box=torch.from_numpy(np.array(row["box"], np.float32)[order]),
            centroid=torch.from_numpy(np.array(row["centroid"], np.float32)[order]),
            crop=crop,
        )

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def anchors(self) -> int:
        return int(self.box.shape[1])

    def to(self, device: torch.device | str) -> Clip:
        moved = {
            name: getattr(self, name).to(device)
            for name in ("frame", "track_id", "box", "centroid", "crop")
            if getattr(self, name) is not None
        }
        return replace(self, **moved)

    def subset(self, keep: torch.Tensor) -> Clip:
        """The clip with only the instances where ``keep`` (a bool mask or indices) selects."""
        crop = self.crop[keep] if self.crop is not None else None
        return replace(
            self,
            frame=self.frame[keep],
            track_id=self.track_id[keep],
            box=self.box[keep],
            centroid=self.centroid[keep],
            crop=crop,
        )

    def normalized_boxes(self) -> torch.Tensor:
        """Boxes divided by the image size (``[0, 1]`` inside the image), NaN kept."""
        width, height = self.image_size
        scale = self.box.new_tensor([width, height, width, height])
        return self.box / scale

    def times(self) -> torch.Tensor:
        """Each instance's frame offset from the clip's first frame, as floats."""
        return (self.frame - self.first_frame).to(torch.float32)

    def crop_images(self) -> torch.Tensor:
        """Crops as the visual encoder reads them: ``(N, A * C, S, S)`` floats in ``[0, 1]``."""
        if self.crop is None:
            raise ValueError(f"clip {self.clip_id} has no crops")
        n, anchors, side, _, channels = self.crop.shape
        images = self.crop.permute(0, 1, 4, 2, 3).reshape(n, anchors * channels, side, side)
        return images.to(torch.float32) / 255.0
