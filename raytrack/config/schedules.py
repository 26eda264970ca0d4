"""The scheduler table and ``train.scheduler``: each schedule with only its own settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from raytrack.config.sections import Problems, Section, raise_problems

SCHEDULERS: dict[str, dict[str, Any]] = {
    "none": {},
    "plateau": {"patience": 10, "factor": 0.3, "min_lr": 0.0},
    "step": {"patience": 10, "factor": 0.3, "min_lr": 0.0},
    "warmcos": {"min_lr": 0.0, "period": None},
    "exponential": {"factor": ..., "min_lr": 0.0},
    "multistep": {"milestones": ..., "factor": 0.3, "min_lr": 0.0},
}
"""Each scheduler's settings with their defaults (``...``: required; warmcos ``period`` None:
the stage's length)."""


class SchedulerSection(Section):
    """Learning-rate schedule stepped once per epoch (after warmup), restarted at each stage.

    ``plateau``: × ``factor`` after ``patience`` epochs without improvement of the tuned metric.
    ``step``: × ``factor`` every ``patience`` epochs (Exa.TrkX's StepLR). ``warmcos``: cosine
    from ``lr`` to ``min_lr`` over ``period`` epochs, then a warm restart (HyperTrack's
    ``warm-cos``; default period: the stage's length, one cosine). ``exponential``: × ``factor``
    every epoch. ``multistep``: × ``factor`` at each of ``milestones`` (epochs into the stage).
    Never below ``min_lr``. A setting of another scheduler is an error.
    """

    name: Literal["none", "plateau", "step", "warmcos", "exponential", "multistep"] = "none"
    patience: int | None = Field(None, ge=1)
    factor: float | None = Field(None, gt=0, lt=1)
    min_lr: float | None = Field(None, ge=0)
    period: int | None = Field(None, ge=1)
    milestones: list[int] | None = None

    @model_validator(mode="after")
    def _settings_of_the_scheduler(self) -> SchedulerSection:
        own = SCHEDULERS[self.name]
        listed = f"its settings: {', '.join(own) or 'none'}"
        problems: Problems = []
        for key in ("patience", "factor", "min_lr", "period", "milestones"):
            value = getattr(self, key)
            if value is not None and key not in own:
                problems.append(
                    ((key,), f"{key} is not a setting of scheduler {self.name!r} ({listed})")
                )
            elif value is None and own.get(key) is ...:
                problems.append(((), f"scheduler {self.name!r} needs {key} ({listed})"))
            elif value is None and key in own:
                setattr(self, key, own[key])
        steps = self.milestones or []
        if any(m < 1 for m in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
            why = f"milestones must be increasing epochs of at least 1, but got {steps}"
            problems.append((("milestones",), why))
        raise_problems(type(self).__name__, problems)
        return self
