"""Experiment trackers: Weights & Biases and MLflow, through Ray Tune's logger callbacks.

- W&B: one run per trial, grouped by sweep so the sweep's runs sit together in one dashboard.
  Without ``WANDB_API_KEY`` the runs are written offline under the sweep directory
  (``<sweep>/wandb``) and can be uploaded later with ``wandb sync``.
- MLflow: one run per trial in a local SQLite tracking store by default
  (``sqlite:///<storage>/mlflow.db``; MLflow 3 refuses new file stores), written in batches
  (:mod:`raytrack.tune.mlflow_callback`).

Every run carries the trial's whole configuration: the searched values and the complete fixed
experiment (see :mod:`raytrack.tune.trainable`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment


def _wandb_callback_class() -> type:
    """Ray's W&B callback whose logging actors close W&B's service themselves.

    Ray's logging actor calls ``wandb.finish()`` and returns; W&B's service connection was then
    torn down at interpreter exit after the service had gone, printing a ``ConnectionResetError``
    traceback per trial. ``wandb.teardown()`` right after ``finish`` closes it in order.
    """
    from ray.air.integrations.wandb import WandbLoggerCallback, _WandbLoggingActor

    class TidyWandbLoggingActor(_WandbLoggingActor):
        def run(self) -> None:
            super().run()
            self._wandb.teardown()

    class RaytrackWandbCallback(WandbLoggerCallback):
        _logger_actor_cls = TidyWandbLoggingActor

    return RaytrackWandbCallback


def wandb_mode(configured: str | None) -> str:
    """``logging.wandb.mode`` if set; else the user's ``WANDB_MODE`` (``disabled``, ``offline``,
    ...); else online with an API key and offline without one (no key: nothing could upload)."""
    if configured is not None:
        return configured
    has_key = bool(os.environ.get("WANDB_API_KEY"))
    from_env = os.environ.get("WANDB_MODE")
    if from_env and (from_env != "online" or has_key):
        return from_env
    return "online" if has_key else "offline"


def mlflow_tracking_uri(experiment: Experiment, storage_root: Path) -> str:
    if experiment.logging.mlflow.tracking_uri:
        return experiment.logging.mlflow.tracking_uri
    return f"sqlite:///{storage_root / 'mlflow.db'}"


def logger_callbacks(experiment: Experiment, storage_root: Path, sweep_name: str) -> list[Any]:
    """The Tune callbacks the ``logging`` section asks for (checked to import before Ray runs)."""
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
