"""A trial's epoch record and its newest complete checkpoint, whatever a kill left behind."""

from __future__ import annotations

from pathlib import Path

import torch

from raytrack.train.checkpoint import EXPERIMENT_FILE, STATE_FILE
from raytrack.train.epoch_log import (
    EPOCH_LOG,
    append_epoch,
    checkpoints_by_epoch,
    fill_missing_records,
    newest_checkpoint,
    read_epochs,
    write_checkpoint_metrics,
)


def _checkpoint(root: Path, name: str, epoch: int, auc: float, complete: bool = True) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    torch.save({"epoch": epoch, "optimizers": {}, "model": {}}, directory / STATE_FILE)
    (directory / EXPERIMENT_FILE).write_text("name: x\n")
    write_checkpoint_metrics(directory, epoch, {"val_auc": auc, "epoch": epoch})
    if not complete:  # a copy cut short by a kill
        data = (directory / STATE_FILE).read_bytes()
        (directory / STATE_FILE).write_bytes(data[: len(data) // 2])
    return directory


def test_records_are_read_once_per_epoch_and_torn_lines_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / EPOCH_LOG
    for epoch, auc in [(1, 0.5), (2, 0.6), (2, 0.65), (3, float("nan"))]:
        append_epoch(log, {"epoch": epoch, "val_auc": auc})
    with open(log, "a") as out:
        out.write('{"epoch": 4, "val_au')  # the kill came mid-line
    records = read_epochs(log)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[1]["val_auc"] == 0.65  # the epoch trained again: its last record
    assert records[2]["val_auc"] is None  # non-finite values are written as null
    assert read_epochs(tmp_path / "missing.jsonl") == []
    # A trial's first record comes before its first report, when Tune may not have made the
    # trial's directory on the storage yet.
    append_epoch(tmp_path / "trial_new" / EPOCH_LOG, {"epoch": 1, "val_auc": 0.5})
    assert read_epochs(tmp_path / "trial_new" / EPOCH_LOG) == [{"epoch": 1, "val_auc": 0.5}]


def test_the_newest_complete_checkpoint_wins_and_missing_records_are_filled(tmp_path) -> None:
    trial = tmp_path / "trial"
    _checkpoint(trial, "checkpoint_000000", 1, 0.5)
    _checkpoint(trial, "checkpoint_000001", 4, 0.7)  # a reused directory holds a later epoch
    _checkpoint(trial, "checkpoint_000002", 2, 0.6)
    _checkpoint(trial, "checkpoint_000003", 5, 0.8, complete=False)
    (trial / "checkpoint_000004").mkdir()  # Tune began copying; nothing readable yet
    assert sorted(checkpoints_by_epoch([trial])) == [1, 2, 4, 5]
    assert newest_checkpoint([trial]) == trial / "checkpoint_000001"
    assert newest_checkpoint([tmp_path / "nothing"]) is None
    log = trial / EPOCH_LOG
    append_epoch(log, {"epoch": 1, "val_auc": 0.5})
    assert fill_missing_records(log, [trial]) == 2  # epochs 2 and 4; 5 will be trained again
    assert [r["epoch"] for r in read_epochs(log)] == [1, 2, 4]
    assert fill_missing_records(log, [trial]) == 0
