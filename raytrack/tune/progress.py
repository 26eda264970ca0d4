"""The live progress view of a sweep: one line per reported epoch, one per finished trial.

Ray's own console output prints each trial's whole configuration (the complete experiment
travels in every trial's config for the loggers), so raytrack silences it and prints this
compact view instead::

    [0:42] 3c2419d4 epoch 2/6  val_auc=0.8182  best 0.9693 (bceb2e5c)
    [0:43] 3c2419d4 stopped early by the scheduler after 2 epochs
           3/8 done, 2 running, 3 pending; best val_auc 0.9693 (bceb2e5c); ETA 1:20

"k/N done" counts against the trials the sweep will run (``num_samples``, times the grid's size
for grid entries), not the trials created so far. The ETA (once a trial has finished) assumes
the remaining trials take as long, on average, as the finished ones took per slot. The lines
hold no terminal escapes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from ray.tune import Callback

from raytrack.tune.trainable import EXPERIMENT_KEY


class ProgressPrinter(Callback):
    def __init__(
        self,
        metric: str,
        mode: str,
        epochs_of: Callable[[dict[str, Any]], int],
        total: int,
        stream: TextIO | None = None,
    ) -> None:
        """``epochs_of(trial.config)``: how many epochs that trial runs unless stopped early;
        ``total``: how many trials the sweep runs."""
        self.metric = metric
        self.mode = mode
        self.epochs_of = epochs_of
        self.total = total
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self.best: tuple[float, str] | None = None
        self.finished = 0

    def setup(self, **info: Any) -> None:
        self.started = time.monotonic()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(f"{trial.trial_id} started   {_params(trial.config)}")

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        value = result.get(self.metric)
        if isinstance(value, (int, float)) and self._improves(float(value)):
            self.best = (float(value), trial.trial_id)
        shown = (
            f"{self.metric}={value:.4g}" if isinstance(value, (int, float)) else f"{self.metric}=?"
        )
        best = f"best {self.best[0]:.4g} ({self.best[1]})" if self.best else ""
        epoch = result.get("training_iteration", "?")
        self._print(
            f"{trial.trial_id} epoch {epoch}/{self.epochs_of(trial.config)}  {shown}  {best}"
        )

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.finished += 1
        epochs = (trial.last_result or {}).get("training_iteration", 0)
        how = (
            "completed"
            if epochs >= self.epochs_of(trial.config)
            else "stopped early by the scheduler"
        )
        self._print(f"{trial.trial_id} {how} after {epochs} epochs")
        self._print_tally(trials)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.finished += 1
        self._print(f"{trial.trial_id} FAILED; see {trial.local_path}/error.txt")
        self._print_tally(trials)

    def tally(self, trials: list) -> str:
        """``3/8 done, 2 running, 3 pending; best val_auc 0.97 (bceb2e5c); ETA 1:20``."""
        total = max(self.total, len(trials))
        running = sum(1 for trial in trials if getattr(trial, "status", None) == "RUNNING")
        pending = max(0, total - self.finished - running)
        parts = [f"{self.finished}/{total} done, {running} running, {pending} pending"]
        if self.best:
            parts.append(f"best {self.metric} {self.best[0]:.4g} ({self.best[1]})")
        if 0 < self.finished < total:
            elapsed = time.monotonic() - self.started
            parts.append(f"ETA {_clock(elapsed * (total - self.finished) / self.finished)}")
        return "; ".join(parts)

    def _print_tally(self, trials: list) -> None:
        print(f"       {self.tally(trials)}", file=self.stream, flush=True)

    def _improves(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best[0] if self.mode == "min" else value > self.best[0]

    def _print(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{_clock(elapsed)}] {message}", file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def _params(config: dict[str, Any]) -> str:
    parts = []
    for key, value in config.items():
        if key == EXPERIMENT_KEY:
            continue
        name = key.removeprefix("model.hparams.")
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={shown}")
    return " ".join(parts)
