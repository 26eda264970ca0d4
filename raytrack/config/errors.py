"""Problems in an experiment, and pydantic's errors turned into them.

A :class:`Problem` names where (the dotted path, the YAML line) and what; a
:class:`ConfigError` carries every problem of one file, a :class:`ConfigWarning` one warning. Messages say the kind first (``unknown
key``, ``wrong type``, ``out of range``), then the rule and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from raytrack.config.paths import Loc, format_path, literal_choices, strip, unknown_message, walk


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an experiment: where (dotted path, YAML line) and what."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        where = f"{source}:{self.line}" if source and self.line else (source or "")
        return ": ".join(part for part in (where, self.path, self.message) if part)


class ConfigError(ValueError):
    """An invalid experiment; :attr:`problems` lists every problem found, by line, and
    :attr:`warnings` the settings that would change nothing (listed after the problems)."""

    def __init__(
        self,
        problems: list[Problem],
        source: str | None = None,
        warnings: list[Problem] | None = None,
    ) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        self.warnings = sorted(warnings or [], key=lambda p: (p.line is None, p.line or 0))
        self.source = source
        count = len(self.problems)
        head = f"{source or 'experiment'}: {count} problem{'s' if count != 1 else ''}"
        shown = [Problem(w.path, f"warning: {w.message}", w.line) for w in self.warnings]
        super().__init__("\n".join([head, *(p.format(source) for p in [*self.problems, *shown])]))


class ConfigWarning(UserWarning):
    """A setting that validates but changes nothing here (dormant under the experiment's regime):
    :attr:`problem` says where and why."""

    def __init__(self, problem: Problem, source: str | None = None) -> None:
        self.problem = problem
        self.source = source
        shown = Problem(problem.path, f"warning: {problem.message}", problem.line)
        super().__init__(shown.format(source))


_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
    "finite_number",
}


def pydantic_message(error: Mapping[str, Any], root: Any, subject: str = "") -> tuple[Loc, str]:
    """A pydantic error as (location without union tags, message for people)."""
    loc, leaf = walk(root, tuple(error["loc"]))
    kind, detail, value = error["type"], error["msg"], error.get("input")
    about = f" for {subject}" if subject else ""
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    if kind == "extra_forbidden":
        _, parent = walk(root, tuple(error["loc"])[:-1])
        parent = strip(parent)
        keys = (
            list(parent.model_fields)
            if isinstance(parent, type) and issubclass(parent, BaseModel)
            else []
        )
        owner = f" in {format_path(loc[:-1])}" if loc[:-1] else ""
        return loc, unknown_message("key", loc[-1], keys, owner)
    if kind == "missing":
        return loc, "missing required key"
    if kind == "literal_error" and literal_choices(leaf) is not None:
        return loc, unknown_message("value", value, literal_choices(leaf), about)
    if kind in ("value_error", "assertion_error"):
        return loc, detail.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch":
        return loc, f"{detail}{about}, got {shown}"
    if kind in _RANGE_ERRORS:
        return loc, f"out of range{about}: {detail}, got {shown}"
    if kind == "model_type" and loc[:1] == ("search",) and len(loc) == 2:
        return (
            loc,
            "a searched setting is a mapping: {low, high}, {choices: [...]} or {grid: [...]}",
        )
    return loc, f"wrong type{about}: {detail}, got {shown}"


def pydantic_errors(root: Any, data: Any, subject: str = "") -> list[tuple[Loc, str]]:
    """Validate ``data`` against ``root`` (a pydantic model or any type); its errors."""
    try:
        if isinstance(root, type) and issubclass(root, BaseModel):
            root.model_validate(data)
        else:
            TypeAdapter(root).validate_python(data)
    except ValidationError as err:
        return [pydantic_message(e, root, subject) for e in err.errors()]
    return []
