"""``raytrack validate FILE [FILE ...]``: check experiment and pipeline files without starting Ray.

An experiment file is validated completely (schema, model, hyperparameters, regime keywords,
data source and options, search space, tuner and training settings), then checked against this
machine and its disk as ``tune`` would before starting (:mod:`raytrack.tune.preflight`). A
pipeline file (one with ``stages:``) is validated with every stage file and its evaluator.
Warnings (a setting its regime leaves dormant) are listed after the file's verdict; they do not
fail it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check experiment or pipeline files and list every problem (exit 1 if any)",
        description=(
            "Validate each FILE completely without starting Ray and print every problem with its "
            "line and YAML path: an experiment (schema, model, hyperparameters, regime keywords, "
            "data source, search space, tuner and training settings, then storage, store and "
            "resources on this machine) or a pipeline (its stages and evaluator)."
        ),
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="experiment or pipeline YAML file"
    )
    validate.add_argument(
        "--address", help="the Ray cluster the sweep will run on (skips the local resource check)"
    )
    validate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting of each experiment file, as `raytrack tune --set` does: "
        "dotted KEY, YAML VALUE (repeatable)",
    )
    validate.set_defaults(run=_validate)


def summary(exp: Any) -> str:
    """One line on a valid experiment: model, number of searched settings, searcher, scheduler."""
    count = len(exp.search)
    return (
        f"model {exp.model.name}, {count} searched setting{'s' if count != 1 else ''}, "
        f"searcher {exp.tune.searcher}, scheduler {exp.tune.scheduler.name}"
    )


def is_pipeline(path: str) -> bool:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the experiment loader reports it with its line
    return isinstance(data, dict) and "stages" in data


def check(path: str, address: str | None, overrides: list[str] | None = None) -> str:
    """``ok (...)`` for a valid file (with ``--set`` ``overrides`` applied to an experiment);
    raises the first problem otherwise."""
    from raytrack.config.loader import load_experiment
    from raytrack.errors import UserError
    from raytrack.tune.preflight import preflight

    if is_pipeline(path):
        from raytrack.pipeline.runner import load_pipeline

        if overrides:
            raise UserError(
                f"--set applies to experiment files, not to the pipeline {path}; "
                "validate its stage files with --set"
            )

        spec, experiments = load_pipeline(path)
        problems = preflight(experiments[0], address=address)
        if problems:
            raise UserError("; ".join(problems))
        evaluator = spec.evaluate.evaluator if spec.evaluate else "none"
        models = " → ".join(e.model.name for e in experiments)
        return f"ok (pipeline of {len(experiments)} stages: {models}; evaluator {evaluator})"
    experiment = load_experiment(path, overrides=overrides)
    problems = preflight(experiment, address=address)
    if problems:
        raise UserError("; ".join(problems))
    return f"ok ({summary(experiment)})"


def _validate(args: argparse.Namespace) -> int:
    import warnings

    from raytrack.config.errors import ConfigError, ConfigWarning
    from raytrack.errors import USER_ERRORS, one_line

    status = 0
    for path in args.files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConfigWarning)
            try:
                print(f"{path}: {check(path, args.address, args.set)}")
            except ConfigError as err:
                print(err)
                status = 1
            except USER_ERRORS as err:
                print(f"{path}: {one_line(err)}")
                status = 1
        # settings dormant under the file's regime (a pipeline may load a stage twice)
        shown = dict.fromkeys(str(w.message) for w in caught if w.category is ConfigWarning)
        for line in shown:
            print(line)
        for other in (w for w in caught if w.category is not ConfigWarning):
            warnings.showwarning(other.message, other.category, other.filename, other.lineno)
    return status
