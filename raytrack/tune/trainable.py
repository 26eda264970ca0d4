"""One trial: a Ray Tune function trainable that runs the training loop on 1 or N workers.

Ray Train V2 pattern:

- ``train.workers == 1``: the loop runs inside the trial process itself (no worker group, no
  Ray Data actors); rows stream from the Parquet store with pyarrow; ``ray.tune.report``.
- ``train.workers > 1``: the trial builds a :class:`ray.train.torch.TorchTrainer` (DDP: gloo on
  CPU, NCCL on GPU) fed by the store's Ray Data stream, one shard per worker, and calls
  ``fit()``; workers report with ``ray.train.report`` and Ray's ``TuneReportCallback`` hands the
  reports to Tune, so ASHA sees every epoch. The trainer's run lives under the sweep's storage
  with a name derived from the trial id, so a restarted trial resumes from its last checkpoint.

The trial's config holds the searched values by canonical path plus the whole fixed experiment
under ``"experiment"``, so loggers record the complete configuration of every run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from raytrack.config.legacy import load_dumped
from raytrack.config.schema import Experiment
from raytrack.probe import emit, probe_settings, use_probe
from raytrack.train.epoch_log import EPOCH_LOG
from raytrack.train.failures import (
    FAILURE_FILE,
    RepeatingFailure,
    raise_recorded,
    record_failure,
)

EXPERIMENT_KEY = "experiment"
TRAIN_CONTROLLER_FAILURE_LIMIT = 3


def searched_values(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key != EXPERIMENT_KEY}


def trial_experiment(config: Mapping[str, Any]) -> Experiment:
    """The complete experiment of one trial: the fixed file with the sampled values applied."""
    from raytrack.config import apply_trial_config

    base = load_dumped(config[EXPERIMENT_KEY])
    return apply_trial_config(base, searched_values(config))


def run_trial(
    config: dict[str, Any],
    *,
    store_path: str,
    splits: dict[str, list[int]],
    storage_path: str,
    artifact_dir: str | None = None,
    probe: dict[str, str] | None = None,
) -> None:
    """The Tune function trainable (bound with ``tune.with_parameters``).

    ``artifact_dir``: the sweep's directory for what its trials share (see
    :class:`~raytrack.tasks.base.TaskContext`); ``probe``: the driver's probe hook
    settings (:mod:`raytrack.probe`), set again in this process.
    """
    from raytrack.tasks.base import TaskContext

    use_probe(probe)
    emit("trial_begin", trial=_trial_id())

    for name in ("ray.tune", "ray.train"):  # per-checkpoint INFO lines drown the progress view
        logging.getLogger(name).setLevel(logging.WARNING)
    experiment = trial_experiment(config)
    if artifact_dir is not None:
        Path(artifact_dir).mkdir(parents=True, exist_ok=True)
    context = TaskContext(store_path=store_path, splits=splits, artifact_dir=artifact_dir)
    trial_dir = _trial_dir(storage_path)
    marker = str(Path(trial_dir) / FAILURE_FILE) if trial_dir else None
    raise_recorded(marker)  # a retry of a trial that failed for its settings ends at once
    if trial_dir is not None and _report_if_finished(experiment, storage_path, trial_dir):
        return
    try:
        if experiment.train.workers == 1:
            _run_in_trial(experiment, store_path, splits, context, trial_dir)
        else:
            _run_ddp(experiment, store_path, splits, storage_path, context, trial_dir)
    except RepeatingFailure as failure:
        record_failure(marker, failure)
        raise
    except Exception:
        raise_recorded(marker)  # a DDP worker recorded why (Ray wraps its error)
        raise


def _report_if_finished(experiment: Experiment, storage_path: str, trial_dir: str) -> bool:
    """A trial the driver did not see finish (it died first) finished: report its last epoch
    again, train nothing. True when it had."""
    from ray import tune

    from raytrack.train.epoch_log import fill_missing_records, finished_run

    context = tune.get_context()
    roots = [trial_dir]
    if experiment.train.workers > 1:
        roots = [str(Path(storage_path) / ddp_run_name(context.get_experiment_name(),
                                                       context.get_trial_id()))]  # fmt: skip
    metrics = finished_run(roots, experiment.train.max_epochs)
    if metrics is None:
        return False
    fill_missing_records(Path(trial_dir) / EPOCH_LOG, roots)
    tune.report(metrics)
    return True


def _trial_id() -> str | None:
    from ray import tune

    try:
        return tune.get_context().get_trial_id()
    except (AttributeError, RuntimeError):
        return None


def trial_dirname(trial_id: str) -> str:
    """The directory name of a trial in its sweep (short: Ray's default spells out the config)."""
    return f"trial_{trial_id}"


def _trial_dir(storage_path: str) -> str | None:
    """This trial's directory on the sweep's storage (every node shares it; Tune's own
    ``get_trial_dir`` is a staging directory on the driver's node), or None outside Tune."""
    from ray import tune

    try:
        context = tune.get_context()
        experiment_name, trial_id = context.get_experiment_name(), context.get_trial_id()
    except (AttributeError, RuntimeError):
        return None
    if not experiment_name or not trial_id:
        return None
    return str(Path(storage_path) / experiment_name / trial_dirname(trial_id))


def store_row_source(store_path: str, splits: Mapping[str, list[int]]):
    """``source(split, epoch)`` streaming a split's rows straight from the Parquet store."""
    from raytrack.store.sample_store import SampleStore

    store = SampleStore(store_path)

    def source(split: str, epoch: int) -> Iterator[Any]:
        return store.iter_rows(ids=splits[split])

    return source


def _run_in_trial(
    experiment: Experiment, store_path: str, splits: dict[str, list[int]], context: Any,
    trial_dir: str | None,
) -> None:  # fmt: skip
    from raytrack.train.loop import run_training
    from raytrack.train.session import TrialSession, pick_device

    device = pick_device(experiment.train.gpus_per_worker)
    source = store_row_source(store_path, splits)
    run_training(experiment, TrialSession(source, device, context, trial_dir))


def _worker_loop(config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker."""
    from raytrack.store.stream import iter_dataset_rows
    from raytrack.tasks.base import TaskContext
    from raytrack.train.loop import run_training
    from raytrack.train.session import WorkerSession

    use_probe(config.get("probe"))
    marker = config.get("failure_file")
    raise_recorded(marker)  # Ray Train's retry of a worker group that failed for its settings
    experiment = load_dumped(config[EXPERIMENT_KEY])
    key = config.get("key")  # the store's row key, so rows never depend on finding it again
    context = TaskContext(**config["context"]) if config.get("context") else None
    finite = config.get("finite", ())  # the columns the store promises hold no NaN or infinity
    rows = WorkerSession(
        lambda shard, epoch: iter_dataset_rows(shard, key=key, finite=finite),
        context,
        epoch_log=config.get("epoch_log"),
        checkpoint_root=config.get("checkpoint_root"),
    )
    try:
        run_training(experiment, rows)
    except RepeatingFailure as failure:
        record_failure(marker, failure)
        raise


def ddp_run_name(experiment_name: str, trial_id: str) -> str:
    """The Ray Train run of a DDP trial (under the sweep's storage; its checkpoints live there)."""
    return f"{experiment_name}-ddp-{trial_id}"


def _run_ddp(
    experiment: Experiment,
    store_path: str,
    splits: dict[str, list[int]],
    storage_path: str,
    task_context: Any,
    trial_dir: str | None,
) -> None:
    import dataclasses

    import ray.train
    from ray import tune
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    from raytrack.store.sample_store import SampleStore
    from raytrack.store.stream import shard_data_config, trial_dataset
    from raytrack.tune.resources import worker_resources

    train = experiment.train
    use_gpu = train.gpus_per_worker > 0
    resources = worker_resources(train)
    store = SampleStore(store_path)
    context = tune.get_context()
    run_name = ddp_run_name(context.get_experiment_name(), context.get_trial_id())
    trainer = TorchTrainer(
        train_loop_per_worker=_worker_loop,
        train_loop_config={
            EXPERIMENT_KEY: experiment.model_dump(mode="json"),
            "key": store.key,
            "finite": sorted(store.finite_columns),
            "failure_file": str(Path(trial_dir) / FAILURE_FILE) if trial_dir else None,
            "epoch_log": str(Path(trial_dir) / EPOCH_LOG) if trial_dir else None,
            "checkpoint_root": str(Path(storage_path) / run_name),
            "context": dataclasses.asdict(task_context),
            "probe": probe_settings(),
        },
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        scaling_config=ray.train.ScalingConfig(
            num_workers=train.workers, use_gpu=use_gpu, resources_per_worker=resources
        ),
        # read once per trial: epochs stream the decoded blocks from the object store
        datasets={
            split: trial_dataset(store, splits[split], train.workers) for split in ("train", "val")
        },
        dataset_config=shard_data_config(),
        run_config=ray.train.RunConfig(
            name=run_name,
            storage_path=storage_path,
            callbacks=[TuneReportCallback()],
            failure_config=ray.train.FailureConfig(
                max_failures=1, controller_failure_limit=TRAIN_CONTROLLER_FAILURE_LIMIT
            ),
            # Keep the best epoch's checkpoint (best.json points at it), not just the last two.
            checkpoint_config=ray.train.CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute=experiment.tune.metric,
                checkpoint_score_order=experiment.tune.mode,
            ),
        ),
    )
    trainer.fit()
