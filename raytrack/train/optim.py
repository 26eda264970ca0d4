"""Optimizers and the learning-rate schedule of the training loop.

The schedule is one object with two clocks, as in the Exa.TrkX Lightning modules:

- *warmup*, per optimizer step: the rate ramps linearly to its scheduled value over the first
  ``warmup`` steps (``lr_scale = min(1, (step + 1) / warmup)``);
- *epoch schedule*, per epoch: ``none``; ``step`` (× ``factor`` every ``patience`` epochs,
  Exa.TrkX's StepLR); ``plateau`` (× ``factor`` after ``patience`` epochs without improvement
  of the watched metric, never below ``min_lr``); ``warmcos`` (cosine from ``lr`` to ``min_lr``
  over ``max_epochs``).

Its whole state is a small dict saved in every checkpoint, so a resumed trial continues the
schedule exactly where it stopped.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Literal

import torch

from raytrack.config.schema import OptimizerSection, SchedulerSection


def build_optimizer(section: OptimizerSection, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer named in ``train.optimizer``."""
    params = list(params)
    if section.name == "adam":
        return torch.optim.Adam(
            params, lr=section.lr, betas=section.betas, weight_decay=section.weight_decay,
            amsgrad=section.amsgrad,
        )
    if section.name == "adamw":
        return torch.optim.AdamW(
            params, lr=section.lr, betas=section.betas, weight_decay=section.weight_decay,
            amsgrad=section.amsgrad,
        )
    if section.name == "sgd":
        return torch.optim.SGD(
            params, lr=section.lr, momentum=section.momentum, weight_decay=section.weight_decay
        )
    if section.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=section.lr, momentum=section.momentum, weight_decay=section.weight_decay
        )
    raise ValueError(f"unknown optimizer {section.name!r} (choices: adam, adamw, sgd, rmsprop)")


class LearningRateSchedule:
    """Warmup per step times an epoch schedule; sets the rate on every parameter group."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        lr: float,
        warmup: int,
        scheduler: SchedulerSection,
        max_epochs: int,
        mode: Literal["min", "max"] = "min",
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, but got lr={lr}")
        if warmup < 0:
            raise ValueError(f"warmup must be at least 0, but got warmup={warmup}")
        self.optimizer = optimizer
        self.base_lr = lr
        self.warmup = warmup
        self.scheduler = scheduler
        self.max_epochs = max_epochs
        self.mode = mode
        self.epoch = 0
        self.step_count = 0
        self.plateau_lr = lr
        self.plateau_best: float | None = None
        self.plateau_bad_epochs = 0
        self._apply()

    def epoch_lr(self) -> float:
        """The scheduled rate of the current epoch, before warmup."""
        s = self.scheduler
        if s.name == "step":
            return max(self.base_lr * s.factor ** (self.epoch // s.patience), s.min_lr)
        if s.name == "plateau":
            return self.plateau_lr
        if s.name == "warmcos":
            progress = min(self.epoch / self.max_epochs, 1.0)
            return s.min_lr + (self.base_lr - s.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        return self.base_lr

    @property
    def lr(self) -> float:
        scale = min(1.0, (self.step_count + 1) / self.warmup) if self.warmup else 1.0
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
            better = (
                self.plateau_best is None
                or (watched < self.plateau_best if self.mode == "min" else watched > self.plateau_best)
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
            "plateau_best": self.plateau_best,
            "plateau_bad_epochs": self.plateau_bad_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.step_count = int(state["step_count"])
        self.plateau_lr = float(state["plateau_lr"])
        self.plateau_best = state["plateau_best"]
        self.plateau_bad_epochs = int(state["plateau_bad_epochs"])
        self._apply()
