"""Finding the checkpoint a command should use: a checkpoint directory, or a sweep's best."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raytrack.train.checkpoint import STATE_FILE


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself if it is a checkpoint, else the best checkpoint of the sweep at ``path``."""
    path = Path(path).expanduser().resolve()
    if (path / STATE_FILE).is_file():
        return path
    best = path / "best.json"
    if best.is_file():
        checkpoint = json.loads(best.read_text()).get("checkpoint")
        if checkpoint and (Path(checkpoint) / STATE_FILE).is_file():
            return Path(checkpoint)
        raise FileNotFoundError(
            f"{best} names checkpoint {checkpoint!r}, which has no {STATE_FILE}"
        )
    raise FileNotFoundError(
        f"{path} is neither a checkpoint directory (no {STATE_FILE}) nor a finished sweep "
        "(no best.json); give a trial's checkpoint_NNNNNN directory or a sweep directory"
    )


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A trained model ready to use: in eval mode, with its task and its experiment."""

    path: Path
    model: Any
    task: Any
    experiment: Any


def load_checkpoint(path: str | Path, device: str = "cpu") -> LoadedCheckpoint:
    """The model of a checkpoint directory, or of a finished sweep's best checkpoint."""
    from raytrack.train.checkpoint import load_model

    directory = resolve_checkpoint(path)
    model, task, experiment = load_model(directory, map_location=device)
    return LoadedCheckpoint(directory, model.to(device).eval(), task, experiment)
