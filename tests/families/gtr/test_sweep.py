"""A GTR sweep end to end, as a user runs it: the simulated store built on first use, Optuna
with ASHA on ``val_idf1``, then ``raytrack evaluate`` of the best checkpoint with the ``mot``
evaluator on the test clips (transformer and baseline side by side)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT


def raytrack_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "raytrack.cli", *args], cwd=cwd, env=env, text=True,
        capture_output=True, timeout=500, check=False,
    )  # fmt: skip


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_smoke_space_tunes_and_its_best_model_is_evaluated(tmp_path: Path) -> None:
    space = yaml.safe_load((ROOT / "search_spaces" / "gtr_smoke.yaml").read_text())
    space["data"]["store"] = "store"
    space["data"]["generate"]["events"] = 20
    space["train"]["max_epochs"] = 3
    space["tune"].update(num_samples=3, max_concurrent_trials=2)
    space["tune"]["scheduler"]["grace_period"] = 1
    space["storage"] = "results"
    space.pop("logging", None)
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
    tuned = raytrack_cli(["tune", "space.yaml", "--name", "sweep", "--verbose", "0"], tmp_path)
    assert tuned.returncode == 0, tuned.stdout[-3000:] + tuned.stderr[-3000:]
    trials = pd.read_csv(tmp_path / "results" / "sweep" / "trials.csv")
    assert len(trials) == 3 and trials["best_val_idf1"].between(0, 1).all()
    history = pd.read_csv(tmp_path / "results" / "sweep" / "history.csv")
    assert {"val_mota", "val_num_switches", "val_loss"} <= set(history.columns)
    assert history["val_motp"].isna().all()  # not in runner.metrics.val

    evaluated = raytrack_cli(
        ["evaluate", "results/sweep", "store", "--set", "samples=test", "--out", "eval"], tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    summary = json.loads((tmp_path / "eval" / "mot_summary.json").read_text())
    assert summary["clips"] == 4 and summary["sequences"] == 4
    assert 0 < summary["idf1"] <= 1 and 0 < summary["baseline_idf1"] <= 1
    assert set(space["model"]["hparams"]["runner"]["metrics"]["test"]) <= set(summary)
