"""Ray Tune's W&B logger callback, made to record what a trial really ran.

Changes from Ray's :class:`~ray.air.integrations.wandb.WandbLoggerCallback`:

- The run's config is the trial's resolved experiment (:mod:`raytrack.tune.logged_config`), set
  once at the start; the config is not logged with every result (Ray's ``log_config`` wrote
  about 40 constant ``config/...`` series into every run's history).
- The run summary holds the *best* value of the tuned metric (``define_metric`` with the
  tune mode: ``{"max": 0.93}``) and its epoch (``best_epoch``), not the last epoch's; a
  registered sweep carries the metric's goal, so W&B's sweep page ranks runs the right way.
- With a W&B sweep registered (online), every run joins it (``WANDB_SWEEP_ID`` in the logging
  actor), so W&B's sweep page, parallel coordinates and parameter importance work; offline
  the runs are grouped by sweep.
- The API key reaches the logging actors as a constructor argument, not through a
  ``runtime_env``, which Ray writes in plain text to its session logs.
- After ``wandb.finish()`` the actor calls ``wandb.teardown()``: otherwise W&B's service
  connection was torn down at interpreter exit after the service had gone, printing a
  ``ConnectionResetError`` traceback per trial.
"""

from __future__ import annotations

import math
import os
from typing import Any

WANDB_API_KEY = "WANDB_API_KEY"
WANDB_SWEEP_ID = "WANDB_SWEEP_ID"
QUIET_WANDB_ENV = {"WANDB_SILENT": "true", "WANDB_CONSOLE": "off"}
"""Set in the logging actors: no banners, no captured console output in the job's log."""


def wandb_callback_class() -> type:
    import ray
    from ray.air.integrations.wandb import WandbLoggerCallback, _QueueItem, _WandbLoggingActor
    from ray.air.util.node import _force_on_current_node
    from ray.tune.result import TRAINING_ITERATION

    class RaytrackWandbLoggingActor(_WandbLoggingActor):
        def __init__(
            self,
            *args: Any,
            wandb_api_key: str | None = None,
            sweep_id: str | None = None,
            tuned_metric: str | None = None,
            tuned_mode: str = "min",
            **kwargs: Any,
        ):
            os.environ.update(QUIET_WANDB_ENV)  # this actor's process only
            if wandb_api_key:
                os.environ[WANDB_API_KEY] = wandb_api_key
            if sweep_id:
                os.environ[WANDB_SWEEP_ID] = sweep_id
            super().__init__(*args, **kwargs)
            self._metric, self._mode = tuned_metric, tuned_mode
            self._best: float | None = None

        def run(self) -> None:
            os.environ["WANDB_START_METHOD"] = "thread"
            run = self._wandb.init(*self.args, **self.kwargs)
            if self._metric:  # the summary keeps the best value: {"max": 0.93}
                run.define_metric(self._metric, summary=self._mode)
            while True:
                item_type, item = self.queue.get()
                if item_type == _QueueItem.END:
                    break
                if item_type == _QueueItem.CHECKPOINT:
                    self._handle_checkpoint(item)
                    continue
                log, config_update = self._handle_result(item)
                if config_update:
                    run.config.update(config_update, allow_val_change=True)
                run.log(log, step=log.get(TRAINING_ITERATION))
                self._keep_best(run, item)
            self._wandb.finish()
            self._wandb.teardown()

        def _keep_best(self, run: Any, result: dict) -> None:
            value = result.get(self._metric) if self._metric else None
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return
            if self._best is None or (
                value < self._best if self._mode == "min" else value > self._best
            ):
                self._best = float(value)
                run.summary["best_epoch"] = result.get("epoch", result.get(TRAINING_ITERATION))

    class RaytrackWandbCallback(WandbLoggerCallback):
        _logger_actor_cls = RaytrackWandbLoggingActor

        def __init__(
            self,
            *args: Any,
            tuned_metric: str,
            tuned_mode: str,
            sweep_id: str | None = None,
            **kwargs: Any,
        ):
            super().__init__(*args, log_config=False, **kwargs)
            self._tuned = {"tuned_metric": tuned_metric, "tuned_mode": tuned_mode}
            self._sweep_id = sweep_id

        def _start_logging_actor(
            self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any
        ) -> None:
            from raytrack.tune.logged_config import logged_config

            if self._remote_logger_class is None:  # Ray's own adds a runtime_env with the key
                self._remote_logger_class = ray.remote(
                    num_cpus=0,
                    **_force_on_current_node(),
                    max_restarts=-1,
                    max_task_retries=-1,
                )(self._logger_actor_cls)
            wandb_init_kwargs["config"] = logged_config(trial.config, trial.trial_id)
            api_key = os.environ.get(WANDB_API_KEY)  # read now: never kept in the callback
            if api_key:
                wandb_init_kwargs["wandb_api_key"] = api_key
            wandb_init_kwargs.update(sweep_id=self._sweep_id, **self._tuned)
            super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)

        def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
            # The run's config was set at its start; Ray's actor would overwrite it with the
            # trial's Tune config (the file's base values) at every result.
            result = {key: value for key, value in result.items() if key != "config"}
            super().log_trial_result(iteration, trial, result)

    return RaytrackWandbCallback
