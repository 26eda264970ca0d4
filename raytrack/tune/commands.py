"""``raytrack tune | train | resume`` (``report`` lives in :mod:`raytrack.tune.report_command`).

Every command validates the experiment file completely before Ray starts, so a typo fails in
about a second with every problem listed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from raytrack.errors import UserError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    tune = subparsers.add_parser("tune", help="run the sweep an experiment file describes")
    tune.add_argument("experiment", help="experiment YAML file")
    tune.add_argument("--name", help="sweep directory name (default: <name>-<timestamp>)")
    tune.add_argument(
        "--overwrite", action="store_true", help="replace an existing sweep of this --name"
    )
    tune.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting of the file: dotted KEY, YAML VALUE (repeatable), "
        "e.g. --set train.max_epochs=2; validated like the file, saved with the sweep",
    )
    _ray_options(tune)
    tune.set_defaults(run=_tune)

    train = subparsers.add_parser(
        "train", help="train one fixed experiment (e.g. a sweep's best.yaml) as a single trial"
    )
    train.add_argument("experiment", help="experiment YAML file without a search section")
    train.add_argument("--name", help="run directory name (default: <name>-<timestamp>)")
    train.add_argument(
        "--overwrite", action="store_true", help="replace an existing run of this --name"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting of the file: dotted KEY, YAML VALUE (repeatable)",
    )
    _ray_options(train)
    train.set_defaults(run=_train)

    resume = subparsers.add_parser("resume", help="continue an interrupted sweep")
    resume.add_argument("sweep", help="sweep directory (printed when the sweep started)")
    _ray_options(resume)
    resume.set_defaults(run=_resume)


def _ray_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray is started)"
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="0 quiet, 1 live progress lines (default), 2 also Ray Tune's own tables",
    )


def _tune(args: argparse.Namespace) -> int:
    from raytrack.config import load_experiment

    return _run_sweep(load_experiment(args.experiment, overrides=args.set), args)


def _train(args: argparse.Namespace) -> int:
    from raytrack.config import load_experiment
    from raytrack.config.resolve import fixed_run

    experiment = load_experiment(args.experiment, overrides=args.set)
    try:
        experiment = fixed_run(experiment)
    except ValueError as err:
        raise UserError(f"{args.experiment}: {err} (`raytrack tune`)") from None
    return _run_sweep(experiment, args)


def _run_sweep(experiment: Any, args: argparse.Namespace) -> int:
    from raytrack.tune.tuner import run_sweep

    sweep, summary = run_sweep(
        experiment,
        name=args.name,
        address=args.address,
        verbose=args.verbose,
        overwrite=args.overwrite,
    )
    return print_summary(summary, sweep)


def _resume(args: argparse.Namespace) -> int:
    from raytrack.tune.best_artifacts import log_best_artifacts
    from raytrack.tune.tuner import Sweep, final_prune, init_ray, restore_tuner

    sweep = Sweep.load(args.sweep)
    init_ray(args.address)
    results = restore_tuner(sweep).fit()
    code = _finish(results, sweep)
    log_best_artifacts(sweep.experiment_model(), sweep.path, Path(sweep.storage_root))
    final_prune(sweep)
    return code


def _finish(results: Any, sweep: Any, top: int = 10) -> int:
    from raytrack.tune.results import summarize_results

    return print_summary(summarize_results(results, sweep), sweep, top)


def print_summary(summary: Any, sweep: Any, top: int = 10) -> int:
    """Print a sweep's leaderboard and where its results are; 1 if no trial finished."""
    from raytrack.tune.results import leaderboard

    experiment = sweep.experiment_model()
    print(f"\nLeaderboard ({experiment.tune.metric}, {experiment.tune.mode}):")
    print(leaderboard(summary, experiment.tune.metric, top))
    if summary.best_yaml is None:
        _print_unfinished(summary.trials, sweep.path)
        print(
            f"\nno trial finished an epoch; see the trial logs under {sweep.path}", file=sys.stderr
        )
        return 1
    print(f"\nbest {experiment.tune.metric} = {summary.best_value:.4g}")
    print(f"best config:     {summary.best_yaml}   (re-run: raytrack train {summary.best_yaml})")
    print(f"best checkpoint: {summary.best_checkpoint}")
    print(f"all results:     {Path(sweep.path) / 'trials.csv'}, {Path(sweep.path) / 'history.csv'}")
    _print_unfinished(summary.trials, sweep.path)
    return 0


def _print_unfinished(trials: Any, path: Path) -> None:
    """What failed or was left over, and whether ``raytrack resume`` would help."""
    if "status" not in trials:
        return
    for _, row in trials[trials["status"].isin(["diverged", "build failed"])].iterrows():
        print(f"trial {row['trial_id']} {row['status']}: {row.get('error')}", file=sys.stderr)
    errors = int((trials["status"] == "error").sum())
    left = int((trials["status"] == "interrupted").sum())
    if errors or left:
        what = ", ".join(
            part
            for part in (f"{errors} trial(s) failed" if errors else "",
                         f"{left} interrupted" if left else "")
            if part
        )  # fmt: skip
        print(f"{what}; continue with: raytrack resume {path}", file=sys.stderr)
