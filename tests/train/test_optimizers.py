"""The optimizer table: names, keyword arguments checked and typed from the torch classes."""

from __future__ import annotations

from typing import Optional, Union

import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from raytrack.config.training import (
    OPTIMIZERS,
    OptimizerSection,
    TrainSection,
    optimizer_argument_types,
)
from raytrack.train.optimizers import optimizer_class


def errors(data) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        TrainSection.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_the_table_names_torch_classes():
    assert list(OPTIMIZERS)[:4] == ["adam", "adamw", "sgd", "rmsprop"]
    assert {"nadam", "adagrad", "radam", "adadelta"} <= set(OPTIMIZERS)
    for name in OPTIMIZERS:
        assert issubclass(optimizer_class(name), torch.optim.Optimizer)
    with pytest.raises(KeyError, match="unknown optimizer 'adma'; did you mean 'adam'"):
        optimizer_class("adma")


def test_weight_decay_is_zero_for_every_optimizer_unless_given():
    assert OptimizerSection(name="adamw").arguments == {"lr": 1e-3, "weight_decay": 0.0}


def test_argument_types_come_from_the_signature_without_tensor():
    adam = optimizer_argument_types("adam")
    assert adam["betas"] == tuple[float, float] and adam["eps"] is float and adam["amsgrad"] is bool
    assert adam["foreach"] == Optional[bool]  # noqa: UP045 (the typing object is compared)
    assert not {"params", "lr", "weight_decay"} & set(adam)
    assert TypeAdapter(adam["betas"]).validate_python([0.5, 0.9]) == (0.5, 0.9)
    sgd = optimizer_argument_types("sgd")
    assert sgd["momentum"] is float and sgd["nesterov"] is bool
    for name in OPTIMIZERS:  # every annotation is usable by pydantic
        for annotation in optimizer_argument_types(name).values():
            TypeAdapter(annotation)
    with pytest.raises(KeyError, match="unknown optimizer 'nadma'; did you mean 'nadam'"):
        optimizer_argument_types("nadma")


def test_keyword_arguments_are_typed_and_kept():
    section = TrainSection.model_validate(
        {"optimizer": {"name": "adam", "betas": [0.5, 0.999], "amsgrad": True}}
    ).optimizer
    assert section.arguments == {
        "lr": 1e-3,
        "weight_decay": 0.0,
        "betas": (0.5, 0.999),
        "amsgrad": True,
    }
    again = TrainSection.model_validate(
        TrainSection(optimizer=section).model_dump(mode="json")
    ).optimizer
    assert again.arguments == section.arguments


def test_an_argument_of_another_optimizer_is_an_error_listing_the_valid_ones():
    [(loc, message)] = errors({"optimizer": {"name": "adam", "momentum": 0.9}})
    assert loc == ("optimizer", "momentum")
    assert "unknown key 'momentum' in train.optimizer (torch.optim.Adam)" in message
    assert "(choices: name, lr, weight_decay, betas, eps, amsgrad," in message


def test_a_misspelt_argument_suggests_the_close_one():
    [(loc, message)] = errors({"optimizer": {"name": "sgd", "nesterv": True}})
    assert loc == ("optimizer", "nesterv") and "did you mean 'nesterov'?" in message


def test_argument_values_are_type_and_range_checked():
    [(loc, message)] = errors({"optimizer": {"name": "adam", "betas": 0.9}})
    assert loc == ("optimizer", "betas") and "wrong type for torch.optim.Adam betas" in message
    [(loc, message)] = errors({"optimizer": {"name": "sgd", "momentum": "lots"}})
    assert loc == ("optimizer", "momentum") and "valid number" in message
    [(loc, message)] = errors({"optimizer": {"name": "adam", "betas": [1.5, 0.9]}})
    assert (
        loc == ("optimizer",)
        and "torch.optim.Adam rejects these settings: Invalid beta parameter" in message
    )


def test_per_optimizer_sections_say_where_they_are():
    found = errors(
        {"optimizers": {"generator": {"name": "sgd", "betas": [0.5, 0.9]}, "critic": {"lr": -1}}}
    )
    assert found[0][0] == ("optimizers", "generator", "betas")
    assert "unknown key 'betas' in train.optimizers.generator (torch.optim.SGD)" in found[0][1]
    assert found[1][0] == ("optimizers", "critic", "lr") and "greater than 0" in found[1][1]


def test_an_optimizer_section_on_its_own_names_its_class():
    with pytest.raises(ValidationError, match="unknown key 'momentum' of torch.optim.Adam"):
        OptimizerSection(name="adam", momentum=0.9)


def test_optimizer_for_picks_the_override():
    train = TrainSection.model_validate(
        {"optimizer": {"lr": 0.1}, "optimizers": {"critic": {"name": "sgd", "lr": 0.2}}}
    )
    assert (
        train.optimizer_for("critic").name == "sgd" and train.optimizer_for("generator").lr == 0.1
    )


def test_union_annotations_keep_their_other_members():
    from raytrack.config.optimizers import _without

    assert _without(Union[float, torch.Tensor, None], torch.Tensor) == Optional[float]  # noqa: UP007, UP045
