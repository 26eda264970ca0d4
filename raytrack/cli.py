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
    "raytrack.tune.report_command",
    "raytrack.tune.sweep_file_commands",
    "raytrack.data.commands",
    "raytrack.pipeline.validate_command",
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
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not only its message"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    for family in families():
        for ref in family.commands:
            resolve(ref, f"commands of family {family.name!r}")(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 ok, 1 a user error (one line on stderr), 2 a usage error."""
    from raytrack.config.errors import ConfigError
    from raytrack.errors import USER_ERRORS, Terminated, one_line

    args = build_parser().parse_args(argv)
    _terminate_on_sigterm()
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:  # every problem of the file, before any work started
        if args.debug:
            raise
        print(error, file=sys.stderr)
        return 1
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"raytrack {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"raytrack {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"raytrack {args.command}: terminated", file=sys.stderr)
        return 143


def _terminate_on_sigterm() -> None:
    """Turn SIGTERM into :class:`~raytrack.errors.Terminated` (Python's default would exit
    without running cleanup); left alone when someone else already handles SIGTERM."""
    import signal
    import threading

    from raytrack.errors import Terminated

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    if threading.current_thread() is threading.main_thread() and signal.getsignal(
        signal.SIGTERM
    ) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, terminate)


if __name__ == "__main__":
    sys.exit(main())
