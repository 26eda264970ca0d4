"""A sweep over ``ncell`` (the shipped voxdyn smoke space, on a small store): four trials, two
``ncell`` values, each voxdyn constructor built once and shared; the best trial re-runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tests.test_shipped_configs import ROOT


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(900)
def test_an_ncell_sweep_builds_each_constructor_once_and_its_best_reruns(
    ray_session, simulated_store, tmp_path
):
    from raytrack.api import train_experiment, tune_experiment
    from raytrack.config import validate_experiment

    data = yaml.safe_load((ROOT / "search_spaces" / "hypertrack_voxdyn_smoke.yaml").read_text())
    store = simulated_store(8, seed=6)
    data["data"] = {**data["data"], "store": str(store), "generate": None, "split": [0.5, 0.5, 0]}
    data["train"]["max_epochs"] = 2
    data["model"]["hparams"].update({"nstack": 1, "h_dim": 16, "z_dim": 8, "m_dim": 16})
    data["storage"] = str(tmp_path / "results")
    data["logging"] = {"wandb": {"enabled": False}, "mlflow": {"enabled": False}}
    result = tune_experiment(validate_experiment(data), name="ncell", verbose=0)

    trials = result.trials.rename(columns={"config/model.hparams.ncell": "ncell"})
    assert len(trials) == 4 and set(trials["ncell"]) == {256, 1024}
    builds = (result.directory / "artifacts" / "voxdyn" / "builds.jsonl").read_text().splitlines()
    assert sorted(json.loads(b)["key"]["ncell"] for b in builds) == [256, 1024]  # once each
    history = trials[["trial_id", "ncell"]].merge(
        pd.read_csv(result.directory / "history.csv"), on="trial_id"
    )
    per_ncell = history.groupby("ncell")["val_edges_per_event"].first()
    assert per_ncell[256] > per_ncell[1024] > 0  # more cells: fewer candidate edges
    assert history["val_graph_efficiency"].between(0, 1).all()

    rerun = train_experiment(result.best_config, name="best", verbose=0)
    assert rerun.best_value == pytest.approx(result.best_value, abs=1e-6)
