"""The moving-objects simulator: clips of objects that move, appear, vanish, hide and cross.

Each clip is a scene of ``clip_length`` frames (``image_size`` pixels). Objects start at random
places (``objects`` of them), enter (``birth_rate``), end (``death_rate``, or by leaving the
image), hide for ``occlusion_length`` frames (``occlusion_rate``); ``crossings`` pairs of
constant-velocity objects are added whose paths meet, ``crossing_distance`` apart, at a random
frame of the clip's middle half. An object moves with constant velocity (speed about
``speed``, direction uniform) or as a random walk (``random_walk_sigma``). Detections are the
visible objects' positions plus Gaussian ``detection_noise``. With ``crops``, each frame is
rendered (every visible object an elongated Gaussian blob along its motion, colour and size
differing by ``appearance``, on a noisy dark background) and each detection's crop cut from it.
The random state of clip ``i`` is ``default_rng([seed, i])``: a clip does not depend on how many
others are generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from raytrack.families.gtr.clip import KEY, clip_schema
from raytrack.families.gtr.sim_settings import MovingObjectsSettings
from raytrack.families.gtr.video import cut_crop, square_box
from raytrack.family import SourceOutput


@dataclass
class _Object:
    position: np.ndarray
    velocity: np.ndarray
    walks: bool
    colour: np.ndarray
    radius: float
    immortal: bool = False
    hidden_until: int = -1


class _Scene:
    def __init__(self, settings: MovingObjectsSettings, rng: np.random.Generator) -> None:
        self.s, self.rng = settings, rng
        self.size = np.asarray(settings.image_size, np.float64)
        self.objects: dict[int, _Object] = {}
        self.next_id = 0

    def add(self, position: np.ndarray, velocity: np.ndarray | None = None, **kwargs) -> None:
        s, rng = self.s, self.rng
        walks = s.motion == "random_walk" or (s.motion == "mixed" and rng.random() < 0.5)
        if velocity is None:
            angle = rng.uniform(0, 2 * np.pi)
            velocity = s.speed * rng.uniform(0.5, 1.5) * np.array([np.cos(angle), np.sin(angle)])
        else:
            walks = False
        colour = (1 - s.appearance) * 0.8 + s.appearance * rng.uniform(0.2, 1.0, s.channels)
        radius = s.object_radius * (1 + s.appearance * rng.uniform(-0.4, 0.4))
        self.objects[self.next_id] = _Object(position, velocity, walks, colour, radius, **kwargs)
        self.next_id += 1

    def random_position(self) -> np.ndarray:
        margin = self.s.object_radius * 2
        return self.rng.uniform(margin, self.size - margin)

    def add_crossing(self) -> None:
        s, rng = self.s, self.rng
        meet = rng.uniform(s.clip_length / 4, 3 * s.clip_length / 4)
        point = rng.uniform(self.size * 0.3, self.size * 0.7)
        first = rng.uniform(0, 2 * np.pi)
        for k, angle in enumerate((first, first + rng.uniform(np.pi / 6, 5 * np.pi / 6))):
            direction = np.array([np.cos(angle), np.sin(angle)])
            velocity = max(s.speed, 0.5) * rng.uniform(0.8, 1.2) * direction
            offset = (k - 0.5) * s.crossing_distance * np.array([-direction[1], direction[0]])
            self.add(point + offset - velocity * meet, velocity, immortal=True)

    def step(self, frame: int) -> list[tuple[int, np.ndarray, _Object]]:
        """The detections of ``frame``, then the motion to the next frame."""
        s, rng = self.s, self.rng
        seen = []
        for track, obj in list(self.objects.items()):
            inside = (obj.position >= 0).all() and (obj.position < self.size).all()
            if not inside or (not obj.immortal and rng.random() < s.death_rate):
                del self.objects[track]
                continue
            if not obj.immortal and obj.hidden_until < frame and rng.random() < s.occlusion_rate:
                obj.hidden_until = frame + s.occlusion_length - 1
            if obj.hidden_until < frame:
                noisy = (
                    obj.position + rng.normal(0, s.detection_noise, 2)
                    if s.detection_noise
                    else obj.position
                )
                seen.append((track, noisy.copy(), obj))
        for obj in self.objects.values():
            if obj.walks:
                obj.velocity = rng.normal(0, s.random_walk_sigma, 2)
            obj.position = obj.position + obj.velocity
        for _ in range(rng.poisson(s.birth_rate)):
            self.add(self.random_position())
        return seen


def render(settings: MovingObjectsSettings, seen: list, rng: np.random.Generator) -> np.ndarray:
    """A frame: each visible object an elongated Gaussian blob along its motion, uint8 ``(H, W, C)``."""
    width, height = settings.image_size
    image = np.clip(0.08 + rng.normal(0, 0.02, (height, width, 1)), 0, 1) * np.ones(
        settings.channels
    )
    for _, _, obj in seen:
        reach = int(np.ceil(6 * obj.radius))  # the blob is below 1e-3 farther out
        x0, y0 = (int(c) - reach for c in obj.position)
        xs0, ys0, xs1, ys1 = (
            max(x0, 0),
            max(y0, 0),
            min(x0 + 2 * reach, width),
            min(y0 + 2 * reach, height),
        )
        if xs1 <= xs0 or ys1 <= ys0:
            continue
        ys, xs = np.mgrid[ys0:ys1, xs0:xs1]
        speed = np.linalg.norm(obj.velocity)
        along = obj.velocity / speed if speed > 1e-6 else np.array([1.0, 0.0])
        dx, dy = xs - obj.position[0], ys - obj.position[1]
        u = dx * along[0] + dy * along[1]
        v = -dx * along[1] + dy * along[0]
        blob = np.exp(-0.5 * ((u / (1.6 * obj.radius)) ** 2 + (v / (0.6 * obj.radius)) ** 2))
        patch = image[ys0:ys1, xs0:xs1]
        image[ys0:ys1, xs0:xs1] = np.maximum(patch, blob[..., None] * obj.colour)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def simulate_clip(settings: MovingObjectsSettings, clip_id: int, seed: int) -> dict:
    """One clip's store row."""
    rng = np.random.default_rng([seed, clip_id])
    scene = _Scene(settings, rng)
    for _ in range(settings.objects):
        scene.add(scene.random_position())
    for _ in range(settings.crossings):
        scene.add_crossing()
    side = settings.crop_size + 2 * settings.padding
    frames, tracks, points, crops = [], [], [], []
    for frame in range(settings.clip_length):
        seen = scene.step(frame)
        image = render(settings, seen, rng) if settings.crops else None
        for track, position, _ in seen:
            frames.append(frame)
            tracks.append(track)
            points.append(position)
            if image is not None:
                crops.append(cut_crop(image, square_box(position, side), side)[None])
    points_array = np.asarray(points, np.float64).reshape(-1, 2)
    row = {
        KEY: clip_id, "video": f"sim-{clip_id:06d}", "video_index": clip_id, "first_frame": 0,
        "clip_frames": settings.clip_length, "geometry": "point",
        "image_size": np.asarray(settings.image_size, np.int32),
        "frame": np.asarray(frames, np.int32), "track_id": np.asarray(tracks, np.int32),
        "box": square_box(points_array, side)[:, None, :].astype(np.float32),
        "centroid": points_array.astype(np.float32),
    }  # fmt: skip
    if settings.crops:
        shape = (0, 1, side, side, settings.channels)
        row["crop"] = np.stack(crops) if crops else np.zeros(shape, np.uint8)
    return row


def moving_objects(settings: MovingObjectsSettings, *, count: int, seed: int) -> SourceOutput:
    """``count`` simulated clips with ``seed``."""
    if count is None or count < 1:
        raise ValueError(f"the simulator needs a number of clips >= 1, but got {count}")
    side = settings.crop_size + 2 * settings.padding
    crop_shape = (side, side, settings.channels) if settings.crops else None

    def rows() -> Iterator[dict]:
        for clip_id in range(count):
            yield simulate_clip(settings, clip_id, seed)

    provenance = {"generator": "raytrack gtr moving_objects", "geometry": "point"}
    return SourceOutput(rows(), clip_schema(1, crop_shape), provenance)
