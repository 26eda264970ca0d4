"""W&B (offline, no API key), MLflow (SQLite) and TensorBoard record what every trial ran."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from raytrack.cli import main
from tests.tune.test_sweep import write_experiment
from tests.tune.wandb_records import read_run

ROOT = Path(__file__).parents[2]


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_tracker_records_what_each_trial_really_ran(
    ray_session, simulated_store, tmp_path, monkeypatch
):
    """W&B (offline) and MLflow (SQLite) hold each trial's resolved experiment, the best value
    in the summary, no constant config series, and the best checkpoint as an artifact."""
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    store = simulated_store(6, seed=1)
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "logged.yaml",
        store,
        storage,
        train={"max_epochs": 2},
        search={"train.optimizer.lr": {"grid": [0.001, 0.01]}, "n_graph_iters": {"grid": [2]}},
        tune={"searcher": "grid", "scheduler": {"name": "fifo"}},
        logging={
            "wandb": {"enabled": True, "project": "raytrack-test"},
            "mlflow": {"enabled": True},
        },
    )
    assert main(["tune", str(file), "--name", "logged", "--verbose", "0"]) == 0
    sweep = storage / "logged"
    trials = pd.read_csv(sweep / "trials.csv").set_index("trial_id")
    best = json.loads((sweep / "best.json").read_text())

    runs: dict[str, list[dict]] = {}
    for path in sorted((sweep / "wandb" / "wandb").glob("offline-run-*")):
        run = read_run(path)
        runs.setdefault(run["run_id"], []).append(run)
    assert set(runs) == set(trials.index)  # offline without a key: one run id per trial
    for trial_id, (run, *reopened) in runs.items():
        config = run["config"]
        # The values the trial ran, not the experiment file's base values (n_graph_iters 1).
        assert config["train.optimizer.lr"] == trials.loc[trial_id, "config/train.optimizer.lr"]
        assert config["model.hparams.n_graph_iters"] == 2
        assert config["model.hparams.hidden"] == 8 and config["model.name"] == "exatrkx_gnn"
        assert config["trial_id"] == trial_id
        assert run["group"] == "logged"
        keys = {key for row in run["history"] for key in row}
        assert "val_auc" in keys and not any(key.startswith("config") for key in keys)
        assert run["summary"]["val_auc"] == {
            "max": pytest.approx(trials.loc[trial_id, "best_val_auc"])
        }
        assert run["summary"]["best_epoch"] == trials.loc[trial_id, "best_epoch"]
        # The best trial's run was reopened for its checkpoint and best.yaml.
        artifacts = [artifact for again in reopened for artifact in again["artifacts"]]
        assert artifacts == ([("best-logged", "model")] if trial_id == best["trial_id"] else [])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{storage / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweep-test")
    found = client.search_runs([experiment.experiment_id])
    (parent,) = [run for run in found if run.data.tags.get("raytrack.role") == "sweep"]
    children = [run for run in found if run is not parent]
    assert parent.data.tags["sweep_dir"] == str(sweep) and parent.data.tags["command"]
    assert parent.data.tags["best_trial_id"] == best["trial_id"]
    assert parent.data.metrics["best_val_auc"] == pytest.approx(best["value"])
    assert {run.data.tags["trial_id"] for run in children} == set(trials.index)
    for run in children:
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        params = run.data.params
        trial_id = run.data.tags["trial_id"]
        assert (
            params["model.name"] == "exatrkx_gnn" and params["model.hparams.n_graph_iters"] == "2"
        )
        assert (
            float(params["train.optimizer.lr"]) == trials.loc[trial_id, "config/train.optimizer.lr"]
        )
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "val_auc")
        assert [m.step for m in history] == [1, 2]
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        if trial_id == best["trial_id"]:
            assert {"best.yaml", "best_checkpoint"} <= artifacts
            inside = {
                item.path for item in client.list_artifacts(run.info.run_id, "best_checkpoint")
            }
            assert any(path.endswith(".pt") for path in inside), inside
        else:
            assert not artifacts


@pytest.mark.parametrize(
    "configured, env_mode, api_key, expected",
    [
        (None, None, None, "offline"),  # no key: offline, synced later with `wandb sync`
        (None, None, "k", "online"),
        (None, "disabled", None, "disabled"),  # the user's WANDB_MODE is kept
        (None, "online", None, "offline"),  # online without a key could never upload
        ("online", "disabled", "k", "online"),  # the experiment file decides first
    ],
)
def test_wandb_mode(monkeypatch, configured, env_mode, api_key, expected):
    from raytrack.tune.loggers import wandb_mode

    for name, value in (("WANDB_MODE", env_mode), ("WANDB_API_KEY", api_key)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert wandb_mode(configured) == expected


def test_with_a_registered_wandb_sweep_every_run_joins_it(monkeypatch, tmp_path):
    """Online, the sweep is registered once (W&B is not reachable here: the registration is
    replaced) and each trial's logging actor starts its run under that sweep id."""
    import os

    from raytrack.config import load_experiment
    from raytrack.tune import loggers

    monkeypatch.setattr(
        "raytrack.tune.wandb_sweep_registration.register_wandb_sweep",
        lambda experiment, project, entity: "sw33p",
    )
    experiment = load_experiment(ROOT / "search_spaces" / "quickstart.yaml")
    (callback,) = [
        c
        for c in loggers.logger_callbacks(experiment, tmp_path, "s")
        if type(c).__name__ == "SweepWandbCallback"
    ]
    assert callback._sweep_id == "sw33p"

    from raytrack.tune.wandb_callback import QUIET_WANDB_ENV, WandbRuns

    for name in (*QUIET_WANDB_ENV, "WANDB_START_METHOD", "WANDB_SWEEP_ID"):
        monkeypatch.setenv(name, "")  # restored after the test
    WandbRuns(sweep_id=callback._sweep_id)
    assert os.environ["WANDB_SWEEP_ID"] == "sw33p"
