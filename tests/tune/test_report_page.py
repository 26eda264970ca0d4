"""``raytrack report`` on a real Optuna + ASHA sweep: read-only by default, an HTML page with
four plots and the leaderboard that a real headless browser renders, PNGs, ``--write``, and the
stored Optuna study (``optuna.db``) that optuna-dashboard opens and a resume restores."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from raytrack.cli import main
from raytrack.tune.report_plots import PLOT_IDS
from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]

PNGS = ["learning_curves", "asha_rungs", "parallel_coordinates", "parameter_importance"]
CHROMIUM_NAMES = ("chromium", "chromium-browser")


@pytest.fixture(scope="module")
def sweep(ray_session, simulated_store, tmp_path_factory) -> Path:
    """A finished Optuna + ASHA sweep of 6 trials (the tests below run in file order: the
    read-only ones first, then those that add or rewrite files)."""
    root = tmp_path_factory.mktemp("report")
    file = write_experiment(
        root / "sweep.yaml",
        simulated_store(12, seed=5),
        root / "results",
        train={"max_epochs": 4},
        search={
            "train.optimizer.lr": {"low": 1.0e-6, "high": 3.0e-2, "log": True},
            "hidden": {"choices": [8, 16]},
        },
        tune={
            "num_samples": 6,
            "searcher": "optuna",
            "seed": 3,
            "max_concurrent_trials": 2,
            "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
        },
    )
    assert main(["tune", str(file), "--name", "sweep", "--verbose", "0"]) == 0
    return root / "results" / "sweep"


def _snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``directory``: its content hash and modification time."""
    return {
        str(path.relative_to(directory)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.timeout(900)
def test_report_changes_no_file_of_the_sweep(sweep, tmp_path, capsys):
    before = _snapshot(sweep)
    outside = tmp_path / "page" / "report.html"
    assert main(["report", str(sweep), "--html", str(outside)]) == 0
    assert _snapshot(sweep) == before  # not even a new file
    assert outside.is_file()

    assert main(["report", str(sweep), "--png"]) == 0  # default: <sweep>/report/
    after = _snapshot(sweep)
    assert {name: after[name] for name in before} == before
    added = set(after) - set(before)
    assert added == {"report/index.html", *(f"report/{name}.png" for name in PNGS)}
    printed = capsys.readouterr().out
    assert "Leaderboard (val_auc, max)" in printed and "report page:" in printed
    assert f"optuna-dashboard sqlite:///{(sweep / 'optuna.db').resolve()}" in printed


@pytest.mark.timeout(120)
def test_the_page_holds_the_four_plots_the_leaderboard_and_no_remote_script(sweep):
    page = (sweep / "report" / "index.html").read_text()
    for div_id in PLOT_IDS.values():
        assert f'id="{div_id}"' in page, div_id
    for title in ("Learning curves", "ASHA rungs", "Searched values against best_val_auc",
                  "Parameter importance for val_auc (fANOVA"):  # fmt: skip
        assert title in page
    assert 'id="leaderboard"' in page
    for trial_id in pd.read_csv(sweep / "trials.csv")["trial_id"]:
        assert str(trial_id) in page
    assert _script_sources(page) == []  # plotly.js is inlined: nothing fetched at view time
    assert "No evaluator output in this sweep directory" in page  # and no invented plots


def _script_sources(page: str) -> list[str]:
    """The ``src`` of every ``<script>`` element of an HTML page."""
    from html.parser import HTMLParser

    sources: list[str] = []

    class Scripts(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "script":
                sources.extend(value for name, value in attrs if name == "src")

    Scripts().feed(page)
    return sources


@pytest.mark.timeout(120)
def test_the_pngs_are_real_images(sweep):
    from PIL import Image

    for name in PNGS:
        with Image.open(sweep / "report" / f"{name}.png") as image:
            assert image.format == "PNG" and min(image.size) > 200, name


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.timeout(300)
def test_the_page_renders_in_headless_chromium_without_console_errors(sweep):
    binary = _chromium()
    if binary is None:
        message = "no chromium binary on PATH (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if os.environ.get("CI"):
        import playwright.sync_api as playwright  # in CI a missing package fails loudly
    else:
        playwright = pytest.importorskip("playwright.sync_api")

    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=binary,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((sweep / "report" / "index.html").resolve().as_uri())
        page.wait_for_load_state("load")
        for div_id in PLOT_IDS.values():
            plot = page.locator(f"#{div_id}")
            plot.locator("svg.main-svg").first.wait_for(timeout=30_000)
            box = plot.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, div_id
        assert page.locator("#leaderboard tbody tr").count() == 6
        browser.close()
    assert errors == []


@pytest.mark.timeout(120)
def test_the_stored_optuna_study_holds_every_trial(sweep):
    import optuna

    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{sweep / 'optuna.db'}")
    assert len(study.trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert {"train.optimizer.lr", "model.hparams.hidden"} <= set(study.trials[0].params)


@pytest.mark.timeout(300)
def test_without_a_stored_study_the_importance_comes_from_the_trials(sweep, tmp_path):
    from raytrack.tune.report_data import gather_report

    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy, ignore=shutil.ignore_patterns("optuna.db", "report"))
    importance = gather_report(copy).importance
    assert importance.source == "in-memory study built from the trials"
    assert set(importance.values) == {"train.optimizer.lr", "model.hparams.hidden"}
    assert importance.trials == 6 and sum(importance.values.values()) == pytest.approx(1.0)


@pytest.mark.timeout(300)
def test_evaluator_outputs_in_the_sweep_show_on_the_page(sweep, tmp_path):
    from matplotlib.figure import Figure

    from raytrack.family import Evaluation

    folder = Evaluation(summary={"efficiency": 0.91, "purity": 0.87}).write(
        sweep / "evaluation", prefix="tracks"
    )
    figure = Figure()
    figure.subplots().plot([1, 2, 3], [0.8, 0.9, 0.95])
    figure.savefig(folder / "tracks_efficiency.png")
    page = tmp_path / "page.html"
    assert main(["report", str(sweep), "--html", str(page)]) == 0
    text = page.read_text()
    assert "evaluation/tracks_summary.json" in text and "0.91" in text
    assert "evaluation/tracks_efficiency.png" in text and "data:image/png;base64," in text
    assert "No evaluator output" not in text


@pytest.mark.timeout(600)
def test_write_rewrites_the_tables_and_resume_restores_the_stored_study(sweep):
    import optuna

    best_yaml = sweep / "best.yaml"
    best_yaml.write_text(best_yaml.read_text() + "# my edit\n")
    assert main(["report", str(sweep), "--no-html"]) == 0
    assert best_yaml.read_text().endswith("# my edit\n")  # read-only: the edit stays

    before = (sweep / "trials.csv").stat().st_mtime_ns
    assert main(["report", str(sweep), "--write", "--no-html"]) == 0
    assert "# my edit" not in best_yaml.read_text()
    assert (sweep / "trials.csv").stat().st_mtime_ns > before
    assert (sweep / "history.parquet").is_file() and (sweep / "best.json").is_file()

    # Tune restores the searcher with its stored study: nothing re-runs, no trial is added.
    assert main(["resume", str(sweep), "--verbose", "0"]) == 0
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{sweep / 'optuna.db'}")
    assert len(study.trials) == 6


@pytest.mark.timeout(60)
def test_report_on_a_folder_that_is_no_sweep_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert (
        error.strip()
        == f"raytrack report: error: {tmp_path} is not a sweep directory (no sweep.json)"
    )


def test_asha_rungs_are_where_ray_puts_them():
    from ray.tune.schedulers.async_hyperband import _Bracket

    from raytrack.tune.report_data import asha_rungs

    for grace, factor, max_t in [(1, 2, 4), (1, 2, 10), (2, 3, 40), (1, 4, 64)]:
        ray_rungs = sorted(int(m) for m, _ in _Bracket(grace, max_t, factor, s=0)._rungs)
        assert list(asha_rungs(grace, factor, max_t).epochs) == ray_rungs
