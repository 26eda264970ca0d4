"""Finding the checkpoint a command should use: a checkpoint directory, or a sweep's best."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raytrack.train.checkpoint import resolve_checkpoint

__all__ = ["LoadedCheckpoint", "load_checkpoint", "resolve_checkpoint"]


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A trained model ready to use: in eval mode, with its task and its experiment."""

    path: Path
    model: Any
    task: Any
    experiment: Any
    settings: tuple[str, ...] = ()
    """What the task adopted from the checkpoint's metrics, or kept, one line each (e.g.
    ``r_test = 0.042 (the checkpoint's val_target_radius, ...)``)."""


def load_checkpoint(path: str | Path, device: str = "cpu") -> LoadedCheckpoint:
    """The model of a checkpoint directory, or of a finished sweep's best checkpoint, with its
    task set up from the checkpoint's metrics (:meth:`~raytrack.tasks.base.Task.use_checkpoint_metrics`)."""
    from raytrack.train.checkpoint import load_model
    from raytrack.train.epoch_log import checkpoint_metrics

    directory = resolve_checkpoint(path)
    model, task, experiment = load_model(directory, map_location=device)
    record = checkpoint_metrics(directory) or {}
    settings = tuple(task.use_checkpoint_metrics(dict(record.get("metrics") or {})))
    return LoadedCheckpoint(directory, model.to(device).eval(), task, experiment, settings)
