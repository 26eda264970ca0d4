"""Experiment validation: one test per kind of problem, each with its message, path and line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
import yaml

from raytrack.config import ConfigError, Problem, load_experiment, validate_experiment
from tests.config.tiny_family import NAME, Regime, tiny_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("tiny_model")

FILES = Path(__file__).parent / "files"
ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
name: t
model:
  name: tiny_mlp
  hparams: {hidden: 16}
data:
  store: events
"""
"""A valid experiment of 6 lines; tests append sections from line 7 on."""


def problems(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "space.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    for problem in caught.value.problems:
        assert problem.format(str(path)) in str(caught.value).splitlines()
    return caught.value.problems


def only(tmp_path: Path, text: str, path: str, line: int | None, *fragments: str) -> Problem:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    problem = found[0]
    assert (problem.path, problem.line) == (path, line), problem
    for fragment in fragments:
        assert fragment in problem.message, problem
    return problem


def test_valid_file_loads_with_typed_hyperparameters():
    exp = load_experiment(FILES / "tiny_sweep.yaml")
    assert exp.model.name == NAME
    assert exp.model.hparams == {"nb_layer": 2, "regime": ("pid",)}
    assert exp.tune.searcher == "optuna" and len(exp.search) == 8


def test_unknown_top_level_key_suggests_the_close_one(tmp_path):
    only(
        tmp_path,
        HEAD + "serach: {}\n",
        "serach",
        7,
        "unknown key 'serach'",
        "did you mean 'search'?",
    )


def test_unknown_nested_key(tmp_path):
    text = HEAD + "train:\n  optimizer:\n    lr: 0.01\n    wieght_decay: 0.1\n"
    only(
        tmp_path,
        text,
        "train.optimizer.wieght_decay",
        10,
        "in train.optimizer",
        "did you mean 'weight_decay'?",
    )


def test_wrong_type(tmp_path):
    only(
        tmp_path,
        HEAD + "train:\n  max_epochs: ten\n",
        "train.max_epochs",
        8,
        "wrong type",
        "integer",
        "'ten'",
    )


def test_value_out_of_range(tmp_path):
    text = HEAD + "tune:\n  scheduler: {reduction_factor: 1}\n"
    only(tmp_path, text, "tune.scheduler.reduction_factor", 8, "out of range", "greater than 1")


def test_unknown_choice_of_a_schema_literal(tmp_path):
    text = HEAD + "train:\n  optimizer: {name: adma}\n"
    only(
        tmp_path,
        text,
        "train.optimizer.name",
        8,
        "unknown value 'adma'",
        "did you mean 'adam'?",
        "adamw, sgd, rmsprop",
    )


def test_unknown_model_lists_the_registered_ones(tmp_path):
    text = HEAD.replace("name: tiny_mlp", "name: tiny_mpl")
    only(
        tmp_path,
        text,
        "model.name",
        3,
        "unknown model 'tiny_mpl'",
        "did you mean 'tiny_mlp'?",
        "choices:",
        NAME,
    )


def test_unknown_hyperparameter(tmp_path):
    text = HEAD.replace("{hidden: 16}", "{hidden: 16, nb_layers: 3}")
    only(
        tmp_path,
        text,
        "model.hparams.nb_layers",
        4,
        f"unknown hyperparameter 'nb_layers' of model '{NAME}'",
        "did you mean 'nb_layer'?",
        "choices: activation, dropout, hidden",
    )


def test_hyperparameter_wrong_type_and_out_of_range(tmp_path):
    found = problems(tmp_path, HEAD.replace("{hidden: 16}", "{hidden: 0, layernorm: maybe}"))
    assert [(p.path, p.line) for p in found] == [
        ("model.hparams.hidden", 4),
        ("model.hparams.layernorm", 4),
    ]
    assert "out of range" in found[0].message and "greater than or equal to 1" in found[0].message
    assert "wrong type" in found[1].message and "boolean" in found[1].message


def test_hyperparameter_literal_choice(tmp_path):
    text = HEAD.replace("{hidden: 16}", "{hidden: 16, activation: gelu}")
    only(
        tmp_path, text, "model.hparams.activation", 4, "unknown value 'gelu'", "choices: relu, tanh"
    )


def test_unknown_regime_keyword_lists_the_allowed_ones(tmp_path):
    text = HEAD.replace("{hidden: 16}", "\n    hidden: 16\n    regime: [pid, hmn]")
    problem = only(
        tmp_path,
        text,
        "model.hparams.regime[1]",
        6,
        "unknown regime keyword 'hmn'",
        "did you mean 'hnm'?",
    )
    # the allowed keywords come from the annotation, in its order
    assert problem.message.endswith(f"(choices: {', '.join(typing.get_args(Regime))})")


def test_missing_required_hyperparameter(tmp_path):
    text = HEAD.replace("{hidden: 16}", "{nb_layer: 2}")
    only(
        tmp_path, text, "model.hparams", 4, "missing required hyperparameter 'hidden'", "search it"
    )


def test_searching_a_required_hyperparameter_supplies_it(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(HEAD.replace("{hidden: 16}", "{}") + "search:\n  hidden: {low: 8, high: 32}\n")
    assert load_experiment(path).search["hidden"].high == 32


def test_data_options_checked_against_the_task(tmp_path):
    text = HEAD + "  options:\n    true_edges: layerwize\n    pt_cut: 1.0\n"
    found = problems(tmp_path, text)
    assert [(p.path, p.line) for p in found] == [
        ("data.options.true_edges", 8),
        ("data.options.pt_cut", 9),
    ]
    assert "did you mean 'layerwise'?" in found[0].message
    assert "unknown key 'pt_cut'" in found[1].message and "pt_signal_cut" in found[1].message


def test_generate_settings_checked_against_the_simulation(tmp_path):
    text = HEAD + "  generate:\n    events: 4\n    settings:\n      noise_ratio: 2.0\n"
    only(
        tmp_path,
        text,
        "data.generate.settings.noise_ratio",
        10,
        "out of range",
        "less than or equal to 0.9",
    )


def test_data_split_must_sum_to_one(tmp_path):
    only(
        tmp_path,
        HEAD + "  split: [0.5, 0.2, 0.2]\n",
        "data.split",
        7,
        "summing to 1",
        "[0.5, 0.2, 0.2]",
    )


def test_metric_must_be_one_the_task_reports(tmp_path):
    only(
        tmp_path,
        HEAD + "tune: {metric: val_acc}\n",
        "tune.metric",
        7,
        "unknown metric 'val_acc'",
        "did you mean 'val_accuracy'?",
        "train_loss, val_loss, val_accuracy",
    )


def test_asha_max_t_beyond_max_epochs(tmp_path):
    text = HEAD + "train: {max_epochs: 5}\ntune:\n  scheduler: {max_t: 10}\n"
    only(tmp_path, text, "tune.scheduler.max_t", 9, "max_t (10) exceeds train.max_epochs (5)")


def test_asha_grace_period_beyond_max_t(tmp_path):
    text = HEAD + "train: {max_epochs: 5}\ntune:\n  scheduler:\n    grace_period: 6\n"
    only(
        tmp_path,
        text,
        "tune.scheduler.grace_period",
        10,
        "grace_period (6) exceeds ASHA's max_t (5 = train.max_epochs)",
    )


def test_fifo_ignores_asha_settings(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        HEAD + "train: {max_epochs: 5}\ntune:\n  scheduler: {name: fifo, grace_period: 9}\n"
    )
    assert load_experiment(path).tune.scheduler.name == "fifo"


def test_malformed_yaml_reports_the_parser_position(tmp_path):
    text = HEAD + "train:\n  max_epochs: [1, 2\n  seed: 3\n"
    only(
        tmp_path,
        text,
        "",
        9,
        "malformed YAML: while parsing a flow sequence: expected ',' or ']'",
        "line 9, column 7",
    )


def test_duplicate_key(tmp_path):
    found = problems(tmp_path, HEAD + "train: {seed: 1}\ntrain: {seed: 2}\n")
    assert [(p.path, p.line, p.message) for p in found] == [
        ("train", 8, "duplicate key (first at line 7)")
    ]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file"):
        load_experiment(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text, line, kind", [("", None, "empty"), ("- a\n- b\n", 1, "a list")])
def test_document_must_be_a_mapping(tmp_path, text, line, kind):
    only(tmp_path, text, "", line, "an experiment is a mapping", kind)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        load_experiment(FILES / "tiny_errors.yaml")
    found = {(p.path, p.line) for p in caught.value.problems}
    assert found == {
        ("name", 2),
        ("model.hparams", 5),  # hidden is missing
        ("model.hparams.hiddn", 6),
        ("model.hparams.activation", 7),
        ("model.hparams.regime[1]", 8),
        ("data.split", 11),
        ("data.options.pt_signal_cutt", 13),
        ("data.generate.settings.rfactor", 16),
        ("data.generate.settings.noize_ratio", 16),
        ("train.optimzer", 19),
        ("train.batch_size", 20),
        ("search.hidden", 22),
        ("search.nb_layer.low", 23),
        ("search.dropout", 24),
        ("search.train.optimizer.lr.low", 25),
        ("search.train.optimzer.momentum", 26),
        ("search.regime.pdi", 27),
        ("search.activation.grid", 28),
        ("search.layernorm.choices", 29),
        ("tune.metric", 31),
        ("tune.scheduler.max_t", 33),
    }
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines)
    assert str(caught.value).startswith(f"{FILES / 'tiny_errors.yaml'}: 21 problems\n")


def test_validate_in_memory_dict_maps_lines():
    raw = {
        "name": "t",
        "model": {"name": NAME, "hparams": {"hidden": 16, "hiden": 3}},
        "data": {"store": "s"},
    }
    with pytest.raises(ConfigError) as caught:
        validate_experiment(raw, source="inline", lines={"model.hparams": 7})
    assert (
        str(caught.value)
        .splitlines()[1]
        .startswith("inline:7: model.hparams.hiden: unknown hyperparameter")
    )


# -- raytrack validate -----------------------------------------------------------------------

_CLI = """
import sys
from tests.config.tiny_family import NAME, TinyTask, build_tiny
from raytrack.registry import register_model
register_model(NAME, family="tiny", task=TinyTask, sources=("detector_sim",))(build_tiny)
from raytrack.cli import main
status = main(["validate", *sys.argv[1:]])
print("ray imported:", "ray" in sys.modules)
sys.exit(status)
"""


def _raytrack_validate(*files: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _CLI, *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_cli_validate_ok_and_invalid_without_importing_ray():
    ok, bad = FILES / "tiny_sweep.yaml", FILES / "tiny_errors.yaml"
    run = _raytrack_validate(ok)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"{ok}: ok (model tiny_mlp, 8 searched settings, searcher optuna, scheduler asha)",
        "ray imported: False",
    ]
    run = _raytrack_validate(ok, bad)
    assert run.returncode == 1, run.stderr
    out = run.stdout.splitlines()
    assert out[1] == f"{bad}: 21 problems"
    assert f"{bad}:6: model.hparams.hiddn: unknown hyperparameter 'hiddn'" in run.stdout
    assert out[-1] == "ray imported: False"


def test_cli_validate_checks_the_disk_and_pipeline_files(tmp_path):
    from raytrack.cli import main

    raw = {
        "name": "t", "model": {"name": "exatrkx_gnn"}, "data": {"store": str(tmp_path / "none")},
        "train": {"gpus_per_worker": 4}, "storage": str(tmp_path / "results"),
        "tune": {"metric": "val_auc", "mode": "max"},
    }  # fmt: skip
    file = tmp_path / "e.yaml"
    file.write_text(yaml.safe_dump(raw))
    run = subprocess.run(
        [sys.executable, "-m", "raytrack.cli", "validate", str(file)], capture_output=True,
        text=True, cwd=ROOT, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert f"data.store: no sample store at {tmp_path / 'none'}" in run.stdout
    assert "train: one trial needs 4 GPUs" in run.stdout
    assert not (tmp_path / "results").exists()  # nothing made
    assert main(["validate", str(ROOT / "pipelines" / "exatrkx_smoke.yaml")]) == 0


def test_a_stage_freezing_a_submodule_the_model_lacks_is_named_before_ray_starts():
    raw = {
        "name": "t",
        "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 8}},
        "data": {"store": "s"},
        "train": {
            "max_epochs": 4,
            "stages": [{"epochs": 2, "freeze": ["node_encodr"]}, {"epochs": 2}],
        },
        "tune": {"metric": "val_auc", "mode": "max"},
    }
    with pytest.raises(ConfigError) as caught:
        validate_experiment(raw)
    (problem,) = caught.value.problems
    assert problem.path == "train.stages[0].freeze[0]"
    assert (
        "unknown submodule 'node_encodr' of model 'exatrkx_gnn' to freeze; did you mean 'node_encoder'?"
        in problem.message
    )
    raw["train"]["stages"][0]["freeze"] = ["node_encoder", "edge_network.first"]
    assert validate_experiment(raw).train.stages[0].freeze == ["node_encoder", "edge_network.first"]
