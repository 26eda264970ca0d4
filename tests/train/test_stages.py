"""Stages: their own rates, batch sizes, frozen submodules, loss weights and ends."""

from __future__ import annotations

import pytest
import torch

from raytrack.config.schema import Experiment
from raytrack.train.checkpoint import load_checkpoint
from raytrack.train.loop import run_training
from raytrack.train.rng import seed_everything
from raytrack.train.session import LocalSession
from tests.train.helpers import DyingSession, Killed, untimed
from tests.train.tiny_regression import make_rows
from tests.train.tiny_tasks import counter_rows

REGRESSION = {"train": make_rows(48, seed=1), "val": make_rows(16, seed=2)}
COUNTER = {"train": counter_rows(4), "val": counter_rows(2)}


def rows_of(table):
    return lambda split, epoch: iter(table[split])


def experiment(model: str, **train) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "stages-test",
            "model": {"name": model},
            "data": {"store": "unused"},
            "train": train,
            "tune": {"metric": "val_loss" if model != "tiny_counter" else "val_w", "mode": "min"},
        }
    )


def encoder_of(state) -> torch.Tensor:
    return state["model"]["encoder.weight"]


def test_two_stages_with_their_rates_batches_frozen_modules_and_weights(tmp_path):
    session = LocalSession(rows_of(REGRESSION), tmp_path)
    stages = [
        {
            "name": "head",
            "epochs": 2,
            "lr": 0.05,
            "batch_size": 4,
            "freeze": ["encoder"],
            "loss_weights": {"l1": 0.0},
        },
        {"name": "all", "epochs": 3, "lr": 0.01, "batch_size": 8, "loss_weights": {"l1": 0.5}},
    ]
    exp = experiment("tiny_staged", warmup=100, stages=stages, optimizer={"lr": 0.2})
    assert exp.train.max_epochs == 5  # the stages' sum
    run_training(exp, session)

    assert [r["epoch"] for r in session.reports] == [1, 2, 3, 4, 5]
    assert [r["stage"] for r in session.reports] == [0, 0, 1, 1, 1]
    # warmup restarts with each stage: 48 items are 12 steps of 4, then 6 steps of 8
    expected_lr = [
        0.05 * 13 / 100,
        0.05 * 25 / 100,
        0.01 * 7 / 100,
        0.01 * 13 / 100,
        0.01 * 19 / 100,
    ]
    assert [r["lr"] for r in session.reports] == pytest.approx(expected_lr)
    assert all(r["train_items"] == 48 for r in session.reports)
    for r in session.reports[:2]:  # l1 left out of the loss, but still reported
        assert r["train_loss"] == r["train_loss_mse"] and r["train_loss_l1"] > 0
    for r in session.reports[2:]:
        assert r["train_loss"] == pytest.approx(
            r["train_loss_mse"] + 0.5 * r["train_loss_l1"], rel=1e-6
        )

    seed_everything(0)  # the loop seeds, then builds: the same initial weights
    from raytrack.registry import get_model

    initial, _ = get_model("tiny_staged").build({})
    states = [load_checkpoint(path) for path in session.checkpoints]
    assert torch.equal(encoder_of(states[0]), initial.encoder.weight.detach())
    assert torch.equal(encoder_of(states[1]), initial.encoder.weight.detach())
    assert not torch.equal(states[1]["model"]["head.weight"], initial.head.weight.detach())
    assert not torch.equal(encoder_of(states[2]), encoder_of(states[1]))


def test_epoch_warmup_scales_each_epoch_and_restarts_with_each_stage(tmp_path):
    session = LocalSession(rows_of(REGRESSION), tmp_path)
    stages = [
        {"epochs": 2, "lr": 0.05, "batch_size": 4},
        {"epochs": 3, "lr": 0.01, "batch_size": 8},
    ]
    exp = experiment("tiny_staged", warmup=4, warmup_interval="epoch", stages=stages)
    run_training(exp, session)
    # the rate of each epoch's steps: lr * (epoch of the stage + 1) / 4, however many steps
    expected_lr = [0.05 * 1 / 4, 0.05 * 2 / 4, 0.01 * 1 / 4, 0.01 * 2 / 4, 0.01 * 3 / 4]
    assert [r["lr"] for r in session.reports] == pytest.approx(expected_lr)


def counter(**train) -> Experiment:
    return experiment("tiny_counter", optimizer={"name": "sgd", "lr": 1.0}, **train)


def test_until_above_switches_after_the_first_epoch_that_passes(tmp_path):
    # SGD at rate 1 on loss -w: every step adds exactly 1 to w; 4 steps per epoch
    session = LocalSession(rows_of(COUNTER), tmp_path)
    stages = [
        {"name": "count", "until": {"metric": "val_w", "above": 10}},
        {"name": "slow", "lr": 0.5},
    ]
    run_training(counter(max_epochs=6, stages=stages), session)
    assert [r["val_w"] for r in session.reports] == [4, 8, 12, 14, 16, 18]
    assert [r["stage"] for r in session.reports] == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("target", [10.0, 15.0])
def test_an_until_threshold_may_be_a_hyperparameter_of_the_run(tmp_path, target):
    session = LocalSession(rows_of(COUNTER), tmp_path)
    stages = [{"until": {"metric": "val_w", "above": "hparams.target"}}, {"lr": 0.5}]
    exp = counter(max_epochs=6, stages=stages)
    exp = exp.model_copy(
        update={"model": exp.model.model_copy(update={"hparams": {"target": target}})}
    )
    run_training(exp, session)
    switch = {10.0: 3, 15.0: 4}[target]  # the first epoch whose val_w (4, 8, 12, 16) passes
    assert [r["stage"] for r in session.reports] == [0] * switch + [1] * (6 - switch)


def test_an_until_threshold_naming_no_hyperparameter_is_refused_with_its_key():
    from raytrack.config import validate_experiment

    data = counter(stages=[{"until": {"metric": "val_w", "above": "hparams.tagret"}}, {}])
    with pytest.raises(ValueError, match=r"train\.stages\[0\]\.until\.above.*'tagret'.*target"):
        validate_experiment(data.model_dump(mode="json", exclude_unset=True))
    with pytest.raises(ValueError, match="a number or 'hparams.<hyperparameter>'"):
        counter(stages=[{"until": {"metric": "val_w", "above": "auc"}}, {}])


def test_until_below_on_train_loss_and_epochs_as_a_bound(tmp_path):
    session = LocalSession(rows_of(COUNTER), tmp_path / "below")
    stages = [{"until": {"metric": "train_loss", "below": -5.0}}, {"lr": 0.25}]
    run_training(counter(max_epochs=3, stages=stages), session)
    assert [r["train_loss"] for r in session.reports] == [
        -1.5,
        -5.5,
        -8.375,
    ]  # mean of -w before each step
    assert [r["stage"] for r in session.reports] == [0, 0, 1]

    bounded = LocalSession(rows_of(COUNTER), tmp_path / "bounded")
    stages = [{"epochs": 1, "until": {"metric": "val_w", "above": 100}}, {"lr": 0.5}]
    run_training(counter(max_epochs=3, stages=stages), bounded)
    assert [r["stage"] for r in bounded.reports] == [0, 1, 1]
    assert [r["val_w"] for r in bounded.reports] == [4, 6, 8]


def test_until_on_the_last_stage_stops_training(tmp_path):
    session = LocalSession(rows_of(COUNTER), tmp_path)
    run_training(
        counter(max_epochs=6, stages=[{"until": {"metric": "val_w", "above": 6}}]), session
    )
    assert [r["val_w"] for r in session.reports] == [4, 8]
    assert load_checkpoint(session.checkpoints[-1])["finished"] is True
    run_training(
        counter(max_epochs=6, stages=[{"until": {"metric": "val_w", "above": 6}}]), session
    )
    assert len(session.reports) == 2  # a finished run resumed trains no more


@pytest.mark.parametrize("die_after", [2, 3], ids=["mid-stage", "at-the-boundary"])
def test_a_resumed_run_continues_in_its_stage(tmp_path, die_after):
    stages = [{"name": "fast", "epochs": 3}, {"name": "slow", "lr": 0.5}]
    straight = LocalSession(rows_of(COUNTER), tmp_path / "straight")
    run_training(counter(max_epochs=5, warmup=6, stages=stages), straight)

    dying = DyingSession(rows_of(COUNTER), tmp_path / "resumed", die_after=die_after)
    with pytest.raises(Killed):
        run_training(counter(max_epochs=5, warmup=6, stages=stages), dying)
    state = load_checkpoint(dying.checkpoints[-1])
    assert (state["epoch"], state["stage"], state["stage_start"]) == (
        die_after,
        die_after // 3,
        3 * (die_after // 3),
    )
    resumed = LocalSession(rows_of(COUNTER), tmp_path / "resumed")
    run_training(counter(max_epochs=5, warmup=6, stages=stages), resumed)
    assert untimed(dying.reports + resumed.reports) == untimed(straight.reports)
    assert [r["stage"] for r in straight.reports] == [0, 0, 0, 1, 1]


def test_a_stage_freezing_an_unknown_submodule_fails_before_training(tmp_path):
    exp = experiment("tiny_staged", stages=[{"epochs": 1, "freeze": ["encodr"]}])
    with pytest.raises(
        ValueError, match=r"unknown submodule 'encodr' to freeze in stage 0; did you mean 'encoder'"
    ):
        run_training(exp, LocalSession(rows_of(REGRESSION), tmp_path))


def test_a_stage_that_trains_nothing_fails(tmp_path):
    exp = experiment("tiny_staged", stages=[{"epochs": 1, "freeze": ["encoder", "head"]}])
    with pytest.raises(ValueError, match="stage 0 trains nothing"):
        run_training(exp, LocalSession(rows_of(REGRESSION), tmp_path))


def test_a_train_section_that_does_not_fit_the_task_fails_before_training(tmp_path):
    exp = experiment("tiny_staged", stages=[{"epochs": 1, "loss_weights": {"l2": 1.0}}])
    with pytest.raises(
        ValueError, match=r"train.stages\[0\].loss_weights.l2: unknown loss term 'l2'"
    ):
        run_training(exp, LocalSession(rows_of(REGRESSION), tmp_path))
