"""A trial's own record of its epochs, and the newest checkpoint it can resume from.

Ray Tune's ``result.json`` holds what the driver received: when the driver dies, the epochs a
trial reported after the driver's last saved state are missing there, and Tune's saved state
points at an older checkpoint than the trial wrote. raytrack does not depend on either:

- every checkpoint holds ``metrics.json`` (its epoch and that epoch's metrics), written before
  the checkpoint is reported;
- right before each report, rank 0 appends the epoch's metrics to ``epochs.jsonl`` in the
  trial directory (one JSON line; a line cut short by a kill is skipped when read). Before, not
  after: a scheduler that stops the trial on that result ends it inside the report;
- a trial that starts again resumes from the newest *complete* checkpoint in its directories
  (:func:`newest_checkpoint`), newer than what Tune remembers, and first appends the records of
  checkpointed epochs that ``epochs.jsonl`` misses (:func:`fill_missing_records`).

So the sweep's ``history`` (read with :func:`read_epochs`: each epoch once, the last record of an
epoch that was trained twice) holds every epoch a trial trained, once, whatever moment the
driver died at.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EPOCH_LOG = "epochs.jsonl"
METRICS_FILE = "metrics.json"
CHECKPOINT_GLOB = "checkpoint_*"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_checkpoint_metrics(directory: str | Path, epoch: int, metrics: Mapping[str, Any]) -> None:
    """``metrics.json`` of a checkpoint: its epoch (epochs finished) and that epoch's metrics."""
    record = {"epoch": int(epoch), "metrics": {k: _plain(v) for k, v in metrics.items()}}
    Path(directory, METRICS_FILE).write_text(json.dumps(record, default=str))


def checkpoint_metrics(directory: str | Path) -> dict[str, Any] | None:
    """A checkpoint's ``metrics.json`` (None when it is missing or cut short)."""
    try:
        record = json.loads(Path(directory, METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("epoch"), int) else None


def append_epoch(log: str | Path, metrics: Mapping[str, Any]) -> None:
    """Append one epoch's metrics to ``log`` as one line, flushed to disk."""
    line = json.dumps({k: _plain(v) for k, v in metrics.items()}, default=str) + "\n"
    # Before a trial's first report Tune may not have made its directory on the storage yet.
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as out:
        out.write(line)
        out.flush()
        os.fsync(out.fileno())


def read_epochs(log: str | Path) -> list[dict[str, Any]]:
    """The epochs recorded in ``log``, in epoch order, each once (the last record of an epoch).

    Lines that do not parse (a write cut short by a kill) are skipped.
    """
    by_epoch: dict[int, dict[str, Any]] = {}
    try:
        lines = Path(log).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            by_epoch[record["epoch"]] = record
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def checkpoints_by_epoch(roots: Iterable[str | Path]) -> dict[int, Path]:
    """``{epoch: directory}`` of the checkpoints under ``roots`` that have ``metrics.json``
    (a directory reused for a later epoch counts for that epoch)."""
    found: dict[int, Path] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for directory in sorted(root.glob(CHECKPOINT_GLOB)):
            record = checkpoint_metrics(directory)
            if record is not None and (directory / "state.pt").is_file():
                found[record["epoch"]] = directory
    return found


def is_complete(directory: str | Path) -> bool:
    """Whether a checkpoint's files are all there, its ``state.pt`` loads and holds the epoch
    its ``metrics.json`` names (Tune may reuse a directory name after a resume; a kill while it
    copied leaves old and new files side by side)."""
    from raytrack.train.checkpoint import EXPERIMENT_FILE, load_checkpoint

    record = checkpoint_metrics(directory)
    if record is None or not Path(directory, EXPERIMENT_FILE).is_file():
        return False
    try:
        state = load_checkpoint(directory)
    except Exception:  # noqa: BLE001 - any unreadable state.pt means: not complete
        return False
    return state.get("epoch") == record["epoch"]


def newest_checkpoint(roots: Iterable[str | Path]) -> Path | None:
    """The newest checkpoint under ``roots`` whose files are complete (:func:`is_complete`).

    A directory a kill left half-copied is passed over for the one before it.
    """
    found = checkpoints_by_epoch(roots)
    for epoch in sorted(found, reverse=True):
        if is_complete(found[epoch]):
            return found[epoch]
    return None


def fill_missing_records(log: str | Path, roots: Iterable[str | Path]) -> int:
    """Append to ``log`` the epochs of complete checkpoints it does not record; how many."""
    recorded = {record["epoch"] for record in read_epochs(log)}
    added = 0
    for epoch, directory in sorted(checkpoints_by_epoch(roots).items()):
        if epoch in recorded or not is_complete(directory):
            continue
        record = checkpoint_metrics(directory)
        if record is not None and record["metrics"].get("epoch") == epoch:
            append_epoch(log, record["metrics"])
            added += 1
    return added


def finished_run(roots: Iterable[str | Path], max_epochs: int) -> dict[str, Any] | None:
    """The last epoch's metrics when the newest complete checkpoint under ``roots`` ended its
    run (its last epoch, or a last stage that ended early); None when there is more to train."""
    from raytrack.train.checkpoint import load_checkpoint

    newest = newest_checkpoint(roots)
    if newest is None:
        return None
    state = load_checkpoint(newest)
    if not (state.get("finished") or int(state.get("epoch", 0)) >= max_epochs):
        return None
    return dict(state.get("metrics") or {})
