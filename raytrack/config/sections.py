"""The base of every experiment section and how a section reports several problems at once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]
"""(location below the section, message) pairs."""


class Section(BaseModel):
    """A section of the experiment file: a key it does not declare is an error, and a number
    must be finite (``.inf`` or ``.nan`` as a learning rate or a size is a mistake that would only
    show up as a diverged or failed trial)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def raise_problems(title: str, problems: Problems) -> None:
    """Raise ``problems`` as one pydantic error, each at its own location (nothing if empty)."""
    if problems:
        raise ValidationError.from_exception_data(title, [
            InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=None)
            for loc, message in problems
        ])  # fmt: skip
