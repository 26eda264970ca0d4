"""The ``raytrack`` command line: ``tune | train | validate | evaluate | generate | convert | …``.

Each area of the package owns its subcommands in a small ``commands`` module with an
``add_commands(subparsers)`` function, and each family may add its own (:mod:`raytrack.family`);
heavy imports (ray, torch) happen inside the command functions so that ``raytrack validate``
answers in about a second.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "raytrack.tune.commands",
    "raytrack.data.commands",
    "raytrack.config.commands",
    "raytrack.pipeline.commands",
    "raytrack.store.commands",
)


def build_parser() -> argparse.ArgumentParser:
    from raytrack import __version__
    from raytrack.family import resolve
    from raytrack.registry import families

    parser = argparse.ArgumentParser(
        prog="raytrack",
        description="Train and tune tracking and reconstruction models on Ray.",
    )
    parser.add_argument("--version", action="version", version=f"raytrack {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    for family in families():
        for ref in family.commands:
            resolve(ref, f"commands of family {family.name!r}")(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from raytrack.config.errors import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:  # every problem of the file, before any work started
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
