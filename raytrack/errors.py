"""What the command line reports as the user's mistake, and how.

A user error (a missing file, a bad key or value, a store that is not one, a name already taken)
ends a command with one line naming the culprit and what to do, and exit code 1; ``--debug``
shows the traceback instead. Everything else is a bug and keeps its traceback. Exit codes: 0 ok,
1 user error, 2 usage (what argparse reports), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for; the message names it and says what to do."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a command unwinds as on Ctrl-C: ``finally``
    blocks run and half-written stores and sweep directories are removed."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    NotADirectoryError,
    IsADirectoryError,
    ValueError,  # pydantic's ValidationError and the store's StoreError are ValueErrors
    KeyError,  # an unknown name in the registry, a store or a split
    ImportError,  # a plug-in or an optional extra that is not installed
)
"""Exceptions the command line reports as one line (with ``--debug``: the traceback)."""


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (``KeyError`` without its quotes)."""
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    elif isinstance(error, OSError) and error.filename and error.strerror:
        text = f"{error.strerror}: {error.filename}"
    else:
        text = str(error) or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (
        "; ".join(lines)
        if len(lines) <= 12
        else "; ".join(lines[:12]) + f"; ... ({len(lines) - 12} more)"
    )
