"""A Ray Tune logger callback for Weights & Biases: one W&B run per trial, one logging actor per sweep.

Ray's :class:`~ray.air.integrations.wandb.WandbLoggerCallback` starts two actors per trial (a
queue and a logging actor, each a new Python process that imports W&B and starts W&B's service)
and blocks the driver on each trial's first result while they start. On the 2-CPU quickstart
that cost about a third of a sweep's wall time. Here one actor, started when the sweep starts,
holds every trial's run (``wandb.init(reinit="create_new")``), and the driver only sends it
messages (``.remote()``, never waiting) until the sweep ends.

What each run records:

- The config is the trial's resolved experiment (:mod:`raytrack.tune.logged_config`), set once
  at the start; the config is never logged with the results (Ray's ``log_config`` wrote about
  40 constant ``config/...`` series into every run's history).
- The summary holds the *best* value of the tuned metric (``define_metric`` with the tune mode:
  ``{"max": 0.93}``) and its epoch (``best_epoch``), not the last epoch's; a registered sweep
  carries the metric's goal, so W&B's sweep page ranks runs the right way.
- With a W&B sweep registered (online), every run joins it (``WANDB_SWEEP_ID`` in the actor);
  offline the runs are grouped by sweep.
- The API key reaches the actor as a constructor argument, not through a ``runtime_env``, which
  Ray writes in plain text to its session logs. After the last run, ``wandb.teardown()`` (else
  W&B's service connection broke at interpreter exit, printing a traceback).
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

from ray.tune.logger import LoggerCallback

WANDB_API_KEY = "WANDB_API_KEY"
WANDB_SWEEP_ID = "WANDB_SWEEP_ID"
QUIET_WANDB_ENV = {"WANDB_SILENT": "true", "WANDB_CONSOLE": "off"}
"""Set in the logging actor: no banners, no captured console output in the job's log."""
TO_CONFIG = ("trial_id", "experiment_tag", "node_ip", "experiment_id", "hostname", "pid", "date")
"""Result keys that describe the trial rather than measure it: config entries, not series."""
SKIPPED = ("config", "done", "should_checkpoint")
CLOSE_TIMEOUT_S = 120


class WandbRuns:
    """The logging actor's body: the W&B runs of a sweep's trials, by trial id."""

    def __init__(
        self,
        wandb_api_key: str | None = None,
        sweep_id: str | None = None,
        tuned_metric: str | None = None,
        tuned_mode: str = "min",
    ):
        os.environ.update(QUIET_WANDB_ENV, WANDB_START_METHOD="thread")  # this process only
        if wandb_api_key:
            os.environ[WANDB_API_KEY] = wandb_api_key
        if sweep_id:
            os.environ[WANDB_SWEEP_ID] = sweep_id
        self._metric, self._mode = tuned_metric, tuned_mode
        self._runs: dict[str, Any] = {}
        self._best: dict[str, float] = {}

    def start(self, trial_id: str, init_kwargs: dict[str, Any]) -> None:
        import wandb

        if trial_id in self._runs:  # a restarted trial continues its run
            return
        run = wandb.init(reinit="create_new", **init_kwargs)
        if self._metric:  # the summary keeps the best value: {"max": 0.93}
            run.define_metric(self._metric, summary=self._mode)
        self._runs[trial_id] = run

    def log(self, trial_id: str, log: dict[str, Any], config_update: dict[str, Any]) -> None:
        run = self._runs.get(trial_id)
        if run is None:
            return
        if config_update:
            run.config.update(config_update, allow_val_change=True)
        run.log(log, step=log.get("training_iteration"))
        value = log.get(self._metric) if self._metric else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return
        best = self._best.get(trial_id)
        if best is None or (value < best if self._mode == "min" else value > best):
            self._best[trial_id] = float(value)
            run.summary["best_epoch"] = log.get("epoch", log.get("training_iteration"))

    def finish(self, trial_id: str) -> None:
        run = self._runs.pop(trial_id, None)
        if run is not None:
            run.finish()

    def close(self) -> None:
        import wandb

        for trial_id in list(self._runs):
            self.finish(trial_id)
        wandb.teardown()


def split_result(result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(series, config entries)`` of one Tune result: numbers become series, the trial's
    descriptions config entries; Tune's config and bookkeeping flags are dropped."""
    from ray.tune.utils import flatten_dict

    flat = flatten_dict({k: v for k, v in result.items() if k not in SKIPPED}, delimiter="/")
    log = {k: v for k, v in flat.items() if isinstance(v, numbers.Number) and k not in TO_CONFIG}
    return log, {k: flat[k] for k in TO_CONFIG if k in flat}


class SweepWandbCallback(LoggerCallback):
    """One W&B run per trial, logged by one actor per sweep (see the module's description).

    ``init_kwargs`` (project, group, entity, mode, dir, tags, ...) go to every ``wandb.init``.
    """

    def __init__(
        self,
        *,
        tuned_metric: str,
        tuned_mode: str,
        sweep_id: str | None = None,
        **init_kwargs: Any,
    ):
        self._tuned = {"tuned_metric": tuned_metric, "tuned_mode": tuned_mode}
        self._sweep_id = sweep_id
        self._init_kwargs = init_kwargs
        self._actor: Any = None

    def actor_options(self) -> dict[str, Any]:
        """No CPU reserved, on the driver's node (offline runs are written there); no
        ``runtime_env`` (Ray would log it)."""
        from ray.air.util.node import _force_on_current_node

        return {"num_cpus": 0, **_force_on_current_node()}

    def setup(self, *args: Any, **kwargs: Any) -> None:
        """Start the actor now, while Tune starts the first trials."""
        import ray

        api_key = os.environ.get(WANDB_API_KEY)  # read now: never kept in the callback
        self._actor = (
            ray.remote(WandbRuns)
            .options(**self.actor_options())
            .remote(wandb_api_key=api_key, sweep_id=self._sweep_id, **self._tuned)
        )

    def log_trial_start(self, trial: Any) -> None:
        from raytrack.tune.logged_config import logged_config

        if self._actor is None:
            self.setup()
        init = {
            "id": trial.trial_id,
            "name": str(trial),
            **self._init_kwargs,
            "config": logged_config(trial.config, trial.trial_id),
        }
        self._actor.start.remote(trial.trial_id, init)

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        if self._actor is None:
            self.log_trial_start(trial)
        log, config_update = split_result(result)
        self._actor.log.remote(trial.trial_id, log, config_update)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        if self._actor is not None:
            self._actor.finish.remote(trial.trial_id)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        """Wait for the runs to be written (and uploaded, online), then end the actor."""
        import ray

        if self._actor is None:
            return
        try:
            ray.get(self._actor.close.remote(), timeout=CLOSE_TIMEOUT_S)
        finally:
            ray.kill(self._actor)
            self._actor = None

    def __getstate__(self) -> dict:  # Tune pickles its callbacks: not the actor
        return {**vars(self), "_actor": None}


def wandb_callback_class() -> type:
    """The W&B callback class (kept for callers of raytrack 0.1)."""
    return SweepWandbCallback
