"""Read and write experiment files (YAML), keeping every key's line for error reports."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from raytrack.config.errors import ConfigError, ConfigWarning, Problem
from raytrack.config.overrides import apply_overrides, overridden_keys
from raytrack.config.paths import Loc, format_path
from raytrack.config.resolve import experiment_to_dict
from raytrack.config.schema import Experiment
from raytrack.config.validate import check_experiment


def yaml_lines(node: yaml.Node | None) -> tuple[dict[str, int], list[Problem]]:
    """Line (1-based) of every key and list item under ``node``, by dotted path; and the keys a
    mapping repeats (PyYAML silently keeps the last one)."""
    lines: dict[str, int] = {}
    duplicates: list[Problem] = []

    def visit(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = (
                    key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                )
                line = key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append(
                        Problem(
                            format_path(loc + (key,)),
                            f"duplicate key (first at line {seen[key]})",
                            line,
                        )
                    )
                seen[key] = line
                lines[format_path(loc + (key,))] = line
                visit(value_node, loc + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[format_path(loc + (index,))] = item.start_mark.line + 1
                visit(item, loc + (index,))

    if node is not None:
        lines[""] = node.start_mark.line + 1
        visit(node, ())
    return lines, duplicates


def read_yaml(path: str | Path) -> tuple[Any, dict[str, int], list[Problem]]:
    """Parse ``path``: its data, the line of every path, and its duplicate keys.

    Raises :class:`ConfigError` for a missing or unreadable file and for malformed YAML."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem("", f"no such file (looked in {Path(path).resolve().parent})")], source
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError([Problem("", f"cannot read the file: {err}")], source) from None
    try:
        loader = yaml.SafeLoader(text)
        try:  # parse once: the node tree gives the lines, then the data
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        what = ": ".join(
            s for s in (getattr(err, "context", None), getattr(err, "problem", None)) if s
        ) or str(err)
        raise ConfigError([Problem("", f"malformed YAML: {what}{where}", line)], source) from None
    lines, duplicates = yaml_lines(node)
    return data, lines, duplicates


def load_experiment(path: str | Path, overrides: Sequence[str] | None = None) -> Experiment:
    """Read and validate an experiment file; :class:`ConfigError` lists every problem.

    ``overrides`` (``["train.max_epochs=2", ...]``, see :mod:`raytrack.config.overrides`) are
    applied to the file's data before validation; a problem at an overridden key names the
    override instead of a line of the file. Each warning (a setting its regime leaves dormant)
    is issued as a :class:`ConfigWarning` (``raytrack validate`` lists them).
    """
    data, lines, duplicates = read_yaml(path)
    if overrides and isinstance(data, dict):  # a file that is no mapping fails validation
        data = apply_overrides(data, overrides)
        lines = _without_overridden(lines, overridden_keys(overrides))
    try:
        experiment, found = check_experiment(data, source=str(path), lines=lines)
    except ConfigError as err:
        problems, found = err.problems, err.warnings
        if overrides:
            problems = _marked_overridden(problems, overridden_keys(overrides))
            found = _marked_overridden(found, overridden_keys(overrides))
        raise ConfigError(duplicates + problems, str(path), found) from None
    if duplicates:
        raise ConfigError(duplicates, str(path))
    if overrides:
        found = _marked_overridden(found, overridden_keys(overrides))
    for problem in found:
        warnings.warn(ConfigWarning(problem, str(path)), stacklevel=2)
    return experiment


def _is_below(path: str, key: str) -> bool:
    return path == key or path.startswith((key + ".", key + "["))


def _without_overridden(lines: dict[str, int], keys: list[str]) -> dict[str, int]:
    """The file's lines minus those of overridden paths (their values come from ``--set``)."""
    return {path: line for path, line in lines.items() if not any(_is_below(path, k) for k in keys)}


def _marked_overridden(problems: list[Problem], keys: list[str]) -> list[Problem]:
    """Problems at or below an overridden key say so, without a line of the file."""
    return [
        Problem(p.path, f"{p.message} (from --set {k})", None)
        if (k := next((k for k in keys if _is_below(p.path, k)), None))
        else p
        for p in problems
    ]


def dump_experiment(exp: Experiment, path: str | Path) -> Path:
    """Write ``exp`` as YAML that :func:`load_experiment` reads back equal."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        experiment_to_dict(exp), sort_keys=False, default_flow_style=None, width=100
    )
    path.write_text(text, encoding="utf-8")
    return path
