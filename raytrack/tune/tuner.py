"""Tuner assembly: searcher + scheduler + resources + loggers + storage, and sweep resume.

A sweep lives in ``<storage>/<name>-<timestamp>/``: Ray Tune's experiment state and trial
directories, plus raytrack's ``sweep.json`` (what a resume needs: the fixed experiment, the
store and the event splits) and, at the end, the results written by
:mod:`raytrack.tune.results`.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from raytrack.config.legacy import load_dumped
from raytrack.config.schema import Experiment
from raytrack.config.search import epoch_budget, trial_epochs
from raytrack.data.build import open_store, resolve_path, splits_of
from raytrack.tune.resources import default_concurrency, placement_problem, trial_resources
from raytrack.tune.trainable import EXPERIMENT_KEY, run_trial

SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class Sweep:
    """What a sweep's driver needs, saved as ``sweep.json`` so that ``resume`` needs nothing else."""

    name: str
    storage_root: str
    experiment: dict[str, Any]
    store_path: str
    splits: dict[str, list[int]]

    @property
    def path(self) -> Path:
        return Path(self.storage_root) / self.name

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / SWEEP_FILE).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Sweep:
        file = Path(path) / SWEEP_FILE
        if not file.is_file():
            raise FileNotFoundError(f"{path} is not a raytrack sweep directory (no {SWEEP_FILE})")
        return cls(**json.loads(file.read_text()))

    def experiment_model(self) -> Experiment:
        return load_dumped(self.experiment)


def connected_to_cluster() -> bool:
    """True when raytrack runs against an existing Ray cluster rather than one it started."""
    return bool(os.environ.get("RAY_ADDRESS"))


def init_ray(address: str | None = None) -> None:
    """Connect to ``address`` / ``RAY_ADDRESS``, or start a local Ray with every core."""
    import ray

    # A worker group that cannot be placed fails after this long instead of waiting forever.
    os.environ.setdefault("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", "120")
    # Train V2's controller polls its workers every 2 s, so each ray.train.report waited ~1 s
    # and a DDP trial's end 4-5 s; polling every 0.25 s cut both (benchmarks/sweep_overhead.md).
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")
    # Workers of a local Ray inherit these: raytrack prints its own progress.
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Ray's W&B callback blocks ~1 s on each trial's first result while that trial's queue
    # actor starts; only warn about driver stalls well beyond that.
    os.environ.setdefault("TUNE_WARN_THRESHOLD_S", "5")
    if ray.is_initialized():
        return
    if address:
        os.environ["RAY_ADDRESS"] = address
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, configure_logging=False)
    else:
        ray.init(include_dashboard=False, configure_logging=False)


def prepare_sweep(experiment: Experiment, *, name: str | None = None) -> Sweep:
    """Resolve storage, open (or build) the sample store and split its samples."""
    store = open_store(experiment)
    splits = splits_of(experiment.data, store)
    storage_root = resolve_path(experiment.storage)
    sweep = Sweep(
        name=name or f"{experiment.name}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_root=str(storage_root),
        experiment=experiment.model_dump(mode="json"),
        store_path=str(store.path),
        splits=splits.as_dict(),
    )
    sweep.save()
    return sweep


def _trainable(sweep: Sweep, experiment: Experiment) -> Any:
    from ray import tune

    bound = tune.with_parameters(
        run_trial,
        store_path=sweep.store_path,
        splits=sweep.splits,
        storage_path=sweep.storage_root,
        artifact_dir=str(sweep.path / "artifacts"),
    )
    return tune.with_resources(bound, trial_resources(experiment.train))


def _searcher(experiment: Experiment, max_concurrent: int) -> Any:
    """The search algorithm; Tune's ``max_concurrent_trials`` only limits real Searchers, so the
    variant generator of random and grid search gets the limit itself. A fixed experiment (no
    ``search``, e.g. a sweep's ``best.yaml``) has nothing for Optuna to sample: it runs as is."""
    tune_cfg = experiment.tune
    if uses_optuna(experiment):
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        # TPE starts after a few random trials: a third of the budget, between 2 and 10.
        startup = min(10, max(2, tune_cfg.num_samples // 3))
        return OptunaSearch(
            sampler=optuna.samplers.TPESampler(seed=tune_cfg.seed, n_startup_trials=startup)
        )
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(random_state=tune_cfg.seed, max_concurrent=max_concurrent)


def uses_optuna(experiment: Experiment) -> bool:
    """Whether the sweep samples with Optuna: its searcher says so and there is a space to sample."""
    return experiment.tune.searcher == "optuna" and bool(experiment.search)


def _scheduler(experiment: Experiment) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    sched = experiment.tune.scheduler
    if sched.name == "fifo":
        return FIFOScheduler()
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=epoch_budget(experiment),
        grace_period=sched.grace_period,
        reduction_factor=sched.reduction_factor,
        brackets=sched.brackets,
    )


def build_tuner(sweep: Sweep, *, verbose: int = 1) -> Any:
    """A ready :class:`ray.tune.Tuner` for ``sweep`` (Ray must be initialised).

    ``verbose``: 0 silent, 1 raytrack's live progress lines, 2 those and Ray Tune's own tables.
    """
    import ray
    from ray import tune

    from raytrack.config import tune_search_space
    from raytrack.tune.loggers import logger_callbacks
    from raytrack.tune.progress import ProgressPrinter

    experiment = sweep.experiment_model()
    cluster = ray.cluster_resources()
    problem = placement_problem(experiment.train, cluster)
    if problem and not connected_to_cluster():
        raise RuntimeError(problem)
    if problem:  # an autoscaling cluster may still add the nodes
        print(f"raytrack: warning: {problem} (waiting for the cluster to scale up)")
    tune_cfg = experiment.tune
    domains = tune_search_space(experiment)
    callbacks = logger_callbacks(experiment, Path(sweep.storage_root), sweep.name)
    if verbose >= 1:
        epochs_of = functools.partial(trial_epochs, experiment)
        callbacks.append(ProgressPrinter(tune_cfg.metric, tune_cfg.mode, epochs_of))
    fixed = experiment.model_copy(update={"search": {}}).model_dump(mode="json")
    concurrency = tune_cfg.max_concurrent_trials or default_concurrency(experiment.train, cluster)
    return tune.Tuner(
        _trainable(sweep, experiment),
        param_space={EXPERIMENT_KEY: fixed, **domains},
        tune_config=tune.TuneConfig(
            metric=tune_cfg.metric,
            mode=tune_cfg.mode,
            search_alg=_searcher(experiment, concurrency),
            scheduler=_scheduler(experiment),
            num_samples=tune_cfg.num_samples,
            max_concurrent_trials=concurrency if uses_optuna(experiment) else None,
            time_budget_s=tune_cfg.time_budget_s,
            trial_name_creator=trial_name,
            reuse_actors=True,
            trial_dirname_creator=trial_name,
        ),
        run_config=tune.RunConfig(
            name=sweep.name,
            storage_path=sweep.storage_root,
            callbacks=callbacks,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute=tune_cfg.metric,
                checkpoint_score_order=tune_cfg.mode,
            ),
            failure_config=tune.FailureConfig(max_failures=2),
            verbose=max(0, verbose - 1),
        ),
    )


def run_sweep(
    experiment: Experiment, *, name: str | None = None, address: str | None = None, verbose: int = 1
) -> tuple[Sweep, Any]:
    """Run ``experiment``'s sweep to the end: ``(sweep, SweepSummary)`` with its result files written."""
    from raytrack.tune.results import summarize_results

    sweep = prepare_sweep(experiment, name=name)
    print(f"raytrack: sweep directory {sweep.path}")
    init_ray(address)
    results = build_tuner(sweep, verbose=verbose).fit()
    return sweep, summarize_results(results, sweep)


def trial_name(trial: Any) -> str:
    """Short trial names and directories (Ray's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


def restore_tuner(sweep: Sweep) -> Any:
    """The tuner of an interrupted sweep: finished trials stay, the rest continue."""
    from ray import tune

    experiment = sweep.experiment_model()
    return tune.Tuner.restore(
        str(sweep.path),
        trainable=_trainable(sweep, experiment),
        resume_unfinished=True,
        resume_errored=True,
    )
