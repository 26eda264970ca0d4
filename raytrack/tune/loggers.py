"""Experiment trackers: Weights & Biases and MLflow, through Ray Tune's logger callbacks.

- W&B: one run per trial, grouped by sweep so the sweep's runs sit together in one dashboard.
  Without ``WANDB_API_KEY`` the runs are written offline under the sweep directory
  (``<sweep>/wandb``) and can be uploaded later with ``wandb sync``.
- MLflow: one run per trial in a local SQLite tracking store by default
  (``sqlite:///<storage>/mlflow.db``; MLflow 3 refuses new file stores), written in batches
  (:mod:`raytrack.tune.mlflow_callback`).

Every run carries the trial's whole configuration: the searched values and the complete fixed
experiment (see :mod:`raytrack.tune.trainable`), with credentials in URIs masked
(:func:`raytrack.redact.redact_config`). Secrets never travel in a Ray ``runtime_env``,
which Ray writes to its session logs: the W&B API key reaches the logging actors as a
constructor argument, in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment
from raytrack.redact import keep_secrets_out_of_runtime_envs, redact_config

WANDB_API_KEY = "WANDB_API_KEY"


def _wandb_callback_class() -> type:
    """Ray's W&B callback, changed in three ways.

    - The API key reaches the logging actors as a constructor argument, not through a
      ``runtime_env``: Ray writes a runtime environment's ``env_vars`` in plain text to the
      session's ``runtime_env_agent.log``. A restarted actor gets the argument again.
    - The configuration W&B records (at the start and with every result) has credentials in
      URIs masked.
    - Ray's logging actor calls ``wandb.finish()`` and returns; W&B's service connection was
      then torn down at interpreter exit after the service had gone, printing a
      ``ConnectionResetError`` traceback per trial. ``wandb.teardown()`` right after ``finish``
      closes it in order.
    """
    import ray
    from ray.air.integrations.wandb import WandbLoggerCallback, _WandbLoggingActor
    from ray.air.util.node import _force_on_current_node

    class TidyWandbLoggingActor(_WandbLoggingActor):
        def __init__(self, *args: Any, wandb_api_key: str | None = None, **kwargs: Any):
            if wandb_api_key:
                os.environ[WANDB_API_KEY] = wandb_api_key  # this actor's process only
            super().__init__(*args, **kwargs)

        def run(self) -> None:
            super().run()
            self._wandb.teardown()

    class RaytrackWandbCallback(WandbLoggerCallback):
        _logger_actor_cls = TidyWandbLoggingActor

        def _start_logging_actor(
            self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any
        ) -> None:
            if self._remote_logger_class is None:  # Ray's own adds a runtime_env with the key
                self._remote_logger_class = ray.remote(
                    num_cpus=0,
                    **_force_on_current_node(),
                    max_restarts=-1,
                    max_task_retries=-1,
                )(self._logger_actor_cls)
            wandb_init_kwargs["config"] = redact_config(wandb_init_kwargs.get("config") or {})
            api_key = os.environ.get(WANDB_API_KEY)  # read now: never kept in the callback
            if api_key:
                wandb_init_kwargs["wandb_api_key"] = api_key
            super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)

        def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
            if "config" in result:
                result = {**result, "config": redact_config(result["config"])}
            super().log_trial_result(iteration, trial, result)

    return RaytrackWandbCallback


def wandb_mode(configured: str | None) -> str:
    """``logging.wandb.mode`` if set; else the user's ``WANDB_MODE`` (``disabled``, ``offline``,
    ...); else online with an API key and offline without one (no key: nothing could upload)."""
    if configured is not None:
        return configured
    has_key = bool(os.environ.get(WANDB_API_KEY))
    from_env = os.environ.get("WANDB_MODE")
    if from_env and (from_env != "online" or has_key):
        return from_env
    return "online" if has_key else "offline"


def mlflow_tracking_uri(experiment: Experiment, storage_root: Path) -> str:
    if experiment.logging.mlflow.tracking_uri:
        return experiment.logging.mlflow.tracking_uri
    return f"sqlite:///{storage_root / 'mlflow.db'}"


def logger_callbacks(experiment: Experiment, storage_root: Path, sweep_name: str) -> list[Any]:
    """The Tune callbacks the ``logging`` section asks for (checked to import before Ray runs).

    Also keeps the driver's AWS credentials out of the trials' runtime environments
    (:func:`~raytrack.redact.keep_secrets_out_of_runtime_envs`), whatever is logged.
    """
    keep_secrets_out_of_runtime_envs()
    callbacks: list[Any] = []
    wandb_cfg = experiment.logging.wandb
    if wandb_cfg.enabled:
        try:
            import wandb  # noqa: F401
        except ImportError as error:
            raise RuntimeError(
                "logging.wandb.enabled is true but wandb is not installed: pip install 'raytrack[wandb]'"
            ) from error
        mode = wandb_mode(wandb_cfg.mode)
        os.environ["WANDB_MODE"] = mode  # read by the logging actors as well
        wandb_dir = storage_root / sweep_name / "wandb"
        wandb_dir.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            _wandb_callback_class()(
                project=wandb_cfg.project,
                group=wandb_cfg.group or sweep_name,
                entity=wandb_cfg.entity,
                mode=mode,
                dir=str(wandb_dir),
                tags=[experiment.model.name, experiment.name],
                log_config=True,
            )
        )
    mlflow_cfg = experiment.logging.mlflow
    if mlflow_cfg.enabled:
        try:
            import mlflow  # noqa: F401

            from raytrack.tune.mlflow_callback import MLflowBatchCallback
        except ImportError as error:
            raise RuntimeError(
                "logging.mlflow.enabled is true but mlflow is not installed: pip install 'raytrack[mlflow]'"
            ) from error
        callbacks.append(
            MLflowBatchCallback(
                tracking_uri=mlflow_tracking_uri(experiment, storage_root),
                experiment_name=mlflow_cfg.experiment_name or experiment.name,
                tags={"sweep": sweep_name, "model": experiment.model.name},
            )
        )
    return callbacks
