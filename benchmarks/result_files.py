"""What the benchmarks share: the machine's description and writing a result's two files."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def machine() -> str:
    """The machine a figure was measured on, for the result file."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def write_result(out: Path, stem: str, result: dict, page: str) -> None:
    """``<out>/<stem>.json`` (the figures) and ``<out>/<stem>.md`` (their table); prints the page."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{stem}.md").write_text(page)
    print(page)
