"""Training-clip augmentations: albumentations transforms on crops, node and instance dropout.

biogtr's ``augmentations`` (``dataset.train_dataset.augmentations``): albumentations class names
with their parameters, plus ``NodeDropout`` and ``InstanceDropout``. biogtr applies the
albumentations transforms to whole frames before cropping; the store keeps crops, not frames,
so here each transform acts on each crop of an instance (a rotation turns the crop about its
anchor; the instance's position is left as it is). Random draws come from numpy's global
generator (albumentations is seeded from it), which checkpoints save, so resumed training
draws the same augmentations.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from raytrack.families.gtr.clip import Clip

DROPOUTS = ("NodeDropout", "InstanceDropout")


def _dropout_settings(name: str, params: Mapping[str, Any]) -> tuple[float, int]:
    unknown = sorted(set(params) - {"p", "n"})
    if unknown:
        raise ValueError(f"augmentations.{name} takes p and n, not {unknown}")
    p, n = float(params.get("p", 0.0)), params.get("n", 0)
    if not 0 <= p <= 1 or not isinstance(n, int) or n < 0:
        raise ValueError(
            f"augmentations.{name}: p must be in [0, 1] and n a count >= 0, but got p={p}, n={n}"
        )
    return p, n


def _albumentations() -> Any:
    try:
        import albumentations
    except ImportError as err:
        raise ImportError(
            "augmentations other than NodeDropout and InstanceDropout need albumentations: "
            "pip install 'raytrack[gtr]' (or pip install albumentations)"
        ) from err
    return albumentations


def build_transform(name: str, params: Mapping[str, Any]) -> Any:
    """The albumentations transform ``name`` with ``params``; errors name the key."""
    albumentations = _albumentations()
    cls = getattr(albumentations, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, albumentations.BasicTransform)):
        raise ValueError(
            f"augmentations.{name}: albumentations has no transform {name!r} "
            f"(e.g. GaussianBlur, MotionBlur, RandomBrightnessContrast, Rotate; or {', '.join(DROPOUTS)})"
        )
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"augmentations.{name}: unknown parameter(s) {unknown} (choices: {sorted(accepted)})"
        )
    try:
        return cls(**params)
    except Exception as err:  # noqa: BLE001 - albumentations validates with pydantic and others
        raise ValueError(
            f"augmentations.{name}: invalid parameters {dict(params)}: {err}"
        ) from None


def check_augmentations(spec: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` naming the first unknown or invalid augmentation of ``spec``."""
    for name, params in spec.items():
        if not isinstance(params, Mapping):
            raise ValueError(f"augmentations.{name} must be a mapping of parameters")
        if name in DROPOUTS:
            _dropout_settings(name, params)
        else:
            build_transform(name, params)


class Augmenter:
    """Applies ``augmentations`` to a training clip.

    Update rule, per clip: ``InstanceDropout`` removes up to ``n`` instances of each frame, each
    with probability ``p``; ``NodeDropout`` sets up to ``n`` anchors of each instance to absent
    (NaN box, black crop), each with probability ``p``; every albumentations transform runs, in
    the order given, on every crop (uint8 ``(S, S, C)``, shape kept).
    """

    def __init__(self, spec: Mapping[str, Mapping[str, Any]]) -> None:
        check_augmentations(spec)
        self.instance_dropout = _dropout_settings(
            "InstanceDropout", spec.get("InstanceDropout", {})
        )
        self.node_dropout = _dropout_settings("NodeDropout", spec.get("NodeDropout", {}))
        transforms = [build_transform(n, p) for n, p in spec.items() if n not in DROPOUTS]
        self.compose = _albumentations().Compose(transforms, p=1.0) if transforms else None

    def __call__(self, clip: Clip) -> Clip:
        clip = self._drop_instances(clip)
        clip = self._drop_nodes(clip)
        if self.compose is not None and clip.crop is not None and len(clip):
            self.compose.set_random_seed(int(np.random.randint(0, 2**31 - 1)))
            crops = clip.crop.numpy()
            out = np.empty_like(crops)
            for index in np.ndindex(crops.shape[:2]):
                image = self.compose(image=np.ascontiguousarray(crops[index]))["image"]
                out[index] = image.reshape(crops.shape[2:])
            clip = replace(clip, crop=torch.from_numpy(out))
        return clip

    def _drop_instances(self, clip: Clip) -> Clip:
        p, n = self.instance_dropout
        if p == 0 or n == 0 or not len(clip):
            return clip
        keep = np.ones(len(clip), bool)
        frames = clip.frame.numpy()
        for frame in np.unique(frames):
            members = np.flatnonzero(frames == frame)
            drawn = members[np.random.uniform(size=len(members)) < p]
            keep[np.random.permutation(drawn)[:n]] = False
        return clip.subset(torch.from_numpy(keep))

    def _drop_nodes(self, clip: Clip) -> Clip:
        p, n = self.node_dropout
        if p == 0 or n == 0 or not len(clip):
            return clip
        drop = np.zeros((len(clip), clip.anchors), bool)
        for i in range(len(clip)):
            drawn = np.flatnonzero(np.random.uniform(size=clip.anchors) < p)
            drop[i, np.random.permutation(drawn)[:n]] = True
        mask = torch.from_numpy(drop)
        box = clip.box.clone()
        box[mask] = float("nan")
        crop = None
        if clip.crop is not None:
            crop = clip.crop.clone()
            crop[mask] = 0
        return replace(clip, box=box, crop=crop)
