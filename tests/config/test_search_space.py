"""The search space in Ray Tune: domains per kind (integer ranges include high), and Ray's
OptunaSearch and variant generator sampling them, list-valued choices included."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import yaml

from raytrack.config import (
    apply_trial_config,
    load_experiment,
    tune_search_space,
    validate_experiment,
)
from tests.config.tiny_family import experiment, tiny_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("tiny_model")

FILES = Path(__file__).parent / "files"


# -- Ray Tune domains ------------------------------------------------------------------------


def space(search: dict, tune: dict | None = None) -> dict:
    return tune_search_space(validate_experiment(experiment(search, tune)))


def test_float_domains():
    from ray.tune.search.sample import Float, LogUniform, Quantized, Uniform

    domains = space(
        {
            "dropout": {"low": 0.0, "high": 0.5},
            "train.optimizer.lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "weight": {"low": 0.5, "high": 2.0, "step": 0.5},
            "train.grad_clip": {
                "low": 1,
                "high": 100,
                "log": True,
                "step": 1,
            },  # float setting, int bounds
        }
    )
    dropout, lr, weight, clip = (
        domains[f]
        for f in (
            "model.hparams.dropout",
            "train.optimizer.lr",
            "model.hparams.weight",
            "train.grad_clip",
        )
    )
    assert all(isinstance(d, Float) for d in (dropout, lr, weight, clip))
    assert (dropout.lower, dropout.upper) == (0.0, 0.5) and isinstance(
        dropout.get_sampler(), Uniform
    )
    assert (lr.lower, lr.upper) == (1e-4, 1e-2) and isinstance(lr.get_sampler(), LogUniform)
    assert isinstance(weight.get_sampler(), Quantized) and weight.get_sampler().q == 0.5
    assert set(weight.sample(size=400)) == {0.5, 1.0, 1.5, 2.0}
    assert isinstance(clip.get_sampler(), Quantized) and isinstance(
        clip.get_sampler().sampler, LogUniform
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"low": 1, "high": 3},
        {"low": 1, "high": 3, "log": True},
        {"low": 1, "high": 3, "step": 1},
        {"type": "int", "low": 1, "high": 3},
    ],
)
def test_integer_ranges_include_high(entry):
    from ray.tune.search.sample import Integer

    domain = space({"nb_layer": entry})["model.hparams.nb_layer"]
    assert isinstance(domain, Integer)
    assert set(domain.sample(size=600)) == {1, 2, 3}


def test_quantized_integer_range_takes_the_multiples_of_step():
    domain = space({"hidden": {"low": 8, "high": 64, "step": 8}})["model.hparams.hidden"]
    assert set(domain.sample(size=800)) == set(range(8, 65, 8))


def test_choices_and_grid():
    from ray.tune.search.sample import Categorical

    domains = space(
        {
            "activation": {"choices": ["relu", "tanh"]},
            "regime": {"choices": [["pid"], ["pid", "weighting"], []]},
            "layernorm": {"grid": [True, False]},
        }
    )
    assert isinstance(domains["model.hparams.activation"], Categorical)
    assert domains["model.hparams.activation"].categories == ["relu", "tanh"]
    # Optuna stores only None/bool/int/float/str: lists travel as JSON text
    assert domains["model.hparams.regime"].categories == ['["pid"]', '["pid", "weighting"]', "[]"]
    assert domains["model.hparams.layernorm"] == {"grid_search": [True, False]}


def test_optuna_warns_about_list_choices_which_is_why_they_are_encoded():
    import optuna

    with pytest.warns(UserWarning, match="Choices for a categorical distribution"):
        optuna.distributions.CategoricalDistribution([["pid"], ["pid", "weighting"]])


def test_optuna_search_samples_every_kind_including_list_choices():
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    raw = yaml.safe_load((FILES / "tiny_sweep.yaml").read_text())
    del raw["search"]["regime.weighting"], raw["search"]["regime.hnm"]
    raw["search"]["regime"] = {"choices": [["pid"], ["pid", "weighting"], []]}
    exp = validate_experiment(raw)
    space = OptunaSearch.convert_search_space(tune_search_space(exp))
    sampler = optuna.samplers.TPESampler(n_startup_trials=4, seed=0)
    searcher = OptunaSearch(space=space, metric="val_accuracy", mode="max", sampler=sampler)
    regimes, hidden = set(), set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Optuna warning about non-primitive choices
        for i in range(16):
            config = searcher.suggest(f"t{i}")
            trial = apply_trial_config(exp, config)
            hp = trial.model.hparams
            regimes.add(hp["regime"])
            hidden.add(hp["hidden"])
            assert 8 <= hp["hidden"] <= 64 and hp["activation"] in ("relu", "tanh")
            assert hp["dropout"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
            assert 1e-4 <= trial.train.optimizer.lr <= 1e-2 and 1 <= trial.train.batch_size <= 4
            assert trial.data.options["pt_signal_cut"] in (0.0, 0.5, 1.0)
            searcher.on_trial_complete(
                f"t{i}", {"val_accuracy": hp["hidden"] / 64}
            )  # TPE learns from these
    assert regimes <= {("pid",), ("pid", "weighting"), ()} and len(regimes) >= 2
    assert len(hidden) > 4


def test_grid_of_lists_expands_in_rays_variant_generator():
    from ray.tune.search.variant_generator import generate_variants

    exp = validate_experiment(
        experiment(
            {
                "regime": {"grid": [["pid"], ["weighting", "hnm"]]},
                "layernorm": {"grid": [True, False]},
            }
        )
    )
    variants = [config for _, config in generate_variants(tune_search_space(exp))]
    assert len(variants) == 4
    trials = [apply_trial_config(exp, config).model.hparams for config in variants]
    assert {(t["regime"], t["layernorm"]) for t in trials} == {
        (r, ln) for r in (("pid",), ("weighting", "hnm")) for ln in (True, False)
    }


def test_random_sampling_stays_in_bounds():
    from ray.tune.search.variant_generator import generate_variants

    exp = load_experiment(FILES / "tiny_sweep.yaml")
    exp = exp.model_copy(update={"tune": exp.tune.model_copy(update={"searcher": "random"})})
    for _ in range(20):
        ((_, config),) = generate_variants(tune_search_space(exp))
        trial = apply_trial_config(exp, config)
        assert 8 <= trial.model.hparams["hidden"] <= 64
        assert math.isclose(
            trial.model.hparams["dropout"] * 10, round(trial.model.hparams["dropout"] * 10)
        )


def test_space_survives_a_full_dump_and_reload():
    """The sweep driver saves the experiment with every field and reloads it (sweep.json)."""
    from raytrack.config.schema import Experiment

    exp = validate_experiment(
        experiment(
            {
                "train.optimizer.lr": {"low": 1e-4, "high": 1e-2, "log": True},
                "dropout": {"choices": [0.0, 0.1]},
            }
        )
    )
    reloaded = Experiment.model_validate(exp.model_dump(mode="json"))
    assert set(tune_search_space(reloaded)) == set(tune_search_space(exp))


# -- epochs: ASHA's top rung and each trial's full length -----------------------------------


def test_asha_top_rung_is_the_largest_searched_max_epochs():
    from raytrack.config import epoch_budget, trial_epochs

    asha = {"searcher": "random", "scheduler": {"name": "asha", "grace_period": 1}}
    fixed = validate_experiment(
        experiment({"dropout": {"choices": [0.0, 0.1]}}, asha, train={"max_epochs": 7})
    )
    assert epoch_budget(fixed) == 7
    assert trial_epochs(fixed, {}) == 7

    searched = validate_experiment(
        experiment({"train.max_epochs": {"choices": [4, 12, 8]}}, asha, train={"max_epochs": 7})
    )
    assert epoch_budget(searched) == 12
    # A trial that drew 4 epochs and ran 4 completed; it was not stopped early.
    assert trial_epochs(searched, {"train.max_epochs": 4}) == 4

    capped = validate_experiment(
        experiment(
            {"train.max_epochs": {"low": 4, "high": 12}},
            {**asha, "scheduler": {"name": "asha", "grace_period": 1, "max_t": 6}},
            train={"max_epochs": 7},
        )
    )
    assert epoch_budget(capped) == 6
    assert trial_epochs(capped, {"train.max_epochs": 10}) == 6
    assert trial_epochs(capped, {"train.max_epochs": 5}) == 5
