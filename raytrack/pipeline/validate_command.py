"""``raytrack validate FILE [FILE ...]``: check experiment files without starting Ray."""

from __future__ import annotations

import argparse


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check experiment files and list every problem (exit 1 if any)",
        description=(
            "Validate each experiment FILE completely (schema, model, hyperparameters, regime "
            "keywords, dataset options, search space, tuner settings) without starting Ray; "
            "print every problem with its line and YAML path."
        ),
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="experiment YAML file")
    validate.set_defaults(run=_validate)


def summary(exp) -> str:
    """One line on a valid experiment: model, number of searched settings, searcher, scheduler."""
    count = len(exp.search)
    return (
        f"model {exp.model.name}, {count} searched setting{'s' if count != 1 else ''}, "
        f"searcher {exp.tune.searcher}, scheduler {exp.tune.scheduler.name}"
    )


def _validate(args: argparse.Namespace) -> int:
    from raytrack.config.errors import ConfigError
    from raytrack.config.loader import load_experiment

    status = 0
    for path in args.files:
        try:
            exp = load_experiment(path)
        except ConfigError as err:
            print(err)
            status = 1
        else:
            print(f"{path}: ok ({summary(exp)})")
    return status
