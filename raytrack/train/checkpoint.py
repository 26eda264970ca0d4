"""Checkpoints: everything a trial needs to resume, and a best model needs to be used.

A checkpoint directory holds ``state.pt`` (model, optimizer and schedule state, the number of
finished epochs, the epoch's metrics) and ``experiment.yaml`` (the complete, fixed experiment
that produced it), so a checkpoint is self-describing: ``raytrack report`` and the next
pipeline stage can rebuild the model from it without the sweep's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from raytrack.config.schema import Experiment

STATE_FILE = "state.pt"
EXPERIMENT_FILE = "experiment.yaml"


def save_checkpoint(
    directory: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    epoch: int,
    metrics: dict[str, Any],
    experiment: Experiment,
) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "epoch": epoch,
            "metrics": dict(metrics),
        },
        directory / STATE_FILE,
    )
    (directory / EXPERIMENT_FILE).write_text(
        yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False)
    )
    return directory


def load_checkpoint(directory: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {STATE_FILE} in checkpoint directory {directory}")
    return torch.load(path, map_location=map_location, weights_only=False)


def load_model(directory: str | Path, map_location: Any = "cpu") -> tuple[nn.Module, Any, Experiment]:
    """Rebuild the model (in eval mode), its task and the experiment from a checkpoint."""
    from raytrack.registry import get_model

    directory = Path(directory)
    experiment = Experiment.model_validate(yaml.safe_load((directory / EXPERIMENT_FILE).read_text()))
    model, task = get_model(experiment.model.name).build(experiment.model.hparams, experiment.data.options)
    model.load_state_dict(load_checkpoint(directory, map_location)["model"])
    model.eval()
    return model, task, experiment
