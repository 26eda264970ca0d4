"""Bare Optuna, the baseline of part 2 of ``benchmarks/sweep_overhead.py``.

A driver (``--child optuna``) creates the study on one ``JournalStorage`` file and starts
``--concurrency`` worker processes (``--child optuna-worker``, through ``sweep_overhead.py``);
each runs ``study.optimize`` with TPE and ``SuccessiveHalvingPruner`` (min_resource = the ASHA
grace period, same reduction factor) until the experiment's ``num_samples`` trials exist. A trial
runs raytrack's loop through ``LocalSession`` (rows from ``store_row_source``) and reports the
tuned metric every epoch with ``trial.report`` / ``should_prune``. The search space is the one
Ray's ``OptunaSearch`` gets from raytrack's grammar. The driver writes a JSON summary (trials
completed / pruned / failed, best metric, epochs and their ``epoch_time_s``) to ``--summary``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("sweep_overhead.py")  # the entry point that dispatches --child


def _journal(path: str) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path))


def child_optuna(args: argparse.Namespace) -> int:
    import optuna

    from raytrack.config import load_experiment

    experiment = load_experiment(args.experiment)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(
        study_name="bench",
        storage=_journal(args.journal),
        direction="maximize" if experiment.tune.mode == "max" else "minimize",
    )
    command = [
        sys.executable,
        str(SCRIPT),
        "--child",
        "optuna-worker",
        "--experiment",
        args.experiment,
        "--journal",
        args.journal,
        "--work",
        args.work,
    ]
    workers = [subprocess.Popen([*command, "--worker", str(i)]) for i in range(args.concurrency)]
    codes = [worker.wait() for worker in workers]
    study = optuna.load_study(study_name="bench", storage=_journal(args.journal))
    states = [trial.state.name for trial in study.trials]
    values = [v for trial in study.trials for v in trial.intermediate_values.values()]
    best = (max if experiment.tune.mode == "max" else min)(values) if values else None
    epoch_times = [t for trial in study.trials for t in trial.user_attrs.get("epoch_time_s", [])]
    summary = {
        "codes": codes,
        "trials": len(states),
        "completed": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "best": best,
        "epochs": len(epoch_times),
        "epoch_time_s": sum(epoch_times),
    }
    Path(args.summary).write_text(json.dumps(summary))
    return 0 if all(code == 0 for code in codes) else 1


def child_optuna_worker(args: argparse.Namespace) -> int:
    import optuna

    from raytrack.config import apply_trial_config, load_experiment
    from raytrack.config.search import encode_choice, searched
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.data import event_splits, open_event_store
    from raytrack.tune.trainable import store_row_source

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    experiment = load_experiment(args.experiment)
    tune_cfg = experiment.tune
    store = open_event_store(experiment.data)
    source = store_row_source(str(store.path), event_splits(experiment.data, store).as_dict())
    specs = [(target.canonical, spec) for _, target, spec in searched(experiment)]

    def suggest(trial: Any, name: str, spec: Any) -> Any:  # as Ray's OptunaSearch translates them
        if spec.kind == "choice":
            return trial.suggest_categorical(name, [encode_choice(v) for v in spec.values])
        if spec.kind == "float":
            return trial.suggest_float(name, spec.low, spec.high, log=spec.log, step=spec.step)
        return trial.suggest_int(name, spec.low, spec.high, log=spec.log, step=spec.step or 1)

    class PruningSession(LocalSession):
        def __init__(self, trial: Any, root: Path) -> None:
            super().__init__(source, root)
            self.trial = trial

        def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
            super().report(metrics, checkpoint_dir)
            self.trial.set_user_attr("epoch_time_s", [r["epoch_time_s"] for r in self.reports])
            self.trial.report(float(metrics[tune_cfg.metric]), step=int(metrics["epoch"]))
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: Any) -> float:
        values = {name: suggest(trial, name, spec) for name, spec in specs}
        session = PruningSession(trial, Path(args.work) / f"trial_{trial.number:03d}")
        return float(run_training(apply_trial_config(experiment, values), session)[tune_cfg.metric])

    startup = min(10, max(2, tune_cfg.num_samples // 3))  # raytrack.tune.tuner._searcher's choice
    study = optuna.load_study(
        study_name="bench",
        storage=_journal(args.journal),
        sampler=optuna.samplers.TPESampler(
            seed=(tune_cfg.seed or 0) + args.worker, n_startup_trials=startup
        ),
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=tune_cfg.scheduler.grace_period,
            reduction_factor=int(tune_cfg.scheduler.reduction_factor),
        ),
    )
    study.optimize(
        objective, callbacks=[optuna.study.MaxTrialsCallback(tune_cfg.num_samples, states=None)]
    )
    return 0
