"""Experiments as raytrack 0.1 dumped them, read by this version.

raytrack 0.1 wrote every optimizer and scheduler setting into every dumped experiment (a
checkpoint's ``experiment.yaml``, a sweep's ``sweep.json``, ``best.yaml``), with its default,
whether it applied or not (``momentum: 0.0`` for adam, ``patience: 10`` with no scheduler).
This version refuses settings that do not apply, so :func:`load_dumped` drops exactly those
defaults before validating: a checkpoint or an interrupted sweep of 0.1 still loads and
resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raytrack.config.schema import Experiment
from raytrack.config.training import OPTIMIZERS, SCHEDULERS, optimizer_argument_types

LEGACY_DEFAULTS = {
    "optimizer": {"momentum": 0.0, "betas": [0.9, 0.999], "amsgrad": False},
    "scheduler": {"patience": 10, "factor": 0.3, "min_lr": 0.0},
}
"""Settings that raytrack before the optimizer and scheduler tables wrote into every
``experiment.yaml``, whether they applied or not, with their defaults."""


def without_legacy_defaults(train: Mapping[str, Any]) -> dict[str, Any]:
    """A ``train`` section as older raytrack wrote it (checkpoints' ``experiment.yaml``, a
    restored sweep's trials) without the default settings that did not apply to its optimizer or
    scheduler, so that it validates; other settings are kept (and checked)."""
    train = dict(train)
    for part, defaults in LEGACY_DEFAULTS.items():
        if not isinstance(train.get(part), Mapping):
            continue
        section = dict(train[part])
        name = section.get("name", "adam" if part == "optimizer" else "none")
        if name not in (OPTIMIZERS if part == "optimizer" else SCHEDULERS):
            continue  # reported by validation
        own = optimizer_argument_types(name) if part == "optimizer" else SCHEDULERS[name]
        for key, default in defaults.items():
            value = list(section[key]) if isinstance(section.get(key), tuple) else section.get(key)
            if key in section and key not in own and value == default:
                del section[key]
        train[part] = section
    return train


def load_dumped(data: Mapping[str, Any]) -> Experiment:
    """A dumped experiment (this version's or raytrack 0.1's) as an :class:`Experiment`."""
    data = dict(data)
    if isinstance(data.get("train"), Mapping):
        data["train"] = without_legacy_defaults(data["train"])
    return Experiment.model_validate(data)
