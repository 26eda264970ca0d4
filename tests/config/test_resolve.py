"""From a sweep to one trial: search keys, applying sampled values, best-config round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raytrack.config import (
    ConfigError,
    apply_trial_config,
    dump_experiment,
    experiment_to_dict,
    fixed_experiment,
    load_experiment,
    search_keys,
    validate_experiment,
)
from tests.config.tiny_family import tiny_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("tiny_model")

FILES = Path(__file__).parent / "files"


@pytest.fixture
def sweep():
    return load_experiment(FILES / "tiny_sweep.yaml")


TRIAL = {
    "model.hparams.hidden": 32,
    "model.hparams.dropout": 0.30000000000000004,
    "model.hparams.activation": "tanh",
    "model.hparams.regime.weighting": True,
    "model.hparams.regime.hnm": False,
    "train.optimizer.lr": np.float64(0.003),
    "train.batch_size": np.int64(2),
    "data.options.pt_signal_cut": 1.0,
}


def test_search_keys_are_canonical_paths(sweep):
    assert search_keys(sweep) == {
        "hidden": "model.hparams.hidden",
        "dropout": "model.hparams.dropout",
        "activation": "model.hparams.activation",
        "regime.weighting": "model.hparams.regime.weighting",
        "regime.hnm": "model.hparams.regime.hnm",
        "train.optimizer.lr": "train.optimizer.lr",
        "train.batch_size": "train.batch_size",
        "data.options.pt_signal_cut": "data.options.pt_signal_cut",
    }


def test_apply_trial_config_sets_every_path_and_leaves_the_original(sweep):
    before = sweep.model_dump()
    trial = apply_trial_config(sweep, TRIAL)
    assert sweep.model_dump() == before
    assert trial.model.hparams == {
        "nb_layer": 2,
        "regime": ("pid", "weighting"),
        "hidden": 32,
        "dropout": 0.3,
        "activation": "tanh",
    }
    assert trial.train.optimizer.lr == 0.003 and type(trial.train.optimizer.lr) is float
    assert trial.train.batch_size == 2 and type(trial.train.batch_size) is int
    assert trial.train.optimizer.name == "adamw"  # untouched siblings stay
    assert trial.data.options == {"pt_signal_cut": 1.0}
    assert trial.search == sweep.search


def test_values_may_be_keyed_by_search_key(sweep):
    trial = apply_trial_config(sweep, {"hidden": 12, "regime.hnm": True})
    assert trial.model.hparams["hidden"] == 12 and trial.model.hparams["regime"] == ("pid", "hnm")


def test_regime_toggles_remove_and_add_keywords(sweep):
    fixed = {
        "model.hparams.regime.pid": False,
        "model.hparams.regime.hnm": True,
        "model.hparams.regime.weighting": True,
    }
    trial = apply_trial_config(sweep, {"model.hparams.hidden": 8, **fixed})
    assert trial.model.hparams["regime"] == (
        "weighting",
        "hnm",
    )  # the annotation's order for added ones


def test_toggles_start_from_the_default_when_the_list_is_not_fixed(sweep):
    raw = experiment_to_dict(sweep)
    del raw["model"]["hparams"]["regime"]
    base = validate_experiment(raw)
    trial = apply_trial_config(
        base, {"model.hparams.hidden": 8, "model.hparams.regime.weighting": True}
    )
    assert trial.model.hparams["regime"] == ("pid", "weighting")  # TinyTask's default is ("pid",)


def test_list_choices_are_decoded_even_without_the_search_section(sweep):
    base = sweep.model_copy(update={"search": {}})  # as the trial driver receives it
    trial = apply_trial_config(
        base,
        {
            "model.hparams.hidden": 8,
            "model.hparams.regime": '["hnm", "pid"]',
            "data.split": "[0.6, 0.2, 0.2]",
        },
    )
    assert trial.model.hparams["regime"] == ("hnm", "pid")
    assert trial.data.split == (0.6, 0.2, 0.2)


def test_invalid_trial_values_are_reported(sweep):
    with pytest.raises(ConfigError, match=r"model\.hparams\.hidden: out of range"):
        apply_trial_config(sweep, {"model.hparams.hidden": 0})
    with pytest.raises(ConfigError, match="unknown hyperparameter 'hiden'"):
        apply_trial_config(sweep, {"hiden": 3})


def test_fixed_experiment_is_a_plain_training_run(sweep):
    best = fixed_experiment(sweep, TRIAL)
    assert best.search == {} and best.tune.num_samples == 1
    assert best.model.hparams["hidden"] == 32 and best.model.hparams["regime"] == (
        "pid",
        "weighting",
    )
    assert best.tune.metric == sweep.tune.metric and best.train.optimizer.lr == 0.003


def test_best_yaml_round_trip(sweep, tmp_path):
    best = fixed_experiment(sweep, TRIAL)
    path = dump_experiment(best, tmp_path / "best.yaml")
    again = load_experiment(path)
    assert again == best
    assert experiment_to_dict(again) == experiment_to_dict(best)
    assert "hidden: 32" in path.read_text() and "regime: [pid, weighting]" in path.read_text()


def test_sweep_round_trip_keeps_the_search_entries_as_written(sweep, tmp_path):
    again = load_experiment(dump_experiment(sweep, tmp_path / "sweep.yaml"))
    assert again == sweep
    assert experiment_to_dict(again)["search"]["hidden"] == {"low": 8, "high": 64, "log": True}
    assert again.search["hidden"].model_fields_set == {"low", "high", "log"}


def test_experiment_to_dict_is_json(sweep):
    data = experiment_to_dict(apply_trial_config(sweep, TRIAL))
    assert json.loads(json.dumps(data)) == data
    assert data["model"]["hparams"]["regime"] == ["pid", "weighting"]
