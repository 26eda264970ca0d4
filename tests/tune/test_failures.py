"""Failures that would repeat end a trial at once; the sweep goes on and says what failed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from raytrack.cli import main
from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def store(simulated_store) -> Path:
    return simulated_store(8, seed=6)


@pytest.mark.timeout(300)
def test_a_diverging_trial_fails_once_with_its_values_and_the_sweep_finishes(
    ray_session, store, tmp_path, capsys
):
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "sweep.yaml",
        store,
        storage,
        train={"max_epochs": 2, "optimizer": {"name": "sgd", "lr": 1.0e-3}},
        search={"train.optimizer.lr": {"grid": [1.0e-3, 1.0e30]}},
        tune={"max_concurrent_trials": 1, "scheduler": {"name": "fifo"}},
    )
    assert main(["tune", str(file), "--name", "diverge", "--verbose", "0"]) == 0
    err = capsys.readouterr().err
    sweep = storage / "diverge"
    trials = pd.read_csv(sweep / "trials.csv").set_index("config/train.optimizer.lr")
    assert trials.loc[1.0e-3, "status"] == "completed"
    bad = trials.loc[1.0e30]
    assert bad["status"] == "diverged" and bad["epochs"] == 0
    assert "training loss is" in bad["error"] and "epoch 1" in bad["error"]
    assert f"trial {bad['trial_id']} diverged: training loss is" in err
    assert "raytrack resume" not in err  # resuming would only repeat it
    trial_dir = next(sweep.glob(f"*{bad['trial_id']}*"))
    recorded = json.loads((trial_dir / "repeating_failure.json").read_text())
    assert recorded["status"] == "diverged"
    # Tune retried it twice (max_failures=2), and each retry ended at once with the same cause.
    errors = (trial_dir / "error.txt").read_text()
    retries = [line for line in errors.splitlines() if line.startswith("raytrack.train.failures")]
    assert len(retries) == 3 and all("Diverged: training loss is" in line for line in retries)
    assert [("not retried: the same settings" in line) for line in retries] == [False, True, True]
    history = pd.read_csv(sweep / "history.csv")
    # it stops at once: no epoch of it was ever reported (no wall time is measured: a hang is
    # caught by the test's timeout)
    assert set(history["trial_id"]) == {trials.loc[1.0e-3, "trial_id"]}


@pytest.mark.timeout(120)
def test_a_model_too_large_to_build_fails_as_build_failed(ray_session, store, tmp_path, capsys):
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "sweep.yaml",
        store,
        storage,
        model={"name": "exatrkx_gnn", "hparams": {"hidden": 10**12, "nb_node_layer": 1,
               "nb_edge_layer": 1, "n_graph_iters": 1}},
    )  # fmt: skip
    assert main(["tune", str(file), "--name", "huge", "--verbose", "0"]) == 1
    trials = pd.read_csv(storage / "huge" / "trials.csv")
    assert list(trials["status"]) == ["build failed"]
    assert "building model 'exatrkx_gnn' failed" in trials["error"].iloc[0]
    assert "build failed: building model" in capsys.readouterr().err
