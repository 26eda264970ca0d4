"""The driver's side of the probe hook (:mod:`raytrack.probe`): Tune's trial events, and the time
each logger callback's hooks take in the driver. Built only while a probe is named."""

from __future__ import annotations

import time
from typing import Any

from ray.tune.callback import Callback

from raytrack.probe import emit

_TIMED_HOOKS = (
    "setup",
    "on_trial_start",
    "on_trial_restore",
    "on_trial_save",
    "on_trial_result",
    "on_trial_complete",
    "on_trial_recover",
    "on_trial_error",
    "on_checkpoint",
    "on_experiment_end",
)


class ProbeCallback(Callback):
    """``trial_start``, ``trial_result`` and ``trial_end`` as the driver sees them."""

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        emit("trial_start", trial=trial.trial_id)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        emit("trial_result", trial=trial.trial_id, epoch=result.get("epoch"))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        emit("trial_end", trial=trial.trial_id, failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        emit("trial_end", trial=trial.trial_id, failed=True)


class TimedCallback(Callback):
    """Runs ``inner``'s hooks and emits a ``callback`` event with the seconds each took."""

    def __init__(self, inner: Callback, name: str):
        self.inner, self.name = inner, name

    def _timed(self, hook: str, **info: Any) -> None:
        started = time.perf_counter()
        getattr(self.inner, hook)(**info)
        emit("callback", name=self.name, hook=hook, seconds=time.perf_counter() - started)

    def get_state(self) -> dict | None:
        return self.inner.get_state()

    def set_state(self, state: dict) -> None:
        self.inner.set_state(state)


def _hook(name: str) -> Any:
    def run(self: TimedCallback, **info: Any) -> None:
        self._timed(name, **info)

    run.__name__ = name
    return run


for _name in _TIMED_HOOKS:
    setattr(TimedCallback, _name, _hook(_name))
