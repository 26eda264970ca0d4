"""``--set KEY=VALUE`` overrides: YAML-typed values, nested keys and list items, search entries,
errors that name the key, the commands that take them, and the sweep saving the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raytrack.cli import main
from raytrack.config import ConfigError, experiment_to_dict, load_experiment
from raytrack.config.overrides import apply_overrides
from tests.config.tiny_family import tiny_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("tiny_model")

FILES = Path(__file__).parent / "files"
TINY = FILES / "tiny_sweep.yaml"


def problems(err: pytest.ExceptionInfo) -> dict[str, str]:
    return {p.path: p.message for p in err.value.problems}


def test_values_are_yaml_typed():
    data = apply_overrides(
        {"train": {"max_epochs": 8}},
        [
            "train.max_epochs=2",
            "train.optimizer.lr=1e-3",  # PyYAML alone would read text
            "train.grad_clip=0.5",
            "logging.wandb.enabled=true",
            "description=a b c",
            "model.hparams.regime=[pid, hnm]",
            "data.max_events=null",
        ],
    )
    train = data["train"]
    assert train["max_epochs"] == 2 and isinstance(train["max_epochs"], int)
    assert train["optimizer"]["lr"] == 1e-3 and isinstance(train["optimizer"]["lr"], float)
    assert train["grad_clip"] == 0.5
    assert data["logging"] == {"wandb": {"enabled": True}}  # missing sections are created
    assert data["description"] == "a b c"
    assert data["model"]["hparams"]["regime"] == ["pid", "hnm"]
    assert data["data"]["max_events"] is None


def test_the_original_mapping_is_untouched_and_later_overrides_win():
    original = {"train": {"max_epochs": 8}}
    data = apply_overrides(original, ["train.max_epochs=2", "train.max_epochs=3"])
    assert data["train"]["max_epochs"] == 3 and original["train"]["max_epochs"] == 8


def test_lists_whole_or_by_index_and_search_entries_with_dotted_keys():
    exp = load_experiment(
        TINY,
        overrides=[
            "data.split=[0.7, 0.2, 0.1]",
            "data.split[1]=0.25",
            "data.split[2]=0.05",
            "model.hparams.nb_layer=3",
            "search.train.optimizer.lr.low=1e-5",
            "search.dropout={choices: [0.0, 0.25]}",
            "storage=/scratch/sweeps",
        ],
    )
    assert exp.data.split == (0.7, 0.25, 0.05)
    assert exp.model.hparams["nb_layer"] == 3
    assert exp.search["train.optimizer.lr"].low == 1e-5
    assert exp.search["train.optimizer.lr"].high == 1e-2  # the rest of the entry is kept
    assert exp.search["dropout"].choices == [0.0, 0.25]
    assert exp.storage == "/scratch/sweeps"


def test_without_overrides_the_file_loads_as_before():
    assert load_experiment(TINY) == load_experiment(TINY, overrides=[])


def test_an_unknown_key_fails_naming_it_and_the_override():
    with pytest.raises(ConfigError) as err:
        load_experiment(TINY, overrides=["train.max_epoch=2", "model.hparams.hiddn=8"])
    found = problems(err)
    assert "unknown key 'max_epoch'" in found["train.max_epoch"]
    assert "did you mean 'max_epochs'" in found["train.max_epoch"]
    assert "(from --set train.max_epoch)" in found["train.max_epoch"]
    assert "hiddn" in found["model.hparams.hiddn"]
    assert all(p.line is None for p in err.value.problems)  # no line of the file is blamed


def test_a_bad_value_fails_naming_the_key():
    with pytest.raises(ConfigError) as err:
        load_experiment(TINY, overrides=["train.max_epochs=abc", "data.split=[0.5, 0.2]"])
    found = problems(err)
    assert "wrong type" in found["train.max_epochs"] and "'abc'" in found["train.max_epochs"]
    assert any(path.startswith("data.split") for path in found)


@pytest.mark.parametrize(
    ("override", "path", "words"),
    [
        ("train.max_epochs", "train.max_epochs", "KEY=VALUE"),
        ("=3", "=3", "KEY=VALUE"),
        ("data.split=[0.8,", "data.split", "not valid YAML"),
        ("data.split[5]=0.1", "data.split[5]", "out of range"),
        ("name.first=x", "name.first", "not a mapping"),
        ("train.max_epochs[0]=1", "train.max_epochs[0]", "is not a list"),
        ("train..lr=1", "train..lr", "is not a key"),
    ],
)
def test_a_malformed_override_names_itself(override, path, words):
    with pytest.raises(ConfigError) as err:
        load_experiment(TINY, overrides=[override])
    assert err.value.source == "--set"
    assert list(problems(err)) == [path] and words in problems(err)[path]


def test_validate_tune_and_train_take_set(capsys, tmp_path):
    assert main(["validate", str(TINY), "--set", "storage=" + str(tmp_path)]) == 0
    assert main(["validate", str(TINY), "--set", "train.max_epoch=2"]) == 1
    assert "train.max_epoch" in capsys.readouterr().out
    # tune and train validate before Ray starts: a bad override fails at once, naming the key.
    for command in ("tune", "train"):
        assert main([command, str(TINY), "--set", "train.optimizer.lr=-1"]) == 1
        assert "train.optimizer.lr" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_overrides_are_what_the_sweep_saves(tmp_path):
    """The sweep directory keeps the resolved experiment (``sweep.json``, which ``resume``,
    ``report`` and the trials read), so an override is part of the sweep."""
    from raytrack.tune.tuner import Sweep, prepare_sweep

    storage = tmp_path / "results"
    experiment = load_experiment(
        TINY,
        overrides=[
            f"storage={storage}",
            f"data.store={tmp_path / 'store'}",
            "train.max_epochs=2",
            "model.hparams.nb_layer=1",
            "tune.scheduler.max_t=2",
        ],
    )
    sweep = prepare_sweep(experiment, name="overridden")
    saved = json.loads((storage / "overridden" / "sweep.json").read_text())["experiment"]
    assert saved["train"]["max_epochs"] == 2 and saved["model"]["hparams"]["nb_layer"] == 1
    assert saved["storage"] == str(storage)
    reloaded = Sweep.load(sweep.path).experiment_model()
    assert experiment_to_dict(reloaded) == experiment_to_dict(experiment)
