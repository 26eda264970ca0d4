"""Every figure table a README quotes from a benchmark is the one its committed result file holds.

A benchmark writes ``benchmarks/results/<stem>.json`` and, from it, the table page
``<stem>.md`` (its ``markdown`` function); a README that quotes the measurement copies the page's
table rows. This test rebuilds the page from the JSON with the benchmark's own function and
fails when the page, or a README's copy of it, drifts from the result file (a re-run that changed
the figures, or a hand edit of either).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUOTED = {
    "hypertrack_end_to_end": ROOT / "raytrack" / "families" / "hypertrack" / "README.md",
    "hypertrack_transfer": ROOT / "raytrack" / "families" / "hypertrack" / "README.md",
    "multinode_utilisation": ROOT / "benchmarks" / "README.md",
    "simulation_vs_real": ROOT / "README.md",
    "sweep_overhead": ROOT / "benchmarks" / "README.md",
    "asha_vs_random": ROOT / "benchmarks" / "README.md",
    "asha_vs_random_rf4": ROOT / "benchmarks" / "README.md",
    "asha_vs_random_rf8": ROOT / "benchmarks" / "README.md",
}
BENCHMARK = {"asha_vs_random_rf4": "asha_vs_random", "asha_vs_random_rf8": "asha_vs_random"}
"""The benchmark of a result file named otherwise (another run of the same benchmark)."""


def table_rows(page: str) -> list[str]:
    """The data rows of the page's Markdown tables (not the header or separator rows)."""
    rows = [line for line in page.splitlines() if line.startswith("|")]
    return [row for row in rows if not set(row) <= set("|-: ") and "---" not in row]


def benchmark_page(stem: str, result: dict) -> str:
    """The table page the benchmark ``benchmarks/<stem>.py`` writes for ``result``."""
    module_name = BENCHMARK.get(stem, stem)
    spec = importlib.util.spec_from_file_location(
        module_name, ROOT / "benchmarks" / f"{module_name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.markdown(result)


@pytest.mark.parametrize("stem", sorted(QUOTED))
def test_the_readme_quotes_the_result_file(stem):
    result = json.loads((RESULTS / f"{stem}.json").read_text())
    page = (RESULTS / f"{stem}.md").read_text()
    assert page == benchmark_page(stem, result), f"{stem}.md is not the table of {stem}.json"
    readme = QUOTED[stem].read_text()
    assert result["command"] in page and result["command"] in readme
    rows = table_rows(page)
    assert rows, f"{stem}.md has no table"
    missing = [row for row in rows if row not in readme]
    assert not missing, f"{QUOTED[stem].relative_to(ROOT)} lacks rows of {stem}.md: {missing}"
