"""Messages for a name that is not among the valid choices (torch-free, dependency-free)."""

from __future__ import annotations

import difflib
from typing import Any


def unknown_message(kind: str, value: Any, choices: list[str], owner: str = "") -> str:
    """``unknown <kind> 'x'<owner>; did you mean 'y'? (choices: ...)``."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(map(str, choices)) if choices else "none"
    return f"unknown {kind} {value!r}{owner}{hint} (choices: {listed})"
