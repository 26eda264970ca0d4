"""``raytrack generate SOURCE STORE …`` and ``raytrack convert SOURCE PATH STORE …``.

One subcommand per registered data source: simulators under ``generate`` (``--events N
--seed S``), readers under ``convert`` (their ``path`` setting is the positional ``PATH``). Every
other field of the source's settings model is an option of the same name (``noise_ratio`` is
``--noise-ratio``, booleans have a ``--no-`` form, anything else ``--set name=value``); settings
are validated before anything is written.
"""

from __future__ import annotations

import argparse
import time
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from raytrack.config.paths import strip
from raytrack.errors import UserError


def _option(annotation: Any) -> dict[str, Any] | None:
    """argparse keywords for a settings field, or ``None`` when it needs ``--set``."""
    annotation = strip(annotation)
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        return {"choices": choices, "type": type(choices[0])}
    if annotation in (int, float, str):
        return {"type": annotation, "metavar": "VALUE"}
    return None


def _add_settings(
    parser: argparse.ArgumentParser, model: type[BaseModel], skip: tuple[str, ...]
) -> None:
    group = parser.add_argument_group("settings of this data source")
    for name, field in model.model_fields.items():
        option = _option(field.annotation)
        if name in skip or option is None:
            continue
        default = "required" if field.is_required() else f"default: {field.default}"
        group.add_argument(
            "--" + name.replace("_", "-"), dest=f"setting_{name}", default=None,
            help=f"{field.description or name} ({default})", **option,
        )  # fmt: skip
    group.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="any setting, the value in YAML (e.g. --set 'layers=[1, 2]')",
    )  # fmt: skip


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    from raytrack.registry import get_source, source_names

    generate = subparsers.add_parser(
        "generate", help="simulate samples into a new sample store (one subcommand per simulator)"
    )
    simulators = generate.add_subparsers(dest="source", required=True, metavar="SOURCE")
    convert = subparsers.add_parser(
        "convert",
        help="read files of another format into a new sample store (one subcommand per reader)",
    )
    readers = convert.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name in source_names():
        source = get_source(name)
        model = source.settings_model()
        if source.kind == "simulator":
            parser = simulators.add_parser(
                name, help=source.description, description=source.description
            )
            parser.add_argument("store", metavar="STORE", help="directory of the store to create")
            parser.add_argument("--events", type=int, required=True, help="number of samples")
            parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
            skip: tuple[str, ...] = ()
        else:
            parser = readers.add_parser(
                name, help=source.description, description=source.description
            )
            if "path" in model.model_fields:
                parser.add_argument(
                    "path", metavar="PATH", help=model.model_fields["path"].description
                )
            parser.add_argument("store", metavar="STORE", help="directory of the store to create")
            skip = ("path",)
        parser.add_argument(
            "--overwrite", action="store_true", help="replace an existing store at STORE"
        )
        _add_settings(parser, model, skip)
        parser.set_defaults(run=_run)


def settings_from_args(args: argparse.Namespace, model: type[BaseModel]) -> BaseModel:
    """The settings given on the command line (flags, ``--set`` and the reader's path)."""
    given: dict[str, Any] = {
        name[len("setting_") :]: value
        for name, value in vars(args).items()
        if name.startswith("setting_") and value is not None
    }
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set {item!r}: expected NAME=VALUE")
        given[key.strip().replace("-", "_")] = yaml.safe_load(value)
    if getattr(args, "path", None) is not None:
        given["path"] = args.path
    return model.model_validate(given)


def _run(args: argparse.Namespace) -> int:
    from raytrack.data.build import build_store
    from raytrack.family import resolve
    from raytrack.registry import get_source

    source = get_source(args.source)
    command = "generate" if source.kind == "simulator" else "convert"
    prefix = f"raytrack {command} {source.name}"
    if source.kind == "simulator" and (args.events < 1 or args.seed < 0):
        raise UserError(
            f"--events must be at least 1 and --seed non-negative, but got --events {args.events} "
            f"--seed {args.seed}"
        )
    try:
        settings = settings_from_args(args, source.settings_model())
    except ValidationError as err:
        listed = "; ".join(
            f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']} (got {e['input']!r})"
            for e in err.errors()
        )
        raise UserError(f"invalid settings of {source.name}: {listed}") from None
    start = time.perf_counter()
    count = args.events if source.kind == "simulator" else None
    seed = args.seed if source.kind == "simulator" else None
    store = build_store(
        source, args.store, settings, count=count, seed=seed, overwrite=args.overwrite
    )
    describe = resolve(source.describe, f"describe of {source.name!r}") if source.describe else None
    what = describe(store) if describe else f"{len(store)} samples ({store.counts})"
    print(f"{prefix}: wrote {store.path} in {time.perf_counter() - start:.1f} s: {what}")
    return 0
