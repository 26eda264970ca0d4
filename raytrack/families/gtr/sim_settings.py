"""Settings of the moving-objects simulator (:mod:`raytrack.families.gtr.simulator`), numpy-free.

The field names are the options of ``raytrack generate moving_objects`` and the keys of an
experiment's ``data.generate.settings``; ``data.generate.events`` is the number of clips.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MovingObjectsSettings(BaseModel):
    """Every knob of the simulator; each clip is a scene of its own."""

    model_config = ConfigDict(extra="forbid")

    clip_length: int = Field(16, ge=2, le=10000, description="frames per clip")
    image_size: tuple[int, int] = Field((256, 256), description="width, height (pixels)")
    objects: int = Field(4, ge=0, le=1000, description="objects at the first frame")
    motion: Literal["constant_velocity", "random_walk", "mixed"] = Field(
        "mixed", description="constant velocity, random walk, or each object either (half each)"
    )
    speed: float = Field(3.0, ge=0, le=1000, description="mean speed of constant-velocity "
                         "objects (pixels per frame)")  # fmt: skip
    random_walk_sigma: float = Field(2.0, ge=0, le=1000, description="step of random-walk "
                                     "objects per axis (pixels, standard deviation)")  # fmt: skip
    birth_rate: float = Field(0.05, ge=0, le=100, description="objects entering per frame (mean)")
    death_rate: float = Field(0.01, ge=0, le=1, description="probability an object ends, per frame")
    occlusion_rate: float = Field(0.02, ge=0, le=1, description="probability an object starts "
                                  "being hidden (not detected), per frame")  # fmt: skip
    occlusion_length: int = Field(3, ge=1, le=1000, description="frames an occlusion lasts")
    crossings: int = Field(1, ge=0, le=1000, description="pairs of constant-velocity objects "
                           "added to meet mid-clip (they neither end nor hide)")  # fmt: skip
    crossing_distance: float = Field(2.0, ge=0, le=1000, description="closest approach of a "
                                     "crossing pair (pixels)")  # fmt: skip
    detection_noise: float = Field(1.0, ge=0, le=1000, description="jitter of detected "
                                   "positions (pixels, standard deviation)")  # fmt: skip
    object_radius: float = Field(5.0, gt=0, le=1000, description="size of an object (pixels)")
    appearance: float = Field(0.5, ge=0, le=1, description="how much objects differ in colour "
                              "and size (0: identical)")  # fmt: skip
    crop_size: int = Field(24, ge=1, le=4096, description="side of the box around each object")
    padding: int = Field(0, ge=0, le=4096, description="pixels added around every crop_size box")
    crops: bool = Field(True, description="render frames and store each object's crop")
    channels: Literal[1, 3] = Field(3, description="crop channels: 1 gray, 3 RGB")
