"""The search grammar: one test per kind of bad entry, bad key or bad searched value."""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.config import (
    ConfigError,
    validate_experiment,
)
from tests.config.tiny_family import NAME, experiment, tiny_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("tiny_model")

FILES = Path(__file__).parent / "files"


def problems(search: dict, tune: dict | None = None, **sections) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_experiment(experiment(search, tune, **sections))
    return [(p.path, p.message) for p in caught.value.problems]


def only(search: dict, path: str, *fragments: str, tune: dict | None = None) -> str:
    found = problems(search, tune)
    assert len(found) == 1 and found[0][0] == path, found
    for fragment in fragments:
        assert fragment in found[0][1], found
    return found[0][1]


# -- grammar --------------------------------------------------------------------------------


def test_low_must_be_below_high():
    only(
        {"dropout": {"low": 0.5, "high": 0.5}},
        "search.dropout",
        "low (0.5) must be below high (0.5)",
    )


def test_log_range_needs_positive_low():
    only(
        {"train.optimizer.lr": {"low": 0.0, "high": 0.1, "log": True}},
        "search.train.optimizer.lr.low",
        "log range needs low > 0",
    )


@pytest.mark.parametrize(
    "step, message",
    [
        (0.0, "step must be positive"),
        (-0.1, "step must be positive"),
        (0.8, "larger than the range"),
        (0.15, "must be multiples of step (0.15)"),
    ],
)
def test_bad_step(step, message):
    only({"dropout": {"low": 0.1, "high": 0.5, "step": step}}, "search.dropout.step", message)


def test_optuna_cannot_quantize_a_log_range():
    only(
        {"hidden": {"low": 8, "high": 64, "log": True, "step": 8}},
        "search.hidden.step",
        "Optuna cannot sample a log range with a step",
        tune={"searcher": "optuna"},
    )


def test_empty_choices_and_grid():
    found = problems({"activation": {"choices": []}, "layernorm": {"grid": []}})
    assert found == [
        ("search.activation.choices", "choices is empty: give at least one value"),
        ("search.layernorm.grid", "grid is empty: give at least one value"),
    ]


def test_one_form_per_entry():
    only(
        {"dropout": {"low": 0.1, "high": 0.2, "choices": [0.1]}},
        "search.dropout",
        "not low/high and choices",
    )
    only({"dropout": {}}, "search.dropout", "nothing to search")
    only({"dropout": {"low": 0.1}}, "search.dropout", "missing high")


def test_type_conflicting_with_keys():
    only(
        {"dropout": {"type": "choice", "low": 0.1, "high": 0.2}},
        "search.dropout.type",
        "type choice needs choices, but low/high is given",
    )
    only(
        {"activation": {"type": "grid", "choices": ["relu"]}},
        "search.activation.type",
        "type grid needs grid",
    )


def test_integer_setting_with_float_bounds_is_a_wrong_type():
    only(
        {"nb_layer": {"low": 1.0, "high": 3}},
        "search.nb_layer.low",
        "wrong type",
        "is an integer, but low is 1.0",
    )
    only(
        {"train.max_epochs": {"type": "float", "low": 1, "high": 3}},
        "search.train.max_epochs.type",
        "wrong type",
    )


def test_range_over_a_non_numeric_setting():
    only(
        {"activation": {"low": 0, "high": 1}},
        "search.activation",
        "is not a number: search it with choices or grid",
    )


def test_grid_needs_a_searcher_that_runs_grids():
    only(
        {"activation": {"grid": ["relu", "tanh"]}},
        "search.activation.grid",
        "optuna cannot run a grid",
        "use searcher random or grid",
        tune={"searcher": "optuna"},
    )


def test_grid_searcher_needs_grid_entries():
    only(
        {"dropout": {"low": 0.0, "high": 0.5}, "activation": {"grid": ["relu"]}},
        "search.dropout",
        "tune.searcher grid tries grid values only",
        tune={"searcher": "grid"},
    )


# -- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, fragments",
    [
        ("hiden", ["unknown hyperparameter 'hiden' of model 'tiny_mlp'", "did you mean 'hidden'?"]),
        ("train.optimzer.lr", ["unknown key 'optimzer' in train", "did you mean 'optimizer'?"]),
        ("train.optimizer", ["is a section, not a setting", "name, lr, weight_decay"]),
        ("train.max_epochs.x", ["is a setting, not a section"]),
        ("tune.num_samples", ["'tune' cannot be searched"]),
        ("model.name", ["the model cannot be searched"]),
        ("trian.seed", ["unknown section 'trian'", "did you mean 'train'?"]),
        ("data.options.pt_cut", ["unknown data option 'pt_cut'", "pt_signal_cut"]),
        (
            "regime.pdi",
            [
                "unknown regime keyword 'pdi'",
                "did you mean 'pid'?",
                "(choices: pid, weighting, hnm)",
            ],
        ),
        ("hidden.pid", ["'hidden' is not a keyword list"]),
        ("model.hparams.hiden", ["unknown hyperparameter 'hiden'"]),
    ],
)
def test_search_key_must_name_a_setting(key, fragments):
    only({key: {"choices": [1]}}, f"search.{key}", *fragments)


def test_a_setting_is_searched_once():
    found = problems({"hidden": {"low": 8, "high": 16}, "model.hparams.hidden": {"choices": [8]}})
    assert found == [
        ("search.model.hparams.hidden", "model.hparams.hidden is already searched by search.hidden")
    ]
    found = problems({"regime": {"choices": [["pid"]]}, "regime.hnm": {"choices": [True, False]}})
    assert found == [
        ("search.regime.hnm", "model.hparams.regime.hnm is already searched by search.regime")
    ]


# -- searched values against their setting ---------------------------------------------------


def test_searched_bounds_obey_the_hyperparameter_bounds():
    only(
        {"hidden": {"low": 0, "high": 20}},
        "search.hidden.low",
        "out of range for model.hparams.hidden",
        "greater than or equal to 1",
    )
    assert problems({"hidden": {"low": 8, "high": 2000}}) == [
        (
            "search.hidden.high",
            "out of range for model.hparams.hidden: "
            "Input should be less than or equal to 1024, got 2000",
        )
    ]


def test_searched_schema_settings_obey_the_schema_bounds():
    only(
        {"train.optimizer.lr": {"low": 0.0, "high": 0.1}},
        "search.train.optimizer.lr.low",
        "out of range for train.optimizer.lr",
        "greater than 0",
    )
    plateau = {"train": {"scheduler": {"name": "plateau"}}}
    found = problems({"train.scheduler.factor": {"choices": [0.5, 1.5]}}, **plateau)
    assert len(found) == 1 and found[0][0] == "search.train.scheduler.factor.choices[1]", found
    assert "less than 1" in found[0][1]
    # a setting of another scheduler is not searched silently
    found = problems({"train.scheduler.factor": {"choices": [0.5]}})
    assert found == [("search.train.scheduler.factor.choices[0]",
                      "factor is not a setting of scheduler 'none' (its settings: none)")]  # fmt: skip
    only(
        {"data.split": {"choices": [[0.8, 0.1, 0.1], [0.9, 0.2, 0.1]]}},
        "search.data.split.choices[1]",
        "summing to 1",
    )
    only(
        {"data.options.pt_signal_cut": {"grid": [1.0, -1.0]}},
        "search.data.options.pt_signal_cut.grid[1]",
        "greater than or equal to 0",
    )


def test_searched_choices_obey_the_hyperparameter_type():
    only(
        {"activation": {"choices": ["relu", "gelu"]}},
        "search.activation.choices[1]",
        "unknown value 'gelu' for model.hparams.activation",
        "(choices: relu, tanh)",
    )
    only(
        {"regime": {"choices": [["pid"], ["pid", "wieghting"]]}},
        "search.regime.choices[1][1]",
        "unknown regime keyword 'wieghting'",
        "did you mean 'weighting'?",
    )
    only(
        {"regime.hnm": {"choices": [True, "yes"]}},
        "search.regime.hnm.choices[1]",
        "a toggle is true or false",
    )
