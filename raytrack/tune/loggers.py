"""Experiment trackers: Weights & Biases and MLflow, through Ray Tune's logger callbacks.

- W&B: one run per trial, grouped by sweep so the sweep's runs sit together in one dashboard.
  Without ``WANDB_API_KEY`` the runs are written offline under the sweep directory
  (``<sweep>/wandb``) and can be uploaded later with ``wandb sync``.
- MLflow: one run per trial in a local SQLite tracking store by default
  (``sqlite:///<storage>/mlflow.db``; MLflow 3 refuses new file stores), written in batches
  (:mod:`raytrack.tune.mlflow_callback`).

Every run records the experiment the trial really ran, flattened with dotted keys
(:mod:`raytrack.tune.logged_config`), with credentials in URIs masked. Secrets never travel in
a Ray ``runtime_env``, which Ray writes to its session logs: the W&B API key reaches the
logging actor as a constructor argument, in memory (:mod:`raytrack.tune.wandb_callback`).

Neither blocks the sweep's driver: W&B's runs live in one actor per sweep, MLflow writes in a
background thread. With a probe hook named (:mod:`raytrack.probe`) each one's hooks are timed.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment
from raytrack.redact import keep_secrets_out_of_runtime_envs, redact_text
from raytrack.tune.wandb_callback import WANDB_API_KEY


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


def _registered_sweep(experiment: Experiment) -> str | None:
    """The id of the W&B sweep this sweep's runs join (online only; offline they are grouped)."""
    from raytrack.tune.wandb_sweep_registration import register_wandb_sweep

    cfg = experiment.logging.wandb
    try:
        sweep_id = register_wandb_sweep(experiment, cfg.project, cfg.entity)
    except Exception as error:  # W&B unreachable: the runs are still logged, grouped by sweep
        print(
            f"raytrack: warning: could not register a W&B sweep ({type(error).__name__}: "
            f"{redact_text(str(error))}); runs are grouped by sweep instead",
            file=sys.stderr,
        )
        return None
    if sweep_id:
        print(f"raytrack: W&B sweep {sweep_id}")
    return sweep_id


def mlflow_experiment_name(experiment: Experiment) -> str:
    return experiment.logging.mlflow.experiment_name or experiment.name


def logger_callbacks(experiment: Experiment, storage_root: Path, sweep_name: str) -> list[Any]:
    """The Tune callbacks the ``logging`` section asks for (checked to import before Ray runs).

    Also keeps the driver's AWS credentials out of the trials' runtime environments
    (:func:`~raytrack.redact.keep_secrets_out_of_runtime_envs`), whatever is logged.
    """
    keep_secrets_out_of_runtime_envs()
    callbacks: list[Any] = [callback for callback in (tensorboard_callback(),) if callback]
    wandb_cfg = experiment.logging.wandb
    if wandb_cfg.enabled:
        if importlib.util.find_spec("wandb") is None:  # imported by the logging actor only
            raise RuntimeError(
                "logging.wandb.enabled is true but wandb is not installed: pip install wandb"
            )
        mode = wandb_mode(wandb_cfg.mode)
        os.environ["WANDB_MODE"] = mode  # read by the logging actor as well
        wandb_dir = storage_root / sweep_name / "wandb"
        wandb_dir.mkdir(parents=True, exist_ok=True)
        from raytrack.tune.wandb_callback import SweepWandbCallback

        callbacks.append(
            SweepWandbCallback(
                sweep_id=_registered_sweep(experiment),
                tuned_metric=experiment.tune.metric,
                tuned_mode=experiment.tune.mode,
                project=wandb_cfg.project,
                group=wandb_cfg.group or sweep_name,
                entity=wandb_cfg.entity,
                mode=mode,
                dir=str(wandb_dir),
                tags=[experiment.model.name, experiment.name],
            )
        )
        _timed_if_probing(callbacks, "wandb")
    mlflow_cfg = experiment.logging.mlflow
    if mlflow_cfg.enabled:
        if importlib.util.find_spec("mlflow") is None:  # imported by the writer thread only
            raise RuntimeError(
                "logging.mlflow.enabled is true but mlflow is not installed: pip install mlflow"
            )
        from raytrack.tune.mlflow_callback import MLflowBatchCallback

        local_store = mlflow_cfg.tracking_uri is None
        callbacks.append(
            MLflowBatchCallback(
                tracking_uri=mlflow_tracking_uri(experiment, storage_root),
                experiment_name=mlflow_experiment_name(experiment),
                tags={
                    "sweep": sweep_name,
                    "model": experiment.model.name,
                    "sweep_dir": str(storage_root / sweep_name),
                    "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                },
                artifact_location=(
                    (storage_root / "mlflow-artifacts").resolve().as_uri() if local_store else None
                ),
            )
        )
        _timed_if_probing(callbacks, "mlflow")
    return callbacks


def _timed_if_probing(callbacks: list[Any], name: str) -> None:
    """With a probe hook named, the last callback reports the time of each of its hooks."""
    from raytrack.probe import probing

    if probing():
        from raytrack.tune.probe_callbacks import TimedCallback

        callbacks[-1] = TimedCallback(callbacks[-1], name)


def tensorboard_callback() -> Any:
    """Tune's TensorBoard writer (event files in every trial directory), its hparams being the
    trial's resolved experiment instead of only the sampled values; None without tensorboardX."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return None
    from ray.tune.logger import TBXLoggerCallback

    from raytrack.tune.logged_config import as_scalar, logged_config

    class ResolvedHparamsTBXCallback(TBXLoggerCallback):
        def _try_log_hparams(self, trial: Any, result: dict) -> None:
            from tensorboardX.summary import hparams

            config = logged_config(trial.config, trial.trial_id)
            tags = hparams(
                hparam_dict={key: as_scalar(value) for key, value in config.items()},
                metric_dict=result,
            )
            for tag in tags:
                self._trial_writer[trial].file_writer.add_summary(tag)

    return ResolvedHparamsTBXCallback()
