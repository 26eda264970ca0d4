"""HGCalML's Training list as raytrack stages: one run, each stage's lr and batch size per epoch;
the shipped gravnet experiment files train; a trained checkpoint is judged by ``showers``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from raytrack.config import apply_trial_config, load_experiment, validate_experiment
from raytrack.families.gravnet.examples import HPARAMS
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "search_spaces").glob("gravnet*.yaml"))
SPLITS = {"train": [0, 1, 2, 3, 4, 5], "val": [6, 7]}
SMALL = {**HPARAMS, "gravnet": [{"n": 4, "n_filters": 8, "n_propagate": 8}],
         "n_cluster_space_coordinates": 3}  # fmt: skip

THREE_STAGES = [
    {"name": "stage_1", "epochs": 1, "lr": 3e-3, "batch_size": 1},
    {"name": "stage_2", "epochs": 2, "lr": 1e-3, "batch_size": 2},
    {"name": "stage_3", "epochs": 1, "lr": 1e-4, "batch_size": 3},
]


def experiment(store: Path, **train) -> dict:
    return {
        "name": "gravnet-stages",
        "model": {"name": "gravnet_oc", "hparams": copy.deepcopy(SMALL)},
        "data": {"store": str(store), "split": [0.75, 0.25, 0.0]},
        "train": {"optimizer": {"name": "nadam", "lr": 1e-3}, "grad_clip": 1.0, **train},
        "tune": {"metric": "val_efficiency", "mode": "max"},
    }


def train_locally(exp, store: Path, directory: Path) -> LocalSession:
    session = LocalSession(store_row_source(str(store), SPLITS), directory)
    run_training(exp, session)
    return session


@pytest.mark.timeout(300)
def test_three_stages_train_as_one_run_with_their_rates_and_batches(calo_store, tmp_path):
    exp = validate_experiment(experiment(calo_store, stages=copy.deepcopy(THREE_STAGES)))
    reports = train_locally(exp, calo_store, tmp_path).reports
    assert [r["epoch"] for r in reports] == [1, 2, 3, 4]
    assert [r["stage"] for r in reports] == [0, 1, 1, 2]
    assert [r["lr"] for r in reports] == pytest.approx([3e-3, 1e-3, 1e-3, 1e-4])
    # 6 training events per epoch: batches of 1, 2 and 3 events
    assert [r["val_batch_events"] for r in reports] == [1.0, 2.0, 2.0, 3.0]
    assert all(r["val_batch_hits"] > 40 * r["val_batch_events"] for r in reports)
    for name in ("attractive", "repulsive", "min_beta", "noise", "energy", "class"):
        assert all(f"train_loss_{name}" in r and f"val_{name}" in r for r in reports)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
@pytest.mark.timeout(300)
def test_shipped_gravnet_experiments_train_one_epoch(path, calo_store, tmp_path):
    exp = load_experiment(path)
    first = {}
    for key, param in exp.search.items():
        listed = param.choices if param.choices is not None else param.grid
        first[key] = listed[0] if listed is not None else param.low
    exp = apply_trial_config(exp, first)
    hparams = dict(exp.model.hparams)
    hparams["gravnet"] = [{"n": 4, "n_filters": 8, "n_propagate": 8}]  # the tiny events
    stages = [s.model_copy(update={"epochs": 1, "batch_size": 2}) for s in exp.train.stages[:1]]
    train = exp.train.model_copy(update={"max_epochs": 1, "stages": stages, "workers": 1,
                                         "gpus_per_worker": 0.0})  # fmt: skip
    data = exp.data.model_copy(update={"store": str(calo_store), "generate": None})
    model = exp.model.model_copy(update={"hparams": hparams})
    exp = exp.model_copy(update={"model": model, "data": data, "train": train})
    (report,) = train_locally(exp, calo_store, tmp_path).reports
    assert report["train_items"] == 6 and exp.tune.metric in report


@pytest.mark.timeout(300)
def test_a_trained_checkpoint_is_judged_with_plots(calo_store, tmp_path):
    from raytrack.pipeline.evaluate import evaluate_checkpoint

    exp = validate_experiment(experiment(calo_store, max_epochs=1, batch_size=2))
    session = train_locally(exp, calo_store, tmp_path / "run")
    name, evaluation = evaluate_checkpoint(session.checkpoints[-1], calo_store,
                                           settings={"split": "val", "event_displays": 1})  # fmt: skip
    from raytrack.data.build import splits_of
    from raytrack.store.sample_store import SampleStore

    val = splits_of(exp.data, SampleStore(calo_store)).val  # the experiment's own split
    assert name == "showers" and evaluation.summary["events"] == len(val) == 2
    assert set(evaluation.per_item["event_id"]) <= set(val)
    written = evaluation.write(tmp_path / "out", prefix=name)
    files = sorted(p.name for p in written.iterdir())
    assert {
        "showers_summary.json",
        "showers_per_item.csv",
        "showers_binned.csv",
        "showers_efficiency.png",
        "showers_fake_rate.png",
        "showers_response.png",
    } <= set(files)
    assert any(f.startswith("showers_event_") for f in files)
    assert (written / "showers_response.png").read_bytes()[:4] == b"\x89PNG"

    from raytrack.pipeline.infer import infer_store

    inferred = infer_store(session.checkpoints[-1], calo_store, tmp_path / "inferred")
    row = next(inferred.iter_rows())
    assert len(inferred) == 8 and row["pred_sid"].shape == row["t_idx"].shape
    assert inferred.schema.column("pred_ccoords").shape == (None, 3)
