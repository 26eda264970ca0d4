"""Checkpoints are deleted only once the experiment state on disk has moved past them."""

from __future__ import annotations

import json
from pathlib import Path

from raytrack.train.epoch_log import write_checkpoint_metrics
from raytrack.tune.pruning import CheckpointPruner, persisted_epochs


def _trial(sweep: Path, trial_id: str, aucs: list[float]) -> Path:
    trial = sweep / f"trial_{trial_id}"
    for i, auc in enumerate(aucs):
        directory = trial / f"checkpoint_{i:06d}"
        directory.mkdir(parents=True)
        (directory / "state.pt").write_bytes(b"x")
        write_checkpoint_metrics(directory, i + 1, {"val_auc": auc, "epoch": i + 1})
    return trial


def _state(sweep: Path, epochs: dict[str, int], name: str = "experiment_state-1.json") -> None:
    trial_data = [
        ["{}", json.dumps({"last_result": {"trial_id": tid, "epoch": epoch}})]
        for tid, epoch in epochs.items()
    ]
    (sweep / name).write_text(json.dumps({"trial_data": trial_data}))


def _left(trial: Path) -> list[str]:
    return sorted(p.name for p in trial.glob("checkpoint_*"))


def test_only_what_the_saved_state_has_passed_is_deleted(tmp_path: Path) -> None:
    a = _trial(tmp_path, "a", [0.5, 0.9, 0.6, 0.7, 0.65, 0.66])
    b = _trial(tmp_path, "b", [0.5, 0.6, 0.7])
    pruner = CheckpointPruner(tmp_path, "val_auc", "max")
    assert pruner.prune() == []  # no saved state yet: nothing is known to be safe
    _state(tmp_path, {"a": 4, "b": 1})
    assert persisted_epochs(tmp_path) == {"a": 4, "b": 1}
    pruner.prune()
    # a: the best (epoch 2), what the state may point at (3, 4) and everything newer stay.
    assert _left(a) == [f"checkpoint_{i:06d}" for i in (1, 2, 3, 4, 5)]
    assert len(_left(b)) == 3
    _state(tmp_path, {"a": 6, "b": 3})
    pruner.prune(margin=0)  # the sweep has ended: its final state is on disk
    assert _left(a) == ["checkpoint_000001", "checkpoint_000005"]  # best and newest
    assert _left(b) == ["checkpoint_000002"]  # the newest is the best


def test_a_state_file_cut_short_prunes_nothing(tmp_path: Path) -> None:
    a = _trial(tmp_path, "a", [0.5, 0.6, 0.7, 0.8])
    (tmp_path / "experiment_state-1.json").write_text('{"trial_data": [[')
    assert CheckpointPruner(tmp_path, "val_auc", "max").prune(margin=0) == []
    assert len(_left(a)) == 4


def test_the_newest_session_state_counts_whatever_the_file_times(tmp_path: Path) -> None:
    """A resumed sweep's driver syncs every state file again: their times say nothing."""
    import os

    a = _trial(tmp_path, "a", [0.5, 0.6, 0.7, 0.8])
    _state(tmp_path, {"a": 1}, name="experiment_state-2026-12-07_17-41-19.json")
    _state(tmp_path, {"a": 4}, name="experiment_state-2026-12-07_17-43-21.json")
    os.utime(tmp_path / "experiment_state-2026-12-07_17-43-21.json", (1_000, 1_000))
    assert persisted_epochs(tmp_path) == {"a": 4}
    CheckpointPruner(tmp_path, "val_auc", "max").prune(margin=0)
    assert _left(a) == ["checkpoint_000003"]  # the newest is the best
