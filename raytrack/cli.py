"""The ``raytrack`` command line: ``tune | train | validate | generate | convert | report | resume``.

Each area of the package owns its subcommands in a small ``commands`` module with an
``add_commands(subparsers)`` function; heavy imports (ray, torch) happen inside the command
functions so that ``raytrack validate`` answers in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "raytrack.tune.commands",
    "raytrack.families.tracking.generate_command",
    "raytrack.families.tracking.convert_command",
    "raytrack.config.commands",
    "raytrack.pipeline.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raytrack",
        description="Train and tune tracking and reconstruction models on Ray.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
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
