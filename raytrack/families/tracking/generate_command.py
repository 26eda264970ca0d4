"""``raytrack generate STORE --events N --seed S [--rfactor R --noise-ratio F ...]``.

Every field of :class:`~raytrack.families.tracking.simulate.SimulationSettings` is an option of the same name
(``b_field`` is ``--b-field``, booleans have a ``--no-`` form); options not given keep their
defaults. Settings are validated before anything is simulated.
"""

from __future__ import annotations

import argparse
import sys
import time
import typing
from typing import Any

from pydantic import ValidationError


def _option_type(annotation: Any) -> dict[str, Any]:
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        return {"choices": choices, "type": type(choices[0])}
    if annotation in (int, float, str):
        return {"type": annotation}
    raise TypeError(f"no command-line option type for {annotation!r}")


def add_commands(subparsers: Any) -> None:
    from raytrack.families.tracking.sim_settings import SimulationSettings

    parser = subparsers.add_parser(
        "generate",
        help="simulate TrackML-like events into a Parquet event store",
        description="Simulate TrackML-like events (helices in a solenoid field through a barrel "
        "and endcap silicon tracker, with multiple scattering, resolution smearing, noise and "
        "pile-up scaled by --rfactor) into a new Parquet event store. The same seed and "
        "settings always give the same store.",
    )
    parser.add_argument("store", metavar="STORE", help="directory of the event store to create")
    parser.add_argument("--events", type=int, required=True, help="number of events")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing store at STORE"
    )
    group = parser.add_argument_group("simulation settings")
    for name, field in SimulationSettings.model_fields.items():
        default = field.default
        option = _option_type(field.annotation)
        if "type" in option and "choices" not in option:
            option["metavar"] = name.upper()
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"setting_{name}",
            default=None,
            help=f"{field.description} (default: {default})",
            **option,
        )
    parser.set_defaults(run=run)


def settings_from_args(args: argparse.Namespace):
    """The :class:`SimulationSettings` of the options given on the command line."""
    from raytrack.families.tracking.sim_settings import SimulationSettings

    given = {
        name[len("setting_"):]: value
        for name, value in vars(args).items()
        if name.startswith("setting_") and value is not None
    }
    return SimulationSettings(**given)


def run(args: argparse.Namespace) -> int:
    from raytrack.families.tracking.simulate import generate_store

    if args.events < 1:
        print(
            f"raytrack generate: --events must be at least 1, but got {args.events}",
            file=sys.stderr,
        )
        return 2
    if args.seed < 0:
        print(
            f"raytrack generate: --seed must be non-negative, but got {args.seed}",
            file=sys.stderr,
        )
        return 2
    try:
        settings = settings_from_args(args)
    except ValidationError as err:
        lines = [
            f"  --{str(e['loc'][0]).replace('_', '-')}: {e['msg']} (got {e['input']!r})"
            if e["loc"]
            else f"  {e['msg']}"
            for e in err.errors()
        ]
        print("raytrack generate: invalid settings\n" + "\n".join(lines), file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        store = generate_store(
            args.store, args.events, args.seed, settings, overwrite=args.overwrite
        )
    except FileExistsError as err:
        print(f"raytrack generate: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    counts = store.metadata.get("counts", {})
    print(
        f"raytrack generate: wrote {counts.get('events', args.events)} events "
        f"({counts.get('hits', '?')} hits, {counts.get('particles', '?')} particles) to "
        f"{args.store} in {seconds:.1f} s (seed {args.seed})"
    )
    return 0
