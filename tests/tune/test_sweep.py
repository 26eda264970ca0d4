"""Real sweeps on the shared local Ray: ASHA stops trials early, the best config re-runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from raytrack.cli import main

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(simulated_store) -> Path:
    return simulated_store(12, seed=5)


def write_experiment(path: Path, store: Path, storage: Path, **sections) -> Path:
    experiment = {
        "name": "sweep-test",
        "model": {
            "name": "exatrkx_gnn",
            "hparams": {"hidden": 8, "nb_node_layer": 1, "nb_edge_layer": 1, "n_graph_iters": 1},
        },
        "data": {"store": str(store), "split": [0.5, 0.5, 0.0], "options": {"noise": False}},
        "train": {"max_epochs": 4, "batch_size": 2, "cpus_per_worker": 1},
        "tune": {"metric": "val_auc", "mode": "max"},
        "storage": str(storage),
    }
    for name, value in sections.items():
        experiment[name] = {**experiment.get(name, {}), **value}
    path.write_text(yaml.safe_dump(experiment))
    return path


@pytest.mark.timeout(600)
@pytest.mark.parametrize("searcher", ["random", "optuna"])
def test_asha_stops_trials_early_and_the_best_config_reruns(ray_session, store, tmp_path, searcher):
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "sweep.yaml",
        store,
        storage,
        search={
            "train.optimizer.lr": {"low": 1.0e-6, "high": 3.0e-2, "log": True},
            "hidden": {"choices": [8, 16]},
        },
        tune={
            "num_samples": 6,
            # best.yaml keeps the searcher: after an Optuna sweep it must still re-run.
            "searcher": searcher,
            "seed": 11,
            # One trial at a time: ASHA's decisions then do not depend on timing.
            "max_concurrent_trials": 1,
            "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
        },
    )
    assert main(["tune", str(file), "--name", "sweep", "--verbose", "0"]) == 0
    sweep = storage / "sweep"
    trials = pd.read_csv(sweep / "trials.csv")
    assert len(trials) == 6
    assert (trials["status"] == "stopped early").any(), trials
    assert (trials["status"] == "completed").any(), trials
    assert trials["best_val_auc"].iloc[0] == trials["best_val_auc"].max()
    history = pd.read_parquet(sweep / "history.parquet")
    assert len(history) == trials["epochs"].sum()

    best = json.loads((sweep / "best.json").read_text())
    assert Path(best["checkpoint"]).is_dir()
    best_yaml = yaml.safe_load((sweep / "best.yaml").read_text())
    assert best_yaml["search"] == {}
    assert best_yaml["train"]["optimizer"]["lr"] == pytest.approx(
        best["config"]["train.optimizer.lr"]
    )

    # The best config re-runs as one fixed trial and retraces the best trial's curve.
    assert main(["train", str(sweep / "best.yaml"), "--name", "rerun", "--verbose", "0"]) == 0
    rerun = pd.read_parquet(storage / "rerun" / "history.parquet")
    original = history[history["trial_id"] == best["trial_id"]].set_index("training_iteration")
    rerun = rerun.set_index("training_iteration")
    common = original.index.intersection(rerun.index)
    assert len(common) >= 1
    assert rerun.loc[common, "val_auc"].to_numpy() == pytest.approx(
        original.loc[common, "val_auc"].to_numpy(), abs=1e-3
    )


@pytest.mark.timeout(120)
def test_a_typo_fails_before_ray_starts_with_every_problem(tmp_path):
    file = tmp_path / "typo.yaml"
    file.write_text(
        "name: typo\n"
        "model:\n  name: exatrkx_gnn\n  hparams: {hiddn: 8}\n"
        "data: {store: nowhere}\n"
        "train: {max_epochs: 0}\n"
        "search:\n  n_graph_iters: {low: 5, high: 2}\n"
        "tune: {metric: val_auc, mode: max, searcher: optuna}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "raytrack.cli", "tune", str(file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 1
    report = done.stderr
    assert "hiddn" in report and "did you mean 'hidden'" in report
    assert "train.max_epochs" in report
    assert "search.n_graph_iters" in report
    assert "Ray" not in done.stdout  # nothing started
    assert not (tmp_path / "raytrack_results").exists()
