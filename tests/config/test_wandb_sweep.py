"""W&B sweep files both ways: three real-style sweep files import into experiments that validate
(and one runs), export → import is lossless for every kind both sides express, and what cannot
be translated is listed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from raytrack.cli import main
from raytrack.config import load_experiment, validate_experiment
from raytrack.config.search import searched
from raytrack.config.wandb_sweep import export_sweep, import_sweep
from tests.config.tiny_family import experiment, tiny_model  # noqa: F401  (fixture)

FILES = Path(__file__).parent / "files"
WANDB = FILES / "wandb"
ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "search_spaces" / "quickstart.yaml"


def imported(name: str, base: Path = QUICKSTART):
    data, notes = import_sweep(yaml.safe_load((WANDB / name).read_text()), _load(base))
    return validate_experiment(data), {note.key: note.reason for note in notes}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def space(exp) -> dict:
    """What a sweep samples: each setting's checked spec, by canonical path."""
    return {target.canonical: spec for _, target, spec in searched(exp)}


# -- import of real-style W&B files -----------------------------------------------------------


def test_grid_sweep_imports_as_a_grid():
    exp, notes = imported("grid.yaml")
    assert exp.tune.searcher == "grid" and exp.tune.num_samples == 1
    assert exp.name == "gnn-width-grid"  # W&B's sweep name names the sweep
    assert (exp.tune.metric, exp.tune.mode) == ("val_auc", "max")
    assert exp.search["hidden"].grid == [16, 32, 64]
    assert exp.search["n_graph_iters"].grid == [2, 3, 4]  # int_uniform enumerated
    assert exp.train.optimizer.lr == 0.003  # the constant is a fixed setting
    assert exp.tune.scheduler.name == "fifo"  # no early_terminate: every trial runs to the end
    assert list(notes) == ["program"]


def test_random_sweep_with_log_uniform_values_and_int_uniform():
    exp, notes = imported("random.yaml")
    tune = exp.tune
    assert (tune.searcher, tune.metric, tune.mode, tune.num_samples) == (
        "random", "val_loss", "min", 20,
    )  # fmt: skip
    lr, iters = exp.search["train.optimizer.lr"], exp.search["n_graph_iters"]
    assert (lr.low, lr.high, lr.log, lr.type) == (1e-5, 1e-2, True, "float")
    assert (iters.low, iters.high, iters.type) == (1, 6, "int")
    assert exp.search["train.batch_size"].choices == [1, 2, 4]
    edge_cut = exp.search["edge_cut"]
    assert (edge_cut.low, edge_cut.high, edge_cut.step) == (0.3, 0.7, 0.1)  # q_uniform
    assert exp.train.max_epochs == 6
    assert sorted(notes) == ["command", "program"]


def test_bayes_sweep_with_hyperband_and_nested_parameters():
    exp, notes = imported("bayes_hyperband.yaml")
    assert exp.tune.searcher == "optuna" and exp.tune.num_samples == 12
    scheduler = exp.tune.scheduler
    assert (scheduler.name, scheduler.grace_period, scheduler.reduction_factor, scheduler.max_t) == (
        "asha", 1, 3, 9,
    )  # fmt: skip
    assert set(exp.search) == {
        "model.hparams.hidden",
        "model.hparams.nb_node_layer",
        "train.optimizer.lr",
        "train.optimizer.betas",
    }
    lr = exp.search["train.optimizer.lr"]  # log_uniform: natural-log bounds
    assert lr.low == pytest.approx(1e-4, rel=1e-2) and lr.high == pytest.approx(1e-2, rel=1e-2)
    assert exp.search["train.optimizer.betas"].choices == [[0.9, 0.999], [0.5, 0.999]]
    assert exp.model.hparams["layernorm"] is True and exp.train.max_epochs == 9
    assert "normal" in notes["parameters.momentum"]
    assert sorted(notes) == ["command", "parameters.momentum", "program"]


@pytest.mark.parametrize("name", ["grid.yaml", "random.yaml", "bayes_hyperband.yaml"])
def test_import_sweep_writes_a_file_that_validates_and_lists_what_it_left(name, tmp_path, capsys):
    out = tmp_path / "imported.yaml"
    args = ["import-sweep", str(WANDB / name), "--base", str(QUICKSTART), "-o", str(out)]
    assert main([*args, "--set", f"storage={tmp_path / 'results'}"]) == 0
    err = capsys.readouterr().err
    assert "not translated: program:" in err
    text = out.read_text()
    assert "#   - program: raytrack runs its trials itself" in text  # the comment block
    assert yaml.safe_load(text)["storage"] == str(tmp_path / "results")  # --set applied
    assert main(["validate", str(out)]) == 0


def test_an_import_that_does_not_validate_fails_naming_the_key(tmp_path, capsys):
    sweep = tmp_path / "typo.yaml"
    sweep.write_text("method: random\nparameters:\n  hiden: {values: [8, 16]}\n")
    out = tmp_path / "out.yaml"
    args = ["import-sweep", str(sweep), "--base", str(QUICKSTART), "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "search.hiden" in err and "did you mean 'hidden'" in err
    assert not out.exists()
    assert main(["import-sweep", str(sweep), "--base", str(QUICKSTART), "--set", "x=1"]) == 1
    assert main(["import-sweep", str(WANDB / "grid.yaml"), "--base", str(sweep)]) == 1


def test_everything_untranslatable_is_listed():
    sweep = {
        "method": "bayes",
        "name": "my sweep",
        "program": "train.py",
        "command": ["${env}", "${program}"],
        "metric": {"name": "val_auc", "goal": "maximize", "target": 0.99},
        "parameters": {
            "edge_cut": {"distribution": "normal", "mu": 0.5, "sigma": 0.1},
            "hidden": {"distribution": "inv_log_uniform_values", "min": 8, "max": 64},
            "aggregation": {
                "distribution": "categorical_w_probabilities",
                "values": ["sum", "max"],
                "probabilities": [0.8, 0.2],
            },
            "nb_node_layer": {"min": 1, "max": 3, "step": 1},
        },
        "early_terminate": {"type": "hyperband", "min_iter": 2, "s": 3, "strict": True},
        "controller": {"type": "local"},
        "bogus": 1,
    }
    data, notes = import_sweep(sweep, _load(QUICKSTART))
    listed = {note.key: note.reason for note in notes}
    assert set(listed) == {
        "program", "command", "metric.target", "parameters.edge_cut", "parameters.hidden",
        "parameters.aggregation.probabilities", "parameters.nb_node_layer",
        "early_terminate.s", "early_terminate.strict", "run_cap", "controller", "bogus", "name",
    }  # fmt: skip
    assert (
        "unknown top-level key" in listed["bogus"] and "step" in listed["parameters.nb_node_layer"]
    )
    exp = validate_experiment(data)  # what was translated still validates
    assert exp.search["aggregation"].choices == ["sum", "max"]
    assert exp.tune.scheduler.reduction_factor == 3  # W&B's default eta
    assert exp.tune.num_samples == 8  # no run_cap: the base's count


def test_hyperband_by_max_iter_and_s_places_asha_s_lowest_rung():
    sweep = {
        "method": "random",
        "metric": {"name": "val_auc", "goal": "maximize"},
        "parameters": {"hidden": {"values": [8, 16]}},
        "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3},
        "run_cap": 4,
    }
    data, notes = import_sweep(sweep, _load(QUICKSTART))
    assert data["tune"]["scheduler"] | {} == {
        "name": "asha", "grace_period": 3, "reduction_factor": 3, "max_t": 27,
    }  # fmt: skip
    assert notes == []


def test_unknown_method_or_goal_is_an_error():
    with pytest.raises(ValueError, match="unknown method 'custom'"):
        import_sweep({"method": "custom", "parameters": {}}, _load(QUICKSTART))
    with pytest.raises(ValueError, match="unknown metric.goal 'max'"):
        import_sweep({"method": "grid", "metric": {"name": "x", "goal": "max"}}, _load(QUICKSTART))


# -- export → import round trips ---------------------------------------------------------------


def round_trip(raw: dict):
    """``raw`` exported, written and read as YAML, imported onto a base that lacks its search
    and tune sections, its fixed hyperparameters and its epochs: the original and the result."""
    original = validate_experiment(raw)
    sweep, notes = export_sweep(original)
    sweep = yaml.safe_load(yaml.safe_dump(sweep))
    base = {key: value for key, value in raw.items() if key not in ("search", "tune")}
    base["model"] = {**raw["model"], "hparams": {}}  # the export's constants restore them
    base["train"] = {**raw.get("train", {}), "max_epochs": 77}
    data, _ = import_sweep(sweep, base)
    return original, validate_experiment(data), sweep, notes


def assert_same_sweep(original, result):
    assert space(result) == space(original)
    assert result.tune.model_dump() == original.tune.model_dump()
    searched_names = {p.split(".")[2] for p in space(original) if p.count(".") == 2}
    fixed = {k: v for k, v in original.model.hparams.items() if k not in searched_names}
    assert result.model.hparams == fixed  # constants restored (a searched one needs none)
    assert result.train.max_epochs == original.train.max_epochs


@pytest.mark.usefixtures("tiny_model")
def test_round_trip_of_every_range_kind_choices_toggles_and_asha():
    """tiny_sweep: int log range, float step (q_uniform), float log range, int range, choices,
    regime toggles, data options; Optuna with ASHA (max_t = grace_period * 2**3)."""
    raw = _load(FILES / "tiny_sweep.yaml")
    original, result, sweep, notes = round_trip(raw)
    assert_same_sweep(original, result)
    parameters = sweep["parameters"]
    assert parameters["model.hparams.hidden"]["distribution"] == "q_log_uniform_values"
    assert parameters["model.hparams.dropout"]["distribution"] == "q_uniform"
    assert parameters["model.hparams.regime.hnm"] == {"values": [True, False]}
    assert sweep["early_terminate"] == {
        "type": "hyperband", "min_iter": 1, "eta": 2, "max_iter": 8, "s": 3,
    }  # fmt: skip
    assert sweep["run_cap"] == 6 and sweep["metric"] == {"name": "val_accuracy", "goal": "maximize"}
    assert {note.key for note in notes} == {"tune.searcher", "tune.seed"}


@pytest.mark.usefixtures("tiny_model")
def test_round_trip_of_steps_list_valued_choices_and_fixed_values():
    raw = experiment(
        {
            "hidden": {"low": 8, "high": 64, "step": 8},
            "train.optimizer.lr": {"low": 0.001, "high": 0.01, "step": 0.001, "log": True},
            "train.batch_size": {"low": 2, "high": 8, "step": 2, "log": True},
            "regime": {"choices": [["pid"], ["pid", "weighting"], []]},
            "weight": {"choices": [0.5, 2.0]},
        },
        {"searcher": "random", "num_samples": 5, "metric": "val_loss", "mode": "min",
         "scheduler": {"name": "asha", "grace_period": 2, "reduction_factor": 3}},
        train={"max_epochs": 12},
    )  # fmt: skip
    raw["model"]["hparams"].update(nb_layer=3, activation="tanh", layernorm=True)
    original, result, sweep, _ = round_trip(raw)
    assert_same_sweep(original, result)
    assert result.model.hparams["activation"] == "tanh" and result.train.max_epochs == 12
    assert sweep["parameters"]["model.hparams.regime"] == {
        "values": [["pid"], ["pid", "weighting"], []]
    }


@pytest.mark.usefixtures("tiny_model")
def test_round_trip_of_a_grid_with_list_values_and_no_early_stopping():
    raw = experiment(
        {
            "hidden": {"grid": [8, 16]},
            "regime": {"grid": [["pid"], ["pid", "hnm"]]},
            "train.optimizer.lr": {"grid": [0.001, 0.01]},
        },
        {"searcher": "grid", "scheduler": {"name": "fifo"}, "metric": "val_accuracy",
         "mode": "max"},
    )  # fmt: skip
    original, result, sweep, notes = round_trip(raw)
    assert_same_sweep(original, result)
    assert sweep["method"] == "grid" and "early_terminate" not in sweep and "run_cap" not in sweep
    assert [note.key for note in notes] == ["tune.seed"]


@pytest.mark.usefixtures("tiny_model")
def test_export_lists_what_w_and_b_cannot_express(tmp_path, capsys):
    raw = experiment(
        {"hidden": {"grid": [8, 16]}, "dropout": {"low": 0.0, "high": 0.5}},
        {"searcher": "random", "num_samples": 3, "max_concurrent_trials": 2,
         "scheduler": {"name": "asha", "grace_period": 1, "brackets": 2, "max_t": 6}},
        train={"max_epochs": 6},
    )  # fmt: skip
    _, notes = export_sweep(validate_experiment(raw))
    assert {note.key for note in notes} == {
        "search.hidden", "tune.seed", "tune.max_concurrent_trials",
        "tune.scheduler.brackets", "tune.scheduler.max_t",
    }  # fmt: skip
    file = tmp_path / "space.yaml"
    file.write_text(yaml.safe_dump(raw))
    out = tmp_path / "sweep.yaml"
    assert main(["export-sweep", str(file), "-o", str(out), "--set", "tune.num_samples=4"]) == 0
    text = out.read_text()
    assert "# Not expressible in W&B:" in text and "tune.scheduler.brackets" in text
    assert yaml.safe_load(text)["run_cap"] == 4
    assert "not expressible in W&B: search.hidden" in capsys.readouterr().err


# -- registration (offline here) ---------------------------------------------------------------


@pytest.mark.usefixtures("tiny_model")
def test_registration_is_skipped_offline_and_calls_wandb_sweep_online(monkeypatch):
    """No network here: online registration is checked for its call shape only, with a FAKE
    ``wandb.sweep`` standing in for W&B's server."""
    import wandb

    from raytrack.tune.wandb_sweep_registration import register_wandb_sweep

    calls = []
    monkeypatch.setattr(wandb, "sweep", lambda sweep, **kw: calls.append((sweep, kw)) or "abc123")
    exp = load_experiment(FILES / "tiny_sweep.yaml", overrides=["logging.wandb.enabled=true"])
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert register_wandb_sweep(exp, "proj", None) is None and calls == []  # offline

    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    monkeypatch.setenv("WANDB_MODE", "online")
    assert register_wandb_sweep(exp, "proj", "lab") == "abc123"
    (sweep, kwargs), = calls  # fmt: skip
    assert kwargs == {"entity": "lab", "project": "proj"}
    assert sweep["metric"] == {"name": "val_accuracy", "goal": "maximize"}
    assert sweep["project"] == "proj" and "model.hparams.hidden" in sweep["parameters"]


# -- an imported sweep runs --------------------------------------------------------------------


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_an_imported_sweep_runs(ray_session, simulated_store, tmp_path):
    import pandas as pd

    store = simulated_store(12, seed=5)
    base = tmp_path / "base.yaml"
    base.write_text(
        yaml.safe_dump(
            {
                "name": "imported",
                "model": {
                    "name": "exatrkx_gnn",
                    "hparams": {"hidden": 8, "nb_node_layer": 1, "nb_edge_layer": 1},
                },
                "data": {
                    "store": str(store),
                    "split": [0.5, 0.5, 0.0],
                    "options": {"noise": False},
                },
                "train": {"batch_size": 2, "cpus_per_worker": 1},
                "storage": str(tmp_path / "results"),
            }
        )  # fmt: skip
    )
    out = tmp_path / "imported.yaml"
    args = ["import-sweep", str(WANDB / "random.yaml"), "--base", str(base), "-o", str(out)]
    overrides = ["tune.num_samples=2", "train.max_epochs=1", "search.train.batch_size.choices=[2]"]
    assert main([*args, *(f"--set={o}" for o in overrides)]) == 0
    assert main(["tune", str(out), "--name", "run", "--verbose", "0"]) == 0
    trials = pd.read_csv(tmp_path / "results" / "run" / "trials.csv")
    assert len(trials) == 2 and (trials["epochs"] == 1).all()
