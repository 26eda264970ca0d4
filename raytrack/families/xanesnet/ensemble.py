"""Ensembles of a sweep's best trials: the reference's ``ensemble`` model selection.

The reference trains ``n_ens`` models that differ by their weight initialisation
(``weight_init_seed``) and averages their predictions. In raytrack those models are a sweep's
trials (search ``weight_init_seed`` with ``grid``, and any other hyperparameter with it), and
``raytrack evaluate CHECKPOINT STORE --set ensemble=N`` averages the predictions of the ``N``
best trials of the sweep that holds ``CHECKPOINT`` (``trials.parquet``, best first), each model
with its own scaling. Every member must predict the same thing from the same data: same
direction, sizes and training-store grid, normalisation and descriptor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raytrack.families.xanesnet.store_check import check_same_data


def sweep_of(checkpoint: Path) -> Path:
    """The sweep directory holding ``checkpoint`` (the nearest parent with ``trials.parquet``)."""
    for parent in Path(checkpoint).resolve().parents:
        if (parent / "trials.parquet").is_file():
            return parent
    raise ValueError(
        f"ensemble: the checkpoint {checkpoint} is not inside a finished sweep (no "
        "trials.parquet above it); give a sweep's checkpoint or directory, or ensemble: 1"
    )


def best_checkpoints(sweep: Path, count: int) -> list[Path]:
    """The best checkpoints of the ``count`` best trials of ``sweep`` (best first)."""
    import pandas as pd

    trials = pd.read_parquet(sweep / "trials.parquet")
    found = [Path(c) for c in trials.get("checkpoint", pd.Series(dtype=object)).dropna()]
    if len(found) < count:
        raise ValueError(
            f"ensemble: {count} models asked, but the sweep {sweep} has {len(found)} trials with "
            "a checkpoint"
        )
    return found[:count]


def ensemble_members(loaded: Any, count: int, device: str) -> list[Any]:
    """``loaded`` and the other best models of its sweep, ``count`` in all (loaded once each)."""
    if count == 1:
        return [loaded]
    from raytrack.pipeline.checkpoints import load_checkpoint

    members = []
    for path in best_checkpoints(sweep_of(loaded.path), count):
        member = (
            loaded
            if path.resolve() == Path(loaded.path).resolve()
            else load_checkpoint(path, device)
        )
        task, first = member.task, loaded.task
        same = (task.direction, task.n_descriptor, task.n_points) == (
            first.direction, first.n_descriptor, first.n_points,
        )  # fmt: skip
        if not same:
            raise ValueError(
                f"ensemble: the model at {path} predicts {task.direction} with sizes "
                f"({task.n_descriptor}, {task.n_points}), unlike {loaded.path}'s "
                f"{first.direction} ({first.n_descriptor}, {first.n_points})"
            )
        if task.data_state and first.data_state:
            check_same_data(first.data_state, task.data_state)
        members.append(member)
    return members
