"""Failures that running the same trial again would only repeat.

A trial whose loss turns NaN, or whose model cannot be built (a layer too large for memory, a
shape that does not fit), fails the same way on every retry. Ray Tune and Ray Train retry any
failure, which is right for a lost node and wasteful here (three retries of a diverging trial
used to take minutes). The loop raises these; the trial records the first in a marker file
beside its results (:func:`record_failure`) and every retry ends at once with the same message
(:func:`raise_recorded`), so the trial fails with a clear status instead of running again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAILURE_FILE = "repeating_failure.json"


class RepeatingFailure(RuntimeError):
    """A trial failure that depends only on the trial's configuration."""

    status = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Diverged(RepeatingFailure, FloatingPointError):
    """The training loss became NaN or infinite."""

    status = "diverged"


class BuildFailed(RepeatingFailure):
    """The model (or its optimizer) could not be built from the trial's hyperparameters."""

    status = "build failed"


KINDS = {kind.status: kind for kind in (RepeatingFailure, Diverged, BuildFailed)}


@contextmanager
def building(model: str) -> Iterator[None]:
    """Turn an error while building ``model`` into :class:`BuildFailed` (it would repeat)."""
    try:
        yield
    except RepeatingFailure:
        raise
    except (MemoryError, RuntimeError, ValueError, TypeError, OverflowError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BuildFailed(
            f"building model {model!r} failed: {type(err).__name__}: {first}"
        ) from err


def record_failure(path: str | Path | None, failure: RepeatingFailure) -> None:
    """Write ``failure`` to ``path`` (atomically; the first one recorded wins)."""
    if path is None:
        return
    path = Path(path)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"status": failure.status, "message": failure.message}))
    os.replace(temporary, path)


def recorded_failure(path: str | Path | None) -> RepeatingFailure | None:
    """The failure recorded at ``path``, or None."""
    if path is None or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text())
        kind = KINDS.get(data.get("status"), RepeatingFailure)
        return kind(str(data["message"]))
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def raise_recorded(path: str | Path | None) -> None:
    """Raise the failure recorded at ``path`` again (a retry that would repeat it), if any."""
    failure = recorded_failure(path)
    if failure is not None:
        raise type(failure)(f"{failure.message} (not retried: the same settings fail the same way)")
