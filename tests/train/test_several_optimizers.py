"""Tasks with several optimizers (GAN-style): each optimizer learns from its own loss only."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.config.schema import Experiment, SchedulerSection
from raytrack.train.checkpoint import load_checkpoint
from raytrack.train.loop import run_training
from raytrack.train.schedules import LearningRateSchedule
from raytrack.train.session import LocalSession
from raytrack.train.steps import Optimizing, several_optimizers_epoch
from tests.train.tiny_tasks import REAL_MEAN, GANTask, TinyGAN, gan_rows

ROWS = {"train": gan_rows(128, seed=1), "val": gan_rows(16, seed=2)}


def source(split: str, epoch: int):
    return iter(ROWS[split])


def gan_experiment(**train) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "gan-test",
            "model": {"name": "tiny_gan"},
            "data": {"store": "unused"},
            "train": {"max_epochs": 15, "batch_size": 16, "optimizer": {"lr": 0.05}, **train},
            "tune": {"metric": "val_loss", "mode": "min"},
        }
    )


def test_gan_trains_with_two_optimizers_and_reports_each(tmp_path):
    session = LocalSession(source, tmp_path)
    run_training(gan_experiment(), session)
    first, last = session.reports[0], session.reports[-1]
    assert [r["epoch"] for r in session.reports] == list(range(1, 16))
    assert {
        "train_loss_generator",
        "train_loss_discriminator",
        "lr_generator",
        "lr_discriminator",
    } <= set(last)
    assert "lr" not in last and "stage" not in last
    for report in session.reports:  # the total is the sum of the (weight 1) terms
        assert report["train_loss"] == pytest.approx(
            report["train_loss_generator"] + report["train_loss_discriminator"], rel=1e-6
        )
    assert abs(first["val_mean"] - REAL_MEAN) > 1.5  # the generator starts near 0 ...
    assert abs(last["val_mean"] - REAL_MEAN) < 0.6  # ... and learns where the data are
    assert all(math.isfinite(r["train_loss"]) for r in session.reports)


def test_each_optimizer_steps_with_the_gradient_of_its_own_loss_only(tmp_path):
    torch.manual_seed(0)
    model, task = TinyGAN(), GANTask()
    groups = task.parameter_groups(model)
    optimizers = {name: torch.optim.SGD(params, lr=1.0) for name, params in groups.items()}
    before = {name: [p.detach().clone() for p in params] for name, params in groups.items()}
    batch = task.collate([task.prepare(r) for r in ROWS["train"][:8]])

    torch.manual_seed(7)  # the noise the loop's step will draw
    terms = task.training_step(model, batch)
    expected = {
        name: torch.autograd.grad(terms[name], groups[name], retain_graph=True) for name in groups
    }
    mixed = torch.autograd.grad(
        terms["generator"] + terms["discriminator"], groups["discriminator"]
    )
    assert not torch.allclose(mixed[0], expected["discriminator"][0])  # the losses do share a graph

    schedules = {
        name: LearningRateSchedule(opt, lr=1.0, warmup=0, scheduler=SchedulerSection(), length=1)
        for name, opt in optimizers.items()
    }
    run = Optimizing(model, optimizers, schedules, groups, weights={"generator": 1.0, "discriminator": 1.0},
                     trainable=groups, active=list(groups))  # fmt: skip
    torch.manual_seed(7)
    several_optimizers_epoch(
        task, LocalSession(source, tmp_path), run, iter([(batch, 8)]), epoch=0, grad_clip=None
    )
    for name, params in groups.items():
        for old, new, grad in zip(before[name], params, expected[name]):
            assert torch.allclose(old - new.detach(), grad, atol=1e-6), name


def test_per_optimizer_rates_reach_their_parameter_groups(tmp_path):
    session = LocalSession(source, tmp_path)
    experiment = gan_experiment(
        max_epochs=2,
        optimizers={
            "generator": {"name": "adam", "lr": 0.01},
            "discriminator": {"name": "sgd", "lr": 0.003, "momentum": 0.5},
        },
    )
    run_training(experiment, session)
    assert (
        session.reports[0]["lr_generator"] == 0.01
        and session.reports[0]["lr_discriminator"] == 0.003
    )
    state = load_checkpoint(session.checkpoints[-1])
    assert state["optimizers"]["generator"]["param_groups"][0]["lr"] == 0.01
    assert "betas" in state["optimizers"]["generator"]["param_groups"][0]  # adam
    discriminator = state["optimizers"]["discriminator"]["param_groups"][0]
    assert discriminator["lr"] == 0.003 and discriminator["momentum"] == 0.5  # sgd
    assert (
        len(discriminator["params"]) == 2
        and len(state["optimizers"]["generator"]["param_groups"][0]["params"]) == 2
    )


def test_a_stage_rate_mapping_sets_one_optimizer_and_keeps_the_other(tmp_path):
    session = LocalSession(source, tmp_path)
    experiment = gan_experiment(
        max_epochs=3,
        optimizers={"generator": {"lr": 0.01}, "discriminator": {"lr": 0.02}},
        stages=[{"name": "critic", "epochs": 1, "lr": {"discriminator": 0.05}, "loss_weights": {"generator": 0.0}},
                {"name": "both", "lr": 0.001}],
    )  # fmt: skip
    run_training(experiment, session)
    rates = [(r["stage"], r["lr_generator"], r["lr_discriminator"]) for r in session.reports]
    assert rates == [(0, 0.01, 0.05), (1, 0.001, 0.001), (1, 0.001, 0.001)]
    after_critic = load_checkpoint(session.checkpoints[0])
    assert (
        after_critic["optimizers"]["generator"]["state"] == {}
    )  # weight 0: the generator did not step
    assert after_critic["optimizers"]["discriminator"]["state"] != {}
    groups = load_checkpoint(session.checkpoints[-1])["optimizers"]
    assert groups["generator"]["param_groups"][0]["lr"] == 0.001


def test_a_task_with_several_optimizers_must_split_its_parameters(tmp_path):
    from raytrack.train.optimizers import parameter_groups

    class Lazy(GANTask):
        def parameter_groups(self, model):
            return {"generator": list(model.generator.parameters()), "discriminator": []}

    with pytest.raises(
        ValueError, match=r"leaves parameters to no optimizer: \['discriminator.linear.weight"
    ):
        parameter_groups(Lazy(), TinyGAN())

    class Twice(GANTask):
        def parameter_groups(self, model):
            return {
                "generator": list(model.parameters()),
                "discriminator": list(model.discriminator.parameters()),
            }

    with pytest.raises(ValueError, match="in both 'generator' and 'discriminator'"):
        parameter_groups(Twice(), TinyGAN())
