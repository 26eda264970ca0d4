"""Helpers of the loop's tests: a session that dies, and reports without their timings."""

from __future__ import annotations

from typing import Any

from raytrack.train.session import LocalSession


class Killed(Exception):
    """What a :class:`DyingSession` dies of."""


class DyingSession(LocalSession):
    """A local session whose worker dies right after reporting epoch ``die_after`` (its
    checkpoint kept), as a trial killed between two epochs."""

    def __init__(self, *args: Any, die_after: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.die_after = die_after

    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        super().report(metrics, checkpoint_dir)
        if len(self.reports) == self.die_after:
            raise Killed(f"killed after epoch {metrics['epoch']}")


def untimed(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``reports`` without the wall-clock metrics (``*_time_s``), which no two runs share."""
    return [
        {key: value for key, value in r.items() if not key.endswith("_time_s")} for r in reports
    ]
