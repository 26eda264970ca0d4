"""After a sweep: the best trial's checkpoint and ``best.yaml`` saved as artifacts of its run.

The trackers' runs end with their trials, before anyone knows which trial is best; once the
sweep's result files are written (``best.json``), this reopens the best trial's runs:

- W&B: the run whose id is the trial id (Ray names runs so) is resumed and gets a ``model``
  artifact ``best-<sweep>`` with the checkpoint directory and ``best.yaml``. Offline, the
  resumed run is a second offline directory with the same run id; ``wandb sync`` uploads both
  into the one run.
- MLflow: the trial's child run gets ``best.yaml`` and the checkpoint (under
  ``best_checkpoint/``); the sweep's parent run gets the best value and trial as a metric and
  a tag.

The sweep has finished by now: a tracker that fails here prints a warning and changes nothing
of the sweep's results. The two trackers are written at once, in two threads (each waits on
its own store or service).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment
from raytrack.redact import redact_text


def log_best_artifacts(experiment: Experiment, sweep_path: Path, storage_root: Path) -> None:
    """Attach the best trial's checkpoint and ``best.yaml`` to its W&B and MLflow runs."""
    best_file = Path(sweep_path) / "best.json"
    if not best_file.is_file():
        return  # no trial finished an epoch
    best = json.loads(best_file.read_text())
    attaches = [
        attach
        for enabled, attach in (
            (experiment.logging.wandb.enabled, _attach_to_wandb),
            (experiment.logging.mlflow.enabled, _attach_to_mlflow),
        )
        if enabled
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for attach in attaches:
            pool.submit(_attach_or_warn, attach, experiment, Path(sweep_path), storage_root, best)


def _attach_or_warn(attach: Any, experiment: Experiment, sweep_path: Path, storage_root: Path,
                    best: dict[str, Any]) -> None:  # fmt: skip
    try:
        attach(experiment, sweep_path, Path(storage_root), best)
    except Exception as error:  # the sweep's results are written; never fail it now
        print(
            f"raytrack: warning: could not save the best checkpoint to "
            f"{attach.__name__.removeprefix('_attach_to_')}: "
            f"{type(error).__name__}: {redact_text(str(error))}",
            file=sys.stderr,
        )


def _attach_to_wandb(
    experiment: Experiment, sweep_path: Path, storage_root: Path, best: dict[str, Any]
) -> None:
    import wandb

    from raytrack.tune.loggers import wandb_mode

    cfg = experiment.logging.wandb
    run = wandb.init(
        id=best["trial_id"],
        project=cfg.project,
        entity=cfg.entity,
        group=cfg.group or sweep_path.name,
        dir=str(sweep_path / "wandb"),
        mode=wandb_mode(cfg.mode),
        resume="allow",
        settings=wandb.Settings(silent=True, console="off"),
    )
    artifact = wandb.Artifact(
        f"best-{sweep_path.name}",
        type="model",
        metadata={"trial_id": best["trial_id"], experiment.tune.metric: best.get("value")},
    )
    artifact.add_file(best["best_yaml"], name="best.yaml")
    if best.get("checkpoint") and Path(best["checkpoint"]).is_dir():
        artifact.add_dir(best["checkpoint"], name="checkpoint")
    run.log_artifact(artifact)
    run.finish()
    wandb.teardown()


def _attach_to_mlflow(
    experiment: Experiment, sweep_path: Path, storage_root: Path, best: dict[str, Any]
) -> None:
    from mlflow.tracking import MlflowClient

    from raytrack.tune.loggers import mlflow_experiment_name, mlflow_tracking_uri
    from raytrack.tune.mlflow_callback import ROLE_TAG

    client = MlflowClient(tracking_uri=mlflow_tracking_uri(experiment, storage_root))
    found = client.get_experiment_by_name(mlflow_experiment_name(experiment))
    if found is None:
        return
    runs = client.search_runs(
        [found.experiment_id], filter_string=f"tags.sweep = '{sweep_path.name}'"
    )
    for run in runs:
        tags = run.data.tags
        if tags.get("trial_id") == best["trial_id"]:
            client.log_artifact(run.info.run_id, best["best_yaml"])
            if best.get("checkpoint") and Path(best["checkpoint"]).is_dir():
                client.log_artifacts(run.info.run_id, best["checkpoint"], "best_checkpoint")
        elif tags.get(ROLE_TAG) == "sweep":
            client.set_tag(run.info.run_id, "best_trial_id", best["trial_id"])
            if isinstance(best.get("value"), (int, float)):
                client.log_metric(
                    run.info.run_id, f"best_{experiment.tune.metric}", float(best["value"])
                )
