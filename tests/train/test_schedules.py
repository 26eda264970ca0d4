"""The scheduler table: each schedule's rates, its own settings and only those."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from raytrack.config.training import SCHEDULERS, SchedulerSection
from raytrack.train.schedules import EPOCH_RATES, LearningRateSchedule


def rates(epochs: int, length: int = 10, **settings) -> list[float]:
    """The rate of epochs 0 .. epochs-1 of a stage of ``length`` epochs, base rate 1."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = LearningRateSchedule(
        optimizer, lr=1.0, warmup=0, scheduler=SchedulerSection(**settings), length=length
    )
    seen = []
    for _ in range(epochs):
        seen.append(schedule.lr)
        assert optimizer.param_groups[0]["lr"] == schedule.lr
        schedule.end_epoch(None)
    return seen


def test_every_configured_scheduler_has_a_rate():
    assert EPOCH_RATES.keys() == SCHEDULERS.keys()


def test_none_keeps_the_rate():
    assert rates(3, name="none") == [1.0, 1.0, 1.0]


def test_step_and_exponential_and_multistep():
    assert rates(5, name="step", patience=2, factor=0.5) == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert rates(4, name="exponential", factor=0.5, min_lr=0.2) == [1.0, 0.5, 0.25, 0.2]
    assert rates(6, name="multistep", milestones=[2, 5], factor=0.1) == pytest.approx(
        [1, 1, 0.1, 0.1, 0.1, 0.01]
    )


def test_warmcos_is_one_cosine_over_the_stage_by_default():
    seen = rates(10, length=10, name="warmcos", min_lr=0.0)
    assert seen == pytest.approx([0.5 * (1 + math.cos(math.pi * e / 10)) for e in range(10)])


def test_warmcos_restarts_every_period():
    seen = rates(9, length=9, name="warmcos", period=3, min_lr=0.1)
    cycle = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * e / 3)) for e in range(3)]
    assert seen == pytest.approx(cycle * 3)
    assert seen[3] == 1.0  # the warm restart


def test_restart_starts_a_stage_from_its_own_base_rate():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = LearningRateSchedule(optimizer, lr=1.0, warmup=2,
                                    scheduler=SchedulerSection(name="step", patience=1, factor=0.5), length=5)  # fmt: skip
    schedule.step()
    schedule.end_epoch(None)
    assert schedule.lr == 0.5
    schedule.restart(0.1, length=3)
    assert schedule.lr == pytest.approx(0.05)  # warmup again: step 1 of 2
    schedule.step()
    assert schedule.lr == pytest.approx(0.1)


def test_unset_settings_take_the_scheduler_defaults():
    section = SchedulerSection(name="plateau")
    assert (section.patience, section.factor, section.min_lr, section.period) == (
        10,
        0.3,
        0.0,
        None,
    )
    assert SchedulerSection(name="none").patience is None


def test_a_setting_of_another_scheduler_is_an_error_naming_the_scheduler_and_its_settings():
    with pytest.raises(ValidationError) as caught:
        SchedulerSection(name="none", patience=5)
    [error] = caught.value.errors()
    assert error["loc"] == ("patience",)
    assert error["msg"] == "patience is not a setting of scheduler 'none' (its settings: none)"
    with pytest.raises(
        ValidationError,
        match=r"period is not a setting of scheduler 'step' \(its settings: patience, factor, min_lr\)",
    ):
        SchedulerSection(name="step", period=3)


def test_required_settings_and_milestones():
    with pytest.raises(
        ValidationError,
        match=r"scheduler 'exponential' needs factor \(its settings: factor, min_lr\)",
    ):
        SchedulerSection(name="exponential")
    with pytest.raises(ValidationError, match="scheduler 'multistep' needs milestones"):
        SchedulerSection(name="multistep")
    with pytest.raises(
        ValidationError,
        match=r"milestones must be increasing epochs of at least 1, but got \[3, 2\]",
    ):
        SchedulerSection(name="multistep", milestones=[3, 2])


def warmup_rates(epochs: int, steps_per_epoch: int, **settings) -> list[list[float]]:
    """The rate at every step of ``epochs`` epochs (base rate 1), per epoch."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = SchedulerSection(**settings.pop("scheduler", {"name": "none"}))
    schedule = LearningRateSchedule(
        optimizer, lr=1.0, scheduler=scheduler, length=epochs, **settings
    )
    seen = []
    for _ in range(epochs):
        epoch = []
        for _ in range(steps_per_epoch):
            epoch.append(optimizer.param_groups[0]["lr"])
            schedule.step()
        seen.append(epoch)
        schedule.end_epoch(None)
    return seen


def test_epoch_warmup_scales_whole_epochs_as_the_exatrkx_current_epoch_warmup():
    # lr_scale = min(1, (current_epoch + 1) / warmup), times StepLR(step_size 2, gamma 0.5)
    seen = warmup_rates(5, 3, warmup=3, warmup_interval="epoch",
                        scheduler={"name": "step", "patience": 2, "factor": 0.5})  # fmt: skip
    expected = [1 / 3, 2 / 3, 0.5, 0.5, 0.25]
    assert seen == [pytest.approx([rate] * 3) for rate in expected]


def test_step_warmup_is_the_default_and_counts_optimizer_steps():
    seen = warmup_rates(2, 3, warmup=4)
    assert seen == [pytest.approx([0.25, 0.5, 0.75]), pytest.approx([1.0, 1.0, 1.0])]


def test_epoch_warmup_longer_than_the_run_never_reaches_the_base_rate():
    # the Exa.TrkX GNN: warmup 200 epochs in a run of 30, its rate (epoch + 1) / 200 throughout
    seen = warmup_rates(30, 1, warmup=200, warmup_interval="epoch")
    assert [epoch[0] for epoch in seen] == pytest.approx([(e + 1) / 200 for e in range(30)])


def test_warmup_interval_is_step_or_epoch():
    from raytrack.config.training import TrainSection

    assert TrainSection().warmup_interval == "step"
    assert TrainSection(warmup=3, warmup_interval="epoch").warmup_interval == "epoch"
    with pytest.raises(ValidationError, match="warmup_interval"):
        TrainSection(warmup=3, warmup_interval="batch")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="warmup_interval must be 'step' or 'epoch'"):
        LearningRateSchedule(optimizer, lr=1.0, warmup=1, warmup_interval="batch",
                             scheduler=SchedulerSection(), length=1)  # fmt: skip
