"""CLI conventions: missing packages found by validate, help on every flag, honest progress."""

from __future__ import annotations

import argparse
import importlib.util
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from raytrack.cli import build_parser, main
from tests.config.tiny_family import tiny_model  # noqa: F401  (fixture)

TINY = Path(__file__).parents[1] / "config" / "files" / "tiny_sweep.yaml"


@pytest.mark.usefixtures("tiny_model")
def test_validate_names_a_logger_whose_package_is_missing(monkeypatch, tmp_path, capsys):
    experiment = tmp_path / "logged.yaml"
    experiment.write_text(
        TINY.read_text() + "logging:\n  wandb: {enabled: true}\n  mlflow: {enabled: true}\n"
    )
    monkeypatch.chdir(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a)
    )
    assert main(["validate", str(experiment)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "logging.wandb.enabled needs the wandb package" in err and "pip install wandb" in err
    assert "mlflow" not in err and "Traceback" not in err


def test_every_flag_of_every_command_says_what_it_does():
    missing = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif not action.help and not isinstance(action, argparse._HelpAction):
                missing.append(f"{' '.join(path)} {action.option_strings or action.dest}")

    walk(build_parser(), ["raytrack"])
    assert not missing


def test_version_prints_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("raytrack ")


def test_progress_counts_against_the_planned_trials_with_an_eta():
    from raytrack.tune.progress import ProgressPrinter

    out = io.StringIO()
    printer = ProgressPrinter("val_auc", "max", lambda config: 4, total=8, stream=out)
    trials = [SimpleNamespace(trial_id=f"t{i}", status="RUNNING", config={}) for i in range(2)]
    printer.on_trial_result(1, trials, trials[0], {"val_auc": 0.7, "training_iteration": 1})
    trials[0].status, trials[0].last_result = "TERMINATED", {"training_iteration": 4}
    printer.on_trial_complete(4, trials, trials[0])
    lines = out.getvalue().splitlines()
    assert "t0 completed after 4 epochs" in lines[-2]
    tally = lines[-1].strip()
    assert tally.startswith("1/8 done, 1 running, 6 pending; best val_auc 0.7 (t0); ETA ")
    assert "\x1b[" not in out.getvalue()


def test_planned_trials_multiplies_grid_entries():
    from ray import tune

    from raytrack.tune.tuner import planned_trials

    domains = {"a": tune.grid_search([1, 2, 3]), "b": tune.uniform(0, 1)}
    assert planned_trials(domains, SimpleNamespace(num_samples=2)) == 6
