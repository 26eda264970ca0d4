"""The train section's stage checks, and the checks that need the task (``train_problems``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from raytrack.config.training import TrainSection, train_problems
from tests.train.tiny_regression import RegressionTask
from tests.train.tiny_tasks import GANTask

GAN_METRICS = ["train_loss", "val_loss", "val_mean", "val_std"]


def errors(data) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        TrainSection.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_max_epochs_defaults_to_the_stages_sum_only_when_every_stage_gives_epochs():
    assert TrainSection.model_validate({"stages": [{"epochs": 4}, {"epochs": 3}]}).max_epochs == 7
    assert TrainSection.model_validate({"stages": [{"epochs": 4}, {}]}).max_epochs == 10
    assert (
        TrainSection.model_validate(
            {"max_epochs": 9, "stages": [{"epochs": 4}, {"epochs": 3}]}
        ).max_epochs
        == 9
    )


def test_stage_schema_problems():
    assert errors({"max_epochs": 5, "stages": [{"epochs": 4}, {"epochs": 3}]}) == [
        (("stages",), "the stages' epochs add up to 7, more than max_epochs (5)")
    ]
    assert errors({"stages": [{"name": "edges"}, {}]}) == [
        (("stages", 0), "stage 0 (edges) is not the last, so it needs epochs or until to end")
    ]
    assert errors({"stages": [{"name": "a", "epochs": 1}, {"name": "a"}]}) == [
        (("stages",), "stage name 'a' is used more than once")
    ]
    [(loc, message)] = errors(
        {"stages": [{"until": {"metric": "val_auc", "above": 0.9, "below": 0.1}}]}
    )
    assert (
        loc == ("stages", 0, "until")
        and "until needs exactly one of above and below, but got both" in message
    )
    [(loc, message)] = errors({"stages": [{"epochs": 1, "frezee": ["encoder"]}]})
    assert loc == ("stages", 0, "frezee") and message == "Extra inputs are not permitted"


def test_train_problems_name_every_mismatch_with_the_task_and_the_choices():
    train = TrainSection.model_validate(
        {
            "optimizers": {"generater": {"lr": 0.1}},
            "stages": [
                {"epochs": 2, "lr": {"discriminator": 0.1, "critic": 0.2}, "loss_weights": {"generatr": 0.0},
                 "until": {"metric": "val_auc", "above": 0.9}},
                {"loss_weights": {"generator": 0.0, "discriminator": 0.0}},
            ],
        }
    )  # fmt: skip
    assert train_problems(train, GANTask, GAN_METRICS) == [
        (("optimizers", "generater"), "unknown optimizer 'generater' of task GANTask; did you mean 'generator'? (choices: generator, discriminator)"),
        (("stages", 0, "lr", "critic"), "unknown optimizer 'critic' of task GANTask (choices: generator, discriminator)"),
        (("stages", 0, "loss_weights", "generatr"), "unknown loss term 'generatr' of task GANTask; did you mean 'generator'? (choices: generator, discriminator)"),
        (("stages", 0, "until", "metric"), "unknown metric 'val_auc' of task GANTask; did you mean 'val_mean'? (choices: train_loss, val_loss, val_mean, val_std)"),
        (("stages", 1, "loss_weights"), "every loss term has weight 0 in stage 1: nothing would train"),
    ]  # fmt: skip


def test_train_problems_of_a_fitting_section_are_none():
    train = TrainSection.model_validate(
        {"optimizers": {"model": {"name": "sgd", "lr": 0.1}},
         "stages": [{"epochs": 2, "lr": 0.1, "loss_weights": {"loss": 2.0}, "until": {"metric": "val_mae", "below": 0.1}}, {}]}
    )  # fmt: skip
    assert train_problems(train, RegressionTask, ["train_loss", "val_loss", "val_mae"]) == []
