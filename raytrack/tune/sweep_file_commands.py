"""``raytrack import-sweep`` and ``raytrack export-sweep``: W&B sweep files in and out.

The translation itself is :mod:`raytrack.config.wandb_sweep`; these commands read and write the
files, apply ``--set`` overrides, validate the result and list, on stderr and in a comment block
at the top of the written YAML, everything the other side cannot express.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from raytrack.errors import UserError

SET_HELP = "override a setting of the result: dotted KEY, YAML VALUE (repeatable)"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    imported = subparsers.add_parser(
        "import-sweep",
        help="turn a W&B sweep file into a raytrack experiment",
        description=(
            "Translate a W&B sweep file (method, metric, parameters, early_terminate, run_cap) "
            "onto a base experiment: its search space, searcher, metric, scheduler and sample "
            "count replace the base's. Parameter keys are raytrack search keys (hidden, "
            "train.optimizer.lr, regime.pid). What cannot be translated is listed on stderr and "
            "in the written file. The result is validated; exit 1 names the failing key."
        ),
    )
    imported.add_argument("sweep_file", help="W&B sweep YAML file")
    imported.add_argument(
        "--base", required=True, help="experiment YAML with the model, data and training settings"
    )
    imported.add_argument("-o", "--out", help="experiment YAML to write (default: stdout)")
    imported.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    imported.set_defaults(run=_import)

    exported = subparsers.add_parser(
        "export-sweep",
        help="write the W&B sweep file of an experiment",
        description=(
            "Write the W&B sweep file (method, metric, parameters, early_terminate, run_cap) of "
            "an experiment's search, keyed by canonical paths (model.hparams.hidden). It has no "
            "program or command: raytrack runs the trials itself (`raytrack tune`), so the file "
            "is for `wandb sweep` registration and sharing. What W&B cannot express is listed on "
            "stderr and in the written file."
        ),
    )
    exported.add_argument("experiment", help="experiment YAML file")
    exported.add_argument("-o", "--out", help="sweep YAML to write (default: stdout)")
    exported.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    exported.set_defaults(run=_export)


def _import(args: argparse.Namespace) -> int:
    from raytrack.config.errors import ConfigError
    from raytrack.config.loader import read_yaml
    from raytrack.config.overrides import apply_overrides
    from raytrack.config.validate import validate_experiment
    from raytrack.config.wandb_sweep import import_sweep

    for path in (args.sweep_file, args.base):
        _, _, duplicates = read_yaml(path)
        if duplicates:  # PyYAML would keep the last one without a word
            raise ConfigError(duplicates, path)
    sweep, base = read_yaml(args.sweep_file)[0], read_yaml(args.base)[0]
    try:
        data, notes = import_sweep(sweep, base)
    except ValueError as err:
        raise UserError(f"{args.sweep_file}: {err}") from None
    data = apply_overrides(data, args.set)
    source = f"{args.sweep_file} imported onto {args.base}"
    try:
        experiment = validate_experiment(data, source=source)
    except ConfigError as err:
        raise ConfigError(err.problems, source) from None
    _report(notes, "not translated", "import-sweep")
    header = [
        f"raytrack experiment imported from the W&B sweep {Path(args.sweep_file).name} onto "
        f"{Path(args.base).name} by `raytrack import-sweep`.",
        f"{len(experiment.search)} searched setting(s), searcher {experiment.tune.searcher}, "
        f"scheduler {experiment.tune.scheduler.name}.",
    ]
    _write(data, header, notes, "Not translated from the W&B sweep", args.out)
    return 0


def _export(args: argparse.Namespace) -> int:
    from raytrack.config.loader import load_experiment
    from raytrack.config.wandb_sweep import export_sweep

    experiment = load_experiment(args.experiment, overrides=args.set)
    sweep, notes = export_sweep(experiment)
    _report(notes, "not expressible in W&B", "export-sweep")
    header = [
        f"W&B sweep of {Path(args.experiment).name}, written by `raytrack export-sweep`.",
        f"No program/command: raytrack runs the trials itself (`raytrack tune "
        f"{Path(args.experiment).name}`); register it with `wandb sweep` to share the space.",
    ]
    _write(sweep, header, notes, "Not expressible in W&B", args.out)
    return 0


def _report(notes: list[Any], what: str, command: str) -> None:
    for note in notes:
        print(f"raytrack {command}: {what}: {note.format()}", file=sys.stderr)


def _write(
    data: dict[str, Any], header: list[str], notes: list[Any], title: str, out: str | None
) -> None:
    """``data`` as YAML after a comment block: ``header``, then ``notes`` under ``title``."""
    import yaml

    lines = [f"# {line}" for line in header]
    if notes:
        lines += [f"# {title}:"] + [f"#   - {note.format()}" for note in notes]
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    text = "\n".join(lines) + "\n" + body
    if out is None:
        sys.stdout.write(text)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
