"""``raytrack report SWEEP_DIR``: the leaderboard and best config of a finished or running sweep."""

from __future__ import annotations

import argparse


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="leaderboard and best config of a sweep")
    report.add_argument("sweep", help="sweep directory")
    report.add_argument("--top", type=int, default=10, help="rows of the leaderboard")
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from ray.tune import ExperimentAnalysis, ResultGrid

    from raytrack.tune.commands import _finish
    from raytrack.tune.tuner import Sweep

    sweep = Sweep.load(args.sweep)
    results = ResultGrid(ExperimentAnalysis(str(sweep.path)))
    return _finish(results, sweep, top=args.top)
