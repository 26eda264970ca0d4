"""Command-line overrides of an experiment file: ``--set train.max_epochs=2``, the Hydra way.

One override is ``KEY=VALUE``. ``KEY`` is a dotted path from the experiment's root
(``train.optimizer.lr``, ``model.hparams.hidden``, ``storage``); a list item is reached with an
index (``data.split[2]=0.0``); a whole list is a YAML flow list (``data.split=[0.8,0.2,0.0]``).
``VALUE`` is YAML (``2`` is an integer, ``1e-3`` a float (PyYAML alone reads it as text), ``true`` a bool, ``null`` removes the
setting's value, ``{low: 8, high: 64}`` a mapping). Missing mappings on the way are created, so an
unknown key ends up in the experiment and validation reports it, with its path, exactly as it
would in the file.

Search keys contain dots themselves: below ``search``, the entry's key is everything up to a
field of a search entry (``search.train.optimizer.lr.low=1e-4`` sets ``low`` of the entry
``train.optimizer.lr``), or the whole rest (``search.hidden={choices: [16, 32]}``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from raytrack.config.errors import ConfigError, Problem
from raytrack.config.paths import format_path
from raytrack.config.schema import SearchParam

OVERRIDE_SOURCE = "--set"
"""How problems of an override name their origin (where a file names itself)."""

_PART = re.compile(r"^([^.\[\]]+)((?:\[\d+\])*)$")
_EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.max_epochs=2"`` → ``("train.max_epochs", 2)``; the value parsed as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([Problem(text, "an override is KEY=VALUE (e.g. train.max_epochs=2)")],
                          OVERRIDE_SOURCE)  # fmt: skip
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        detail = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(
            [Problem(key, f"the value {raw!r} is not valid YAML ({detail})")], OVERRIDE_SOURCE
        ) from None
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-3 as text; on a command line it is a number
    return key, value


def key_parts(key: str) -> list[str | int]:
    """``"data.split[2]"`` → ``["data", "split", 2]``; search entry keys stay whole."""
    names = key.split(".")
    if names[0] == "search" and len(names) > 2:
        field = names[-1].split("[")[0]
        names = (
            ["search", ".".join(names[1:-1]), names[-1]]
            if field in SearchParam.model_fields
            else ["search", ".".join(names[1:])]
        )
    parts: list[str | int] = []
    for position, name in enumerate(names):
        if names[0] == "search" and position == 1:
            parts.append(name)  # a search key, dots and all
            continue
        match = _PART.match(name)
        if match is None:
            raise ConfigError(
                [Problem(key, f"{name!r} is not a key (write a.b.c, or a.b[0] for a list item)")],
                OVERRIDE_SOURCE,
            )
        parts.append(match.group(1))
        parts.extend(int(index) for index in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


def apply_override(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``value`` at ``key`` in ``data`` (in place), creating missing mappings."""
    parts = key_parts(key)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = key if last else format_path(tuple(parts[: depth + 1]))
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError([Problem(key, f"{format_path(tuple(parts[:depth]))} is not a list")],
                                  OVERRIDE_SOURCE)  # fmt: skip
            if part >= len(node):
                raise ConfigError(
                    [
                        Problem(
                            key, f"index {part} is out of range (the list has {len(node)} items)"
                        )
                    ],
                    OVERRIDE_SOURCE,
                )
        elif not isinstance(node, dict):
            where = format_path(tuple(parts[:depth])) or "the experiment"
            raise ConfigError(
                [Problem(key, f"{where} is a {type(node).__name__}, not a mapping, so {here!r} "
                              "names nothing")],
                OVERRIDE_SOURCE,
            )  # fmt: skip
        if last:
            node[part] = value
        elif isinstance(part, str) and node.get(part) is None:
            node[part] = {}  # missing (or null): created, validation judges the key
            node = node[part]
        else:
            node = node[part]


def apply_overrides(mapping: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of the experiment ``mapping`` with each ``KEY=VALUE`` override applied in order.

    Raises :class:`ConfigError` (source ``--set``) naming the key of a malformed override; what
    the values mean is left to validation, which names the key as for the file.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            [Problem("", f"the experiment is a {type(mapping).__name__}, not a mapping")],
            OVERRIDE_SOURCE,
        )
    data = copy.deepcopy(dict(mapping))
    for text in overrides:
        key, value = parse_override(text)
        apply_override(data, key, value)
    return data


def overridden_keys(overrides: Sequence[str]) -> list[str]:
    """The dotted paths (as validation writes them) that ``overrides`` set."""
    keys = []
    for text in overrides:
        parts = key_parts(parse_override(text)[0])
        keys.append(format_path(tuple(parts)))
    return keys
