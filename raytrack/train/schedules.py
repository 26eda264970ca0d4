"""The learning-rate schedule of one optimizer: warmup per step times an epoch schedule.

The schedule has two clocks, as in the Exa.TrkX Lightning modules, both restarted at the start
of each stage (with the stage's rate as base):

- *warmup*, per optimizer step or per epoch (``warmup_interval``): the rate ramps linearly to its
  scheduled value over the first ``warmup`` steps or epochs (``lr_scale = min(1, (n + 1) /
  warmup)``, ``n`` the step or epoch of the stage);
- *epoch schedule*, per epoch, from the table :data:`EPOCH_RATES` (settings in
  :class:`~raytrack.config.training.SchedulerSection`).

Its whole state is a small dict saved in every checkpoint, so a resumed trial continues the
schedule exactly where it stopped.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any, Literal

import torch

from raytrack.config.training import SCHEDULERS, SchedulerSection


def _none(s: LearningRateSchedule) -> float:
    return s.base_lr


def _plateau(s: LearningRateSchedule) -> float:
    return s.plateau_lr


def _step(s: LearningRateSchedule) -> float:
    c = s.scheduler
    return max(s.base_lr * c.factor ** (s.epoch // c.patience), c.min_lr)


def _warmcos(s: LearningRateSchedule) -> float:
    c = s.scheduler
    period = c.period or s.length
    progress = 1.0 if s.epoch >= s.length else (s.epoch % period) / period
    return c.min_lr + (s.base_lr - c.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def _exponential(s: LearningRateSchedule) -> float:
    c = s.scheduler
    return max(s.base_lr * c.factor**s.epoch, c.min_lr)


def _multistep(s: LearningRateSchedule) -> float:
    c = s.scheduler
    return max(s.base_lr * c.factor ** bisect.bisect_right(c.milestones, s.epoch), c.min_lr)


EPOCH_RATES: dict[str, Callable[[LearningRateSchedule], float]] = {
    "none": _none,
    "plateau": _plateau,
    "step": _step,
    "warmcos": _warmcos,
    "exponential": _exponential,
    "multistep": _multistep,
}
"""Scheduler name → the rate of the schedule's current epoch (before warmup)."""
assert EPOCH_RATES.keys() == SCHEDULERS.keys(), "every scheduler of the config needs a rate"


class LearningRateSchedule:
    """Warmup (per step or per epoch) times an epoch schedule; sets the rate on every group of
    ``optimizer``.

    ``length`` is the stage's number of epochs (the default warmcos period).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        lr: float,
        warmup: int,
        warmup_interval: Literal["step", "epoch"] = "step",
        scheduler: SchedulerSection,
        length: int,
        mode: Literal["min", "max"] = "min",
    ) -> None:
        if warmup < 0:
            raise ValueError(f"warmup must be at least 0, but got warmup={warmup}")
        self.optimizer = optimizer
        if warmup_interval not in ("step", "epoch"):
            raise ValueError(
                f"warmup_interval must be 'step' or 'epoch', but got warmup_interval={warmup_interval!r}"
            )
        self.warmup = warmup
        self.warmup_interval = warmup_interval
        self.scheduler = scheduler
        self.mode = mode
        self.restart(lr, length)

    def restart(self, lr: float, length: int) -> None:
        """Start again from epoch 0 and step 0 with base rate ``lr`` (a new stage)."""
        if lr <= 0:
            raise ValueError(f"lr must be positive, but got lr={lr}")
        if length < 1:
            raise ValueError(f"length must be at least 1 epoch, but got length={length}")
        self.base_lr = lr
        self.length = length
        self.epoch = 0
        self.step_count = 0
        self.plateau_lr = lr
        self.plateau_best: float | None = None
        self.plateau_bad_epochs = 0
        self._apply()

    def epoch_lr(self) -> float:
        """The scheduled rate of the current epoch, before warmup."""
        return EPOCH_RATES[self.scheduler.name](self)

    @property
    def lr(self) -> float:
        clock = self.epoch if self.warmup_interval == "epoch" else self.step_count
        scale = min(1.0, (clock + 1) / self.warmup) if self.warmup else 1.0
        return self.epoch_lr() * scale

    def step(self) -> None:
        """After each optimizer step."""
        self.step_count += 1
        self._apply()

    def end_epoch(self, watched: float | None) -> None:
        """After each epoch's validation; ``watched`` is the tuned metric (plateau only)."""
        self.epoch += 1
        s = self.scheduler
        if s.name == "plateau" and watched is not None and math.isfinite(watched):
            better = self.plateau_best is None or (
                watched < self.plateau_best if self.mode == "min" else watched > self.plateau_best
            )
            if better:
                self.plateau_best, self.plateau_bad_epochs = watched, 0
            else:
                self.plateau_bad_epochs += 1
                if self.plateau_bad_epochs >= s.patience:
                    self.plateau_lr = max(self.plateau_lr * s.factor, s.min_lr)
                    self.plateau_bad_epochs = 0
        self._apply()

    def _apply(self) -> None:
        lr = self.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step_count": self.step_count,
            "plateau_lr": self.plateau_lr,
            "plateau_best": None if self.plateau_best is None else float(self.plateau_best),
            "plateau_bad_epochs": self.plateau_bad_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.step_count = int(state["step_count"])
        self.plateau_lr = float(state["plateau_lr"])
        self.plateau_best = state["plateau_best"]
        self.plateau_bad_epochs = int(state["plateau_bad_epochs"])
        self._apply()
