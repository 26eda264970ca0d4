"""The training loop without Ray: learning, reports, checkpoints, resume, schedules."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.config.schema import Experiment, SchedulerSection
from raytrack.train.checkpoint import load_model
from raytrack.train.loop import run_training
from raytrack.train.schedules import LearningRateSchedule
from raytrack.train.session import LocalSession
from tests.train.helpers import untimed
from tests.train.tiny_regression import TRUE_B, TRUE_W, make_rows

ROWS = {"train": make_rows(48, seed=1), "val": make_rows(16, seed=2)}


def source(split: str, epoch: int):
    return iter(ROWS[split])


def experiment(**train) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "loop-test",
            "model": {"name": "tiny_regression"},
            "data": {"store": "unused"},
            "train": {"max_epochs": 8, "batch_size": 8, "optimizer": {"lr": 0.2}, **train},
            "tune": {"metric": "val_mae", "mode": "min"},
        }
    )


def test_loop_learns_and_reports_every_epoch(tmp_path):
    session = LocalSession(source, tmp_path)
    last = run_training(experiment(), session)
    assert [r["epoch"] for r in session.reports] == list(range(1, 9))
    assert list(session.reports[0])[0] == "val_mae"  # the tuned metric leads
    assert session.reports[-1]["train_items"] == 48
    assert session.reports[-1]["val_loss"] < session.reports[0]["val_loss"] / 5
    assert last["val_mae"] < 0.3
    model, _, saved = load_model(session.checkpoints[-1])
    assert saved.name == "loop-test"
    assert torch.allclose(model.weight.detach().squeeze(), torch.tensor(TRUE_W), atol=0.3)
    assert abs(float(model.bias.detach()) - TRUE_B) < 0.3


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "adam", "lr": 0.2},
        {"name": "adamw", "lr": 0.2, "weight_decay": 1e-4},
        {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        {"name": "rmsprop", "lr": 0.02},
        {"name": "nadam", "lr": 0.2, "momentum_decay": 0.004},
        {"name": "adagrad", "lr": 0.5},
        {"name": "radam", "lr": 0.2, "betas": [0.9, 0.99]},
        {"name": "adadelta", "lr": 30.0, "rho": 0.9},
    ],
    ids=lambda o: o["name"],
)
def test_every_optimizer_builds_the_torch_class_and_learns(tmp_path, optimizer):
    from raytrack.config.schema import OptimizerSection
    from raytrack.config.training import OPTIMIZERS
    from raytrack.train.optimizers import build_optimizer

    built = build_optimizer(OptimizerSection(**optimizer), [torch.nn.Parameter(torch.zeros(1))])
    assert type(built) is getattr(torch.optim, OPTIMIZERS[optimizer["name"]])
    group = built.param_groups[0]
    assert group["lr"] == optimizer["lr"] and group["weight_decay"] == optimizer.get(
        "weight_decay", 0.0
    )
    for key, value in optimizer.items():
        if key not in ("name", "lr"):
            assert group[key] == (tuple(value) if isinstance(value, list) else value), key
    session = LocalSession(source, tmp_path)
    run_training(experiment(optimizer=optimizer), session)
    assert session.reports[-1]["val_loss"] < session.reports[0]["val_loss"] / 3


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    straight = LocalSession(source, tmp_path / "straight")
    run_training(experiment(max_epochs=4), straight)

    interrupted = LocalSession(source, tmp_path / "resumed")
    run_training(experiment(max_epochs=2), interrupted)
    run_training(experiment(max_epochs=4), interrupted)  # picks up checkpoint 2

    assert [r["epoch"] for r in interrupted.reports] == [1, 2, 3, 4]
    assert untimed(interrupted.reports) == untimed(straight.reports)  # to the last bit


def test_non_finite_loss_fails_loudly(tmp_path):
    with pytest.raises(FloatingPointError, match="training loss"):
        run_training(
            experiment(optimizer={"name": "sgd", "lr": 1e6}, max_epochs=3),
            LocalSession(source, tmp_path),
        )


def _schedule(name: str, **kwargs) -> LearningRateSchedule:
    params = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = torch.optim.SGD(params, lr=1.0)
    return LearningRateSchedule(
        optimizer,
        lr=1.0,
        warmup=kwargs.pop("warmup", 0),
        scheduler=SchedulerSection(name=name, **kwargs),
        length=10,
    )


def test_warmup_is_linear_in_steps():
    schedule = _schedule("none", warmup=4)
    seen = [schedule.lr]
    for _ in range(5):
        schedule.step()
        seen.append(schedule.lr)
    assert seen == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    assert schedule.optimizer.param_groups[0]["lr"] == pytest.approx(1.0)


def test_step_schedule_multiplies_by_factor_every_patience_epochs():
    schedule = _schedule("step", patience=2, factor=0.5)
    lrs = []
    for _ in range(5):
        schedule.end_epoch(None)
        lrs.append(schedule.lr)
    assert lrs == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25])


def test_plateau_waits_patience_epochs_without_improvement():
    schedule = _schedule("plateau", patience=2, factor=0.1)
    for value in [1.0, 0.9, 0.95, 0.95]:  # improves, then two bad epochs
        schedule.end_epoch(value)
    assert schedule.lr == pytest.approx(0.1)
    state = schedule.state_dict()
    again = _schedule("plateau", patience=2, factor=0.1)
    again.load_state_dict(state)
    assert again.lr == pytest.approx(0.1)


def test_warmcos_reaches_min_lr_at_max_epochs():
    schedule = _schedule("warmcos", min_lr=0.01)
    for _ in range(5):
        schedule.end_epoch(None)
    assert schedule.lr == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi / 2)))
    for _ in range(5):
        schedule.end_epoch(None)
    assert schedule.lr == pytest.approx(0.01)
