"""The hypertrack model through raytrack's loop: voxdyn graphs from the store, the GNN phase,
and the switch to the transformer phase at the epoch the validation AUC first passes
``auc_threshold``."""

from __future__ import annotations

import pytest

from raytrack.config import validate_experiment
from raytrack.tasks.base import TaskContext
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

HPARAMS = {"nstack": 1, "h_dim": 16, "z_dim": 8, "m_dim": 16, "ncell": 64,
           "cluster_block_param": {"h_dim": 16, "nstack_dec": 1}, "edge_threshold": 0.5,
           "cluster_param": {"min_graph": 3, "transformer": {"N_pivots": 2, "min_cluster_size": 2}}}  # fmt: skip
STAGES = [
    {"name": "gnn", "until": {"metric": "val_auc", "above": "hparams.auc_threshold"},
     "freeze": ["transformer"], "loss_weights": {"cluster_BCE": 0.0, "cluster_contrastive": 0.0}},
    {"name": "transformer", "lr": 1.0e-3},
]  # fmt: skip


def experiment(store, **hparams):
    return validate_experiment({
        "name": "hypertrack-switch",
        "model": {"name": "hypertrack", "hparams": {**HPARAMS, **hparams}},
        "data": {"store": str(store), "split": [0.5, 0.5, 0.0], "options": {"node2node": "hyper"}},
        "train": {"max_epochs": 5, "batch_size": 2, "optimizer": {"name": "adamw", "lr": 3.0e-3},
                  "stages": STAGES},
        "tune": {"metric": "val_auc", "mode": "max"},
    })  # fmt: skip


@pytest.mark.timeout(600)
def test_the_transformer_phase_starts_after_the_first_epoch_above_auc_threshold(
    simulated_store, tmp_path, one_thread
):
    store = simulated_store(6, seed=4)
    splits = {"train": [0, 1, 2, 3], "val": [4, 5]}
    context = TaskContext(str(store), splits, artifact_dir=str(tmp_path / "artifacts"))
    session = LocalSession(store_row_source(str(store), splits), tmp_path / "run", context=context)
    # (a tiny GNN on 4 events learns little in 5 epochs: the threshold is one its first epochs
    # pass; the loop's switch at the exact epoch is tests/train/test_stages.py's business)
    run_training(experiment(store, auc_threshold=0.45, ncell=512), session)
    reports = session.reports
    aucs = [r["val_auc"] for r in reports]
    first = next(i for i, auc in enumerate(aucs) if auc > 0.45)  # the epoch that passes
    assert first < len(reports) - 1, aucs  # the switch happens within the run
    assert [r["stage"] for r in reports] == [0] * (first + 1) + [1] * (len(reports) - first - 1)
    for r in reports[: first + 1]:  # the GNN phase: no cluster loss
        assert r["train_loss_cluster_BCE"] == r["train_loss_cluster_contrastive"] == 0.0
    assert any(r["train_loss_cluster_BCE"] > 0 for r in reports[first + 1 :]), reports
    for r in reports:
        assert 0 <= r["val_graph_efficiency"] <= 1 and r["val_edges_per_event"] > 0
        assert 0 <= r["val_trackml_score"] <= 1
    builds = (tmp_path / "artifacts" / "voxdyn" / "builds.jsonl").read_text().splitlines()
    assert len(builds) == 1  # one constructor, built in setup, for the whole run


def test_bad_hypertrack_settings_are_clear_errors_naming_the_key(simulated_store):
    store = simulated_store(6, seed=4)
    with pytest.raises(ValueError, match="auc_threshold"):
        experiment(store, auc_threshold=1.0)
    with pytest.raises(ValueError, match="node2node"):
        validate_experiment({**experiment(store).model_dump(mode="json", exclude_unset=True),
                             "data": {"store": str(store), "options": {"node2node": "tree"}}})  # fmt: skip


def test_an_ncell_the_training_hits_cannot_fill_fails_preflight_naming_ncell(
    simulated_store, tmp_path
):
    from raytrack.tune.preflight import preflight

    store = simulated_store(6, seed=4)  # about 500 particle hits per event, 3 training events
    fits = experiment(store).model_copy(update={"storage": str(tmp_path / "results")})
    assert preflight(fits) == []
    searched = validate_experiment({
        **fits.model_dump(mode="json", exclude_unset=True),
        "search": {"ncell": {"choices": [64, 100_000]}},
    })  # fmt: skip
    problems = preflight(searched)
    assert len(problems) == 1 and problems[0].startswith("model.hparams.ncell: ncell=100000")
    assert "larger than the" in problems[0]
