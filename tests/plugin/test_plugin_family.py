"""A family written outside raytrack, found through ``plugins:``, tuned with ASHA end to end.

``files/labfamily`` (a model, its task, a data source with a simulator and an evaluator) is
copied into a temporary directory that is not part of raytrack; the experiment names it in
``plugins:``; ``raytrack tune`` (a subprocess, as a user runs it) builds the store from the
plug-in's source, tunes the plug-in's model with ASHA, and ``raytrack evaluate`` judges the best
checkpoint with the plug-in's evaluator. No file of raytrack is changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from raytrack import registry
from raytrack.tasks.contract import CHECKS

FILES = Path(__file__).parent / "files"

EXPERIMENT = {
    "name": "lab_sweep",
    "plugins": ["labfamily.family"],
    "model": {"name": "lab_mlp", "hparams": {"nb_layer": 1}},
    "data": {
        "store": "stores/blobs",
        "generate": {"events": 64, "seed": 3, "settings": {"separation": 3.0}},
        "split": [0.5, 0.5, 0.0],
    },
    "train": {"max_epochs": 4, "batch_size": 8, "optimizer": {"name": "adam", "lr": 0.05}},
    "search": {
        "train.optimizer.lr": {"grid": [0.05, 1.0e-6, 0.05, 1.0e-6]},
        "hidden": {"grid": [8]},
    },
    "tune": {
        "metric": "val_accuracy",
        "mode": "max",
        "searcher": "grid",
        "max_concurrent_trials": 1,
        "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
    },
    "storage": "results",
}


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    shutil.copytree(FILES / "labfamily", tmp_path / "plugins" / "labfamily")
    return tmp_path


def raytrack_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd / "plugins"), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "raytrack.cli", *args], cwd=cwd, env=env, text=True,
        capture_output=True, timeout=500, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_plugin_family_is_tuned_with_asha_and_evaluated(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    validated = raytrack_cli(["validate", "lab.yaml"], lab_dir)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "model lab_mlp" in validated.stdout

    tuned = raytrack_cli(["tune", "lab.yaml", "--name", "sweep", "--verbose", "0"], lab_dir)
    assert tuned.returncode == 0, tuned.stdout[-3000:] + tuned.stderr[-3000:]
    trials = pd.read_csv(lab_dir / "results" / "sweep" / "trials.csv")
    assert len(trials) == 4
    # grid order: lr 0.05 runs to the end, lr 1e-6 falls behind at the first rung and ASHA stops it
    assert (trials["status"] == "stopped early").any(), trials
    assert (trials["status"] == "completed").any(), trials
    assert trials["best_val_accuracy"].max() > 0.8

    evaluated = raytrack_cli(
        ["evaluate", "results/sweep", "stores/blobs", "--out", "eval"], lab_dir
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "lab_accuracy" in evaluated.stdout
    per_item = pd.read_csv(lab_dir / "eval" / "lab_accuracy_per_item.csv")
    assert len(per_item) == 64


def test_a_plugin_family_keeps_the_task_contract(lab_dir: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(lab_dir / "plugins"))
    registry.load_plugins(["labfamily.family"])
    try:
        entry = registry.get_model("lab_mlp")
        assert entry.family == "lab" and registry.get_source("lab_blobs").kind == "simulator"
        for check in CHECKS:
            check(entry)
    finally:
        registry.unregister_family("lab")
        for name in [m for m in sys.modules if m == "labfamily" or m.startswith("labfamily.")]:
            del sys.modules[name]
    assert "lab_mlp" not in registry.model_names()


def test_a_plugin_that_cannot_be_imported_is_a_clear_error() -> None:
    from raytrack.config import validate_experiment
    from raytrack.config.errors import ConfigError

    raw = {**EXPERIMENT, "plugins": ["no_such_lab.family"]}
    with pytest.raises(
        ConfigError, match=r"plugins: cannot import 'no_such_lab.family'.*PYTHONPATH"
    ):
        validate_experiment(raw)
