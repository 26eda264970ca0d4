"""One Ray trial of three HGCalML training stages, logged to MLflow with every configuration key."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from tests.families.gravnet.test_staged_training import SMALL, THREE_STAGES


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(600)
def test_three_stages_run_as_one_trial_with_mlflow_parameters(ray_session, calo_store, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from raytrack.api import train_experiment
    from raytrack.config import validate_experiment

    experiment = validate_experiment({
        "name": "gravnet-trial",
        "model": {"name": "gravnet_oc",
                  "hparams": {**copy.deepcopy(SMALL), "q_min": 0.8, "beta_loss_scale": 1.0}},
        "data": {"store": str(calo_store), "split": [0.75, 0.25, 0.0]},
        "train": {"optimizer": {"name": "nadam", "lr": 1e-3}, "grad_clip": 1.0,
                  "stages": copy.deepcopy(THREE_STAGES)},
        "tune": {"metric": "val_efficiency", "mode": "max"},
        "logging": {"mlflow": {"enabled": True}},
        "storage": str(tmp_path / "results"),
    })  # fmt: skip
    result = train_experiment(experiment, name="trial", verbose=0)
    history = pd.read_csv(result.directory / "history.csv")
    assert list(history["training_iteration"]) == [1, 2, 3, 4]  # one report per epoch
    assert list(history["stage"]) == [0, 1, 1, 2]
    assert list(history["lr"]) == pytest.approx([3e-3, 1e-3, 1e-3, 1e-4])
    assert list(history["val_batch_events"]) == [1.0, 2.0, 2.0, 3.0]
    assert history["val_efficiency"].notna().all() and history["val_loss"].notna().all()

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("gravnet-trial").experiment_id])
    (run,) = [r for r in runs if "trial_id" in r.data.tags]  # the trial's run, beside the sweep's
    params = run.data.params
    hparams = "model.hparams."
    for key in ("DenseOptions.activation", "DenseOptions.kernel_regularizer_rate",
                "DenseOptions.dropout", "BatchNormOptions.max_viscosity",
                "BatchNormOptions.fluidity_decay", "q_min", "beta_loss_scale",
                "n_cluster_space_coordinates", "n_gravnet_space_coordinates"):  # fmt: skip
        assert hparams + key in params, key
    assert params[hparams + "DenseOptions.activation"] == "elu"
    # lists (the gravnet iterations, the training stages) are one parameter holding every entry
    assert "'n': 4" in params[hparams + "gravnet"]
    stages = params["train.stages"]
    assert all(f"'lr': {s['lr']}" in stages and f"'batch_size': {s['batch_size']}" in stages
               for s in THREE_STAGES)  # fmt: skip
    assert run.data.metrics["val_batch_events"] == 3.0
