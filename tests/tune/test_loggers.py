"""W&B (offline, no API key) and MLflow (SQLite) record every trial with its full configuration."""

from __future__ import annotations

import pytest

from raytrack.cli import main
from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.mark.timeout(600)
def test_wandb_offline_and_mlflow_sqlite_runs_carry_the_full_config(
    ray_session, simulated_store, tmp_path, monkeypatch
):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    store = simulated_store(6, seed=1)
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "logged.yaml",
        store,
        storage,
        train={"max_epochs": 2},
        search={"train.optimizer.lr": {"grid": [0.001, 0.01]}},
        tune={"searcher": "grid", "scheduler": {"name": "fifo"}},
        logging={
            "wandb": {"enabled": True, "project": "raytrack-test"},
            "mlflow": {"enabled": True},
        },
    )
    assert main(["tune", str(file), "--name", "logged", "--verbose", "0"]) == 0

    runs = sorted((storage / "logged" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 2  # offline without an API key: one run per trial, to `wandb sync` later

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{storage / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweep-test")
    found = client.search_runs([experiment.experiment_id])
    assert len(found) == 2
    for run in found:
        params = run.data.params
        assert params["experiment/model/name"] == "exatrkx_gnn"  # the fixed experiment
        assert params["experiment/model/hparams/hidden"] == "8"
        assert float(params["train.optimizer.lr"]) in (0.001, 0.01)  # the searched value
        assert "val_auc" in run.data.metrics and "train_loss" in run.data.metrics
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "val_auc")
        assert [m.step for m in history] == [1, 2]


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
