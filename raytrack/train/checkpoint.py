"""Checkpoints: everything a trial needs to resume exactly, and a best model needs to be used.

A checkpoint directory holds, from rank 0, ``state.pt`` (model, optimizers and schedules, the
number of finished epochs, the stage the next epoch trains in and the epoch it started at, the
epoch's metrics), ``experiment.yaml`` (the complete, fixed experiment that produced it) and
``metrics.json`` (the epoch and its metrics, readable without torch; see
:mod:`raytrack.train.epoch_log`), and
from every worker ``rng_rank<r>.pt`` (its random number generators; Ray Train merges the files
every worker reports into one directory). A checkpoint is self-describing: ``raytrack report``
and the next pipeline stage rebuild the model from it without the sweep's files.

Everything in it is tensors and plain Python values, loaded with ``weights_only=True``: loading a
checkpoint cannot run code.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from raytrack.config.legacy import load_dumped
from raytrack.config.schema import Experiment
from raytrack.train.epoch_log import write_checkpoint_metrics
from raytrack.train.rng import rng_state

STATE_FILE = "state.pt"
EXPERIMENT_FILE = "experiment.yaml"


def rng_file(rank: int) -> str:
    return f"rng_rank{rank}.pt"


def _plain(value: Any) -> Any:
    """Metric values as Python numbers (numpy scalars would not load with ``weights_only``)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    return value


def save_checkpoint(
    directory: str | Path,
    *,
    model: nn.Module,
    optimizers: Mapping[str, torch.optim.Optimizer],
    schedules: Mapping[str, Any],
    epoch: int,
    stage: int,
    stage_start: int,
    finished: bool,
    metrics: Mapping[str, Any],
    experiment: Experiment,
    task_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write rank 0's part of a checkpoint: ``state.pt`` and ``experiment.yaml``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizers": {name: optimizer.state_dict() for name, optimizer in optimizers.items()},
            "schedules": {name: schedule.state_dict() for name, schedule in schedules.items()},
            "epoch": epoch,
            "stage": stage,
            "stage_start": stage_start,
            "finished": finished,
            "metrics": {key: _plain(value) for key, value in metrics.items()},
            "task": dict(task_state or {}),
        },
        directory / STATE_FILE,
    )
    (directory / EXPERIMENT_FILE).write_text(
        yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False)
    )
    write_checkpoint_metrics(directory, epoch, metrics)
    return directory


def save_rng(directory: str | Path, rank: int) -> Path:
    """Write this worker's random number generator states as ``rng_rank<rank>.pt``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(rng_state(), directory / rng_file(rank))
    return directory / rng_file(rank)


def load_checkpoint(directory: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """The contents of ``state.pt`` (tensors and plain values only: ``weights_only=True``)."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {STATE_FILE} in checkpoint directory {directory}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"refusing checkpoint {path}: it holds objects other than tensors and plain values, "
            f"and loading them could run code ({first[:160]}); raytrack never writes such "
            "files, so it was made or changed elsewhere"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(
            f"cannot read checkpoint {path}: {type(err).__name__}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else 'cut short'} "
            "(a copy cut short or a damaged file)"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path} is not a raytrack checkpoint (no model weights in it)")
    if "optimizers" not in state:  # written before several optimizers: one, with its schedule
        state["optimizers"] = {"model": state.pop("optimizer")}
        state["schedules"] = {"model": state.pop("schedule")}
    return state


def load_rng(directory: str | Path, rank: int) -> dict[str, Any] | None:
    """Worker ``rank``'s generator states, or None (with a warning) when the checkpoint has none."""
    path = Path(directory) / rng_file(rank)
    if not path.is_file():
        warnings.warn(
            f"checkpoint {directory} has no {rng_file(rank)}: the resumed run draws other random "
            "numbers than the uninterrupted one would have",
            stacklevel=2,
        )
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def load_model(
    directory: str | Path, map_location: Any = "cpu"
) -> tuple[nn.Module, Any, Experiment]:
    """Rebuild the model (in eval mode), its task and the experiment from a checkpoint."""
    from raytrack.registry import get_model

    directory = Path(directory)
    experiment = load_dumped(yaml.safe_load((directory / EXPERIMENT_FILE).read_text()))
    model, task = get_model(experiment.model.name, experiment.plugins).build(
        experiment.model.hparams, experiment.data.options
    )
    state = load_checkpoint(directory, map_location)
    model.load_state_dict(state["model"])
    task.load_state_dict(state.get("task", {}))
    model.eval()
    return model, task, experiment


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself if it is a checkpoint, else the best checkpoint of the sweep at ``path``.

    A sweep's ``best.json`` is only followed into the sweep directory itself: a checkpoint path
    that leads elsewhere (an edited or planted file) is refused, as is one that is not there.
    A relative path in ``best.json`` is taken from the sweep directory.
    """
    path = Path(path).expanduser().resolve()
    if (path / STATE_FILE).is_file():
        return path
    best = path / "best.json"
    if best.is_file():
        try:
            checkpoint = json.loads(best.read_text()).get("checkpoint")
        except (json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f"{best} is not a sweep's best.json ({err})") from None
        if not isinstance(checkpoint, str) or not checkpoint:
            raise FileNotFoundError(f"{best} names no checkpoint (the best trial saved none)")
        target = (path / checkpoint).resolve()
        if not target.is_relative_to(path):
            raise ValueError(
                f"{best} names checkpoint {checkpoint}, which lies outside the sweep directory "
                f"{path}; refusing to follow it (give the checkpoint directory itself if you "
                "trust it)"
            )
        if not (target / STATE_FILE).is_file():
            raise FileNotFoundError(
                f"{best} names checkpoint {checkpoint}, which has no {STATE_FILE}"
            )
        return target
    raise FileNotFoundError(
        f"{path} is neither a checkpoint directory (no {STATE_FILE}) nor a finished sweep "
        "(no best.json); give a trial's checkpoint_NNNNNN directory or a sweep directory"
    )
