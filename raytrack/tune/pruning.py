"""Deleting old checkpoints without deleting one a resumed sweep needs.

Ray Tune's own ``num_to_keep`` deletes a trial's older checkpoints as soon as newer ones arrive,
while its saved experiment state, written every few seconds, may still point at one of them: a
driver killed in between left a sweep that ``raytrack resume`` could not recover. So Tune keeps
every checkpoint, and this callback deletes on the driver only what the experiment state *on
disk* has moved past: for each trial, checkpoints older than the epoch that state last recorded
(less one, for a state written while that epoch's checkpoint was being registered), except the
trial's best checkpoint (``best.json`` points at it) and its newest.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from raytrack.train.epoch_log import checkpoint_metrics, checkpoints_by_epoch
from raytrack.tune.trainable import trial_dirname


def persisted_epochs(experiment_dir: str | Path) -> dict[str, int]:
    """``{trial_id: epoch}``: each trial's last epoch in the newest experiment state on disk."""
    # Newest by name, as Tune restores: each driver session names its file after its start
    # time. Not by mtime: Tune rewrites every state file's time when a sweep resumes.
    states = sorted(Path(experiment_dir).glob("experiment_state-*.json"), key=lambda p: p.name)
    if not states:
        return {}
    try:
        data = json.loads(states[-1].read_text())
    except (OSError, ValueError):
        return {}  # being written: next time
    epochs: dict[str, int] = {}
    for entry in data.get("trial_data", []):
        try:
            meta = json.loads(entry[1]) if isinstance(entry[1], str) else entry[1]
        except (ValueError, TypeError, IndexError):
            continue
        last = (meta or {}).get("last_result") or {}
        if isinstance(last.get("epoch"), int) and "trial_id" in last:
            epochs[str(last["trial_id"])] = last["epoch"]
    return epochs


def _score(directory: Path, metric: str, mode: str) -> float:
    record = checkpoint_metrics(directory) or {}
    value = (record.get("metrics") or {}).get(metric)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return -math.inf
    return value if mode == "max" else -value


def prune_trial(
    trial_dir: str | Path, safe_epoch: int, metric: str, mode: str, margin: int = 1
) -> list[Path]:
    """Delete the trial's checkpoints before ``safe_epoch - margin`` but its best and newest."""
    found = checkpoints_by_epoch([trial_dir])
    if len(found) <= 2:
        return []
    newest = max(found)
    best = max(found, key=lambda epoch: _score(found[epoch], metric, mode))
    deleted = []
    for epoch, directory in found.items():
        if epoch in (newest, best) or epoch >= safe_epoch - margin:
            continue
        shutil.rmtree(directory, ignore_errors=True)
        deleted.append(directory)
    return deleted


class CheckpointPruner(Callback):
    """Prunes every trial's checkpoints (see the module docstring) every ``every_s`` seconds."""

    def __init__(self, experiment_dir: str | Path, metric: str, mode: str, every_s: float = 10.0):
        self.experiment_dir = Path(experiment_dir)
        self.metric, self.mode, self.every_s = metric, mode, every_s
        self._last = time.monotonic()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self.prune()

    def prune(self, margin: int = 1) -> list[Path]:
        """Prune now; ``margin=0`` once the sweep has ended (its final state is on disk)."""
        self._last = time.monotonic()
        deleted = []
        for trial_id, epoch in persisted_epochs(self.experiment_dir).items():
            trial_dir = self.experiment_dir / trial_dirname(trial_id)
            deleted += prune_trial(trial_dir, epoch, self.metric, self.mode, margin)
        return deleted
