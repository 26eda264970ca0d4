"""The gravnet task: batches, loss terms, validation figures, infer, and bad input by key."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from raytrack.config import validate_experiment
from raytrack.config.errors import ConfigError
from raytrack.families.gravnet.examples import HPARAMS, example_rows
from raytrack.families.gravnet.oc_loss import TERMS
from raytrack.registry import get_model

EXPERIMENT = {
    "name": "gravnet-test",
    "model": {"name": "gravnet_oc", "hparams": copy.deepcopy(HPARAMS)},
    "data": {"store": "/nonexistent/store", "generate": {"events": 8, "seed": 1}},
    "train": {"stages": [{"name": "stage_1", "epochs": 1, "lr": 1e-3, "batch_size": 2},
                         {"name": "stage_2", "epochs": 1, "lr": 1e-4, "batch_size": 4}]},
    "tune": {"metric": "val_efficiency", "mode": "max"},
}  # fmt: skip


def built(**overrides):
    torch.manual_seed(0)
    return get_model("gravnet_oc").build({**HPARAMS, **overrides})


def problems_of(experiment: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_experiment(experiment)
    return str(caught.value)


def test_the_reference_experiment_validates():
    experiment = validate_experiment(copy.deepcopy(EXPERIMENT))
    assert [s.batch_size for s in experiment.train.stages] == [2, 4]
    assert experiment.train.max_epochs == 2


def test_an_empty_gravnet_list_names_the_key():
    experiment = copy.deepcopy(EXPERIMENT)
    experiment["model"]["hparams"]["gravnet"] = []
    assert "model.hparams.gravnet" in problems_of(experiment)


@pytest.mark.parametrize("q_min", [0.0, -1.0])
def test_a_non_positive_q_min_names_the_key(q_min):
    experiment = copy.deepcopy(EXPERIMENT)
    experiment["model"]["hparams"]["q_min"] = q_min
    message = problems_of(experiment)
    assert "model.hparams.q_min" in message and "greater than 0" in message


def test_a_searched_q_min_range_must_be_positive():
    experiment = copy.deepcopy(EXPERIMENT)
    experiment["search"] = {"q_min": {"low": 0.0, "high": 2.0}}
    assert "search.q_min.low" in problems_of(experiment)


def test_stages_without_epochs_name_the_stage():
    experiment = copy.deepcopy(EXPERIMENT)
    experiment["train"]["stages"][0].pop("epochs")
    message = problems_of(experiment)
    assert "train.stages[0]" in message and "needs epochs or until" in message
    experiment["train"]["stages"][0]["epochs"] = 0
    assert "train.stages[0].epochs" in problems_of(experiment)


def test_more_neighbours_than_hits_names_the_key():
    model, task = built(gravnet=[{"n": 4}, {"n": 500}])
    batch = task.collate([task.prepare(row) for row in example_rows()[:2]])
    with pytest.raises(
        ValueError, match=r"gravnet\[1\]\.n = 500: the kNN needs events of at least"
    ):
        task.training_step(model, batch)


def test_training_step_reports_every_term_and_the_batch_sizes():
    model, task = built(energy_loss_weight=0.0)
    rows = example_rows()
    task.start_epoch(0, 1)
    terms = task.training_step(model, task.collate([task.prepare(r) for r in rows[:2]]))
    task.training_step(model, task.collate([task.prepare(r) for r in rows[2:3]]))
    assert set(terms) == {*TERMS, "regularizer"}
    assert terms["energy"].item() == 0.0 and terms["attractive"].item() > 0
    assert terms["regularizer"].item() > 0
    with torch.no_grad():
        model.eval()
        stats = task.validation_step(model, task.collate([task.prepare(r) for r in rows]))
    metrics = task.summarize(stats)
    assert metrics["batch_events"] == 1.5
    hits = sum(len(r["t_idx"]) for r in rows[:3])
    assert metrics["batch_hits"] == pytest.approx(hits / 2)
    assert metrics["loss"] == pytest.approx(sum(metrics[t] for t in TERMS))
    assert 0.0 <= metrics["efficiency"] <= 1.0 and float(stats["true_showers"]) >= 8


def test_infer_adds_the_predictions_per_hit():
    model, task = built()
    model.eval()
    row = example_rows()[0]
    out = task.infer(model, row)
    n = len(row["t_idx"])
    assert out["event_id"] == row["event_id"]
    assert out["pred_ccoords"].shape == (n, 4) and out["pred_sid"].shape == (n,)
    assert {c.name for c in task.output_columns(out)} <= set(out)
    assert np.array_equal(out["features"], row["features"])
