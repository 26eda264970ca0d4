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
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from raytrack.config.legacy import load_dumped
from raytrack.config.schema import Experiment
from raytrack.config.search import epoch_budget, trial_epochs
from raytrack.data.build import open_store, resolve_path, splits_of
from raytrack.errors import UserError
from raytrack.probe import emit, probe_settings, probing
from raytrack.tune.preflight import preflight, sweep_taken
from raytrack.tune.ray_session import connected_to_cluster, init_ray  # noqa: F401 (re-exported)
from raytrack.tune.resources import default_concurrency, placement_problem, trial_resources
from raytrack.tune.trainable import EXPERIMENT_KEY, run_trial, trial_dirname

SWEEP_FILE = "sweep.json"
OPTUNA_DB = "optuna.db"  # the stored Optuna study (see _searcher)


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
        try:
            return cls(**json.loads(file.read_text()))
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{file} is damaged ({err}); raytrack writes it when a sweep starts"
            ) from None

    def experiment_model(self) -> Experiment:
        return load_dumped(self.experiment)


def prepare_sweep(
    experiment: Experiment, *, name: str | None = None, overwrite: bool = False
) -> Sweep:
    """Open (or build) the sample store, split its samples and create the sweep's directory.

    The directory is created atomically: a given ``name`` that exists is an error unless
    ``overwrite`` (the old sweep is then moved aside and removed when the new one finishes); a
    default ``<name>-<timestamp>`` that exists gets a suffix.
    """
    store = open_store(experiment)
    splits = splits_of(experiment.data, store)
    storage_root = resolve_path(experiment.storage)
    storage_root.mkdir(parents=True, exist_ok=True)
    chosen = name or f"{experiment.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if name is not None and overwrite and (storage_root / name).exists():
        replaced = storage_root / f".{name}.replaced-{uuid.uuid4().hex[:8]}"
        os.replace(storage_root / name, replaced)
    for attempt in range(100):
        candidate = chosen if attempt == 0 else f"{chosen}-{attempt + 1}"
        try:
            (storage_root / candidate).mkdir()
            break
        except FileExistsError:
            if name is not None:
                raise UserError(
                    sweep_taken(storage_root, name) or f"{storage_root / name} exists"
                ) from None
    else:
        raise UserError(f"cannot create a sweep directory for {chosen!r} in {storage_root}")
    sweep = Sweep(
        name=candidate,
        storage_root=str(storage_root),
        experiment=experiment.model_dump(mode="json"),
        store_path=str(store.path),
        splits=splits.as_dict(),
    )
    sweep.save()
    return sweep


def remove_replaced(sweep: Sweep) -> None:
    """After a sweep that replaced an older one of its name finished: remove the old one."""
    for old in Path(sweep.storage_root).glob(f".{sweep.name}.replaced-*"):
        shutil.rmtree(old, ignore_errors=True)


def _trainable(sweep: Sweep, experiment: Experiment) -> Any:
    from ray import tune

    bound = tune.with_parameters(
        run_trial,
        store_path=sweep.store_path,
        splits=sweep.splits,
        storage_path=sweep.storage_root,
        artifact_dir=str(sweep.path / "artifacts"),
        probe=probe_settings(),
    )
    return tune.with_resources(bound, trial_resources(experiment.train))


def _searcher(experiment: Experiment, max_concurrent: int, sweep_dir: Path | None = None) -> Any:
    """The search algorithm; Tune's ``max_concurrent_trials`` only limits real Searchers, so the
    variant generator of random and grid search gets the limit itself. A fixed experiment (no
    ``search``, e.g. a sweep's ``best.yaml``) has nothing for Optuna to sample: it runs as is.

    Optuna's study is stored in ``<sweep_dir>/optuna.db`` (SQLite), named after the sweep, so
    ``optuna-dashboard sqlite:///<sweep_dir>/optuna.db`` opens it. The storage pickles by its
    URL (Optuna rebuilds the engine), so Tune's saved searcher state still restores on resume.
    """
    tune_cfg = experiment.tune
    if uses_optuna(experiment):
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        # TPE starts after a few random trials: a third of the budget, between 2 and 10.
        startup = min(10, max(2, tune_cfg.num_samples // 3))
        stored = {}
        if sweep_dir is not None:
            url = f"sqlite:///{Path(sweep_dir).resolve() / OPTUNA_DB}"
            stored = {"storage": optuna.storages.RDBStorage(url), "study_name": sweep_dir.name}
        return OptunaSearch(
            sampler=optuna.samplers.TPESampler(seed=tune_cfg.seed, n_startup_trials=startup),
            **stored,
        )
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(random_state=tune_cfg.seed, max_concurrent=max_concurrent)


def uses_optuna(experiment: Experiment) -> bool:
    """Whether the sweep samples with Optuna: its searcher says so and there is a space to sample."""
    return experiment.tune.searcher == "optuna" and bool(experiment.search)


def _scheduler(experiment: Experiment, sweep_dir: Path) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    from raytrack.tune.early_stops import RecordingASHA

    sched = experiment.tune.scheduler
    if sched.name == "fifo":
        return FIFOScheduler()
    return RecordingASHA(
        sweep_dir,
        # The trial's own epoch count: Tune's training_iteration restarts from its saved state
        # when a sweep resumes, while a trial resumes from its newest checkpoint.
        time_attr="epoch",
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
    from raytrack.tune.pruning import CheckpointPruner

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
    if probing():
        from raytrack.tune.probe_callbacks import ProbeCallback

        callbacks.insert(0, ProbeCallback())
    callbacks.append(CheckpointPruner(sweep.path, tune_cfg.metric, tune_cfg.mode))
    if verbose >= 1:
        epochs_of = functools.partial(trial_epochs, experiment)
        callbacks.append(
            ProgressPrinter(
                tune_cfg.metric, tune_cfg.mode, epochs_of, planned_trials(domains, tune_cfg)
            )
        )
    concurrency = tune_cfg.max_concurrent_trials or default_concurrency(experiment.train, cluster)
    return tune.Tuner(
        _trainable(sweep, experiment),
        param_space=param_space(experiment, domains),
        tune_config=tune.TuneConfig(
            metric=tune_cfg.metric,
            mode=tune_cfg.mode,
            search_alg=_searcher(experiment, concurrency, sweep.path),
            scheduler=_scheduler(experiment, sweep.path),
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
            # Tune deletes nothing: CheckpointPruner deletes only what its saved state has passed.
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_score_attribute=tune_cfg.metric, checkpoint_score_order=tune_cfg.mode
            ),
            failure_config=tune.FailureConfig(max_failures=2),
            verbose=max(0, verbose - 1),
        ),
    )


def planned_trials(domains: dict[str, Any], tune_cfg: Any) -> int:
    """How many trials the sweep runs: ``num_samples`` times each grid entry's length."""
    total = tune_cfg.num_samples
    for domain in domains.values():
        if isinstance(domain, dict) and "grid_search" in domain:
            total *= len(domain["grid_search"])
    return total


def run_sweep(
    experiment: Experiment,
    *,
    name: str | None = None,
    address: str | None = None,
    verbose: int = 1,
    overwrite: bool = False,
) -> tuple[Sweep, Any]:
    """Run ``experiment``'s sweep to the end: ``(sweep, SweepSummary)`` with its result files written.

    Raises :class:`~raytrack.errors.UserError` listing every :func:`preflight` problem before
    anything is built or Ray starts.
    """
    from raytrack.tune.best_artifacts import log_best_artifacts
    from raytrack.tune.results import summarize_results

    emit("sweep_start")
    problems = preflight(experiment, name=name, address=address, overwrite=overwrite)
    if problems:
        raise UserError("; ".join(problems))
    emit("preflight_end")
    sweep = prepare_sweep(experiment, name=name, overwrite=overwrite)
    emit("sweep_prepared")
    print(f"raytrack: sweep directory {sweep.path}")
    started = time.perf_counter()
    init_ray(address)
    emit("ray_ready", seconds=time.perf_counter() - started)
    tuner = build_tuner(sweep, verbose=verbose)
    emit("tuner_built")
    results = tuner.fit()
    emit("fit_end")
    summary = summarize_results(results, sweep)
    log_best_artifacts(experiment, sweep.path, Path(sweep.storage_root))
    final_prune(sweep)
    remove_replaced(sweep)
    emit("results_written")
    emit("sweep_end")
    return sweep, summary


def final_prune(sweep: Sweep) -> None:
    """Prune the checkpoints once more after the sweep's state was saved for the last time."""
    from raytrack.tune.pruning import CheckpointPruner

    experiment = sweep.experiment_model()
    CheckpointPruner(sweep.path, experiment.tune.metric, experiment.tune.mode).prune(margin=0)


def param_space(experiment: Experiment, domains: dict[str, Any] | None = None) -> dict[str, Any]:
    """What Tune samples each trial's config from: the searched settings' domains and the whole
    fixed experiment (Tune does not save it: a restore needs it given again)."""
    from raytrack.config import tune_search_space

    fixed = experiment.model_copy(update={"search": {}}).model_dump(mode="json")
    return {
        EXPERIMENT_KEY: fixed,
        **(tune_search_space(experiment) if domains is None else domains),
    }


def trial_name(trial: Any) -> str:
    """Short trial names and directories (Ray's default spells out the whole config)."""
    return trial_dirname(trial.trial_id)


def restore_tuner(sweep: Sweep) -> Any:
    """The tuner of an interrupted sweep: finished trials stay, the rest continue."""
    from ray import tune

    experiment = sweep.experiment_model()
    return tune.Tuner.restore(
        str(sweep.path),
        trainable=_trainable(sweep, experiment),
        # a sweep killed before Tune saved its trials restarts them from this
        param_space=param_space(experiment),
        resume_unfinished=True,
        resume_errored=True,
    )
