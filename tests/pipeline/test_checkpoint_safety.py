"""Checkpoints load data, never code; a sweep's best.json is followed only inside the sweep;
a checkpoint given to the wrong evaluator says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from raytrack.cli import main
from raytrack.config.schema import Experiment
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source


class _Planted:
    """Unpickling this would create the file ``target`` (what an attacker's code would do)."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, simulated_store) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("embedding")
    store = simulated_store(6, seed=4)
    experiment = Experiment.model_validate(
        {
            "name": "embedding",
            "model": {"name": "exatrkx_embedding", "hparams": {"emb_hidden": 8, "nb_layer": 1}},
            "data": {"store": str(store), "options": {"noise": False}},
            "train": {"max_epochs": 1, "batch_size": 2},
            "tune": {"metric": "val_loss", "mode": "min"},
        }
    )
    session = LocalSession(store_row_source(str(store), {"train": [0, 1, 2], "val": [3]}), root)
    run_training(experiment, session)
    return store, session.checkpoints[-1]


def _refused(capsys, argv: list[str], *fragments: str) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_a_crafted_pickle_in_a_checkpoint_is_refused_and_runs_nothing(trained, tmp_path, capsys):
    store, checkpoint = trained
    crafted = tmp_path / "crafted"
    shutil.copytree(checkpoint, crafted)
    planted = tmp_path / "code-ran"
    state = torch.load(checkpoint / "state.pt", weights_only=True)
    torch.save({**state, "metrics": _Planted(planted)}, crafted / "state.pt")
    _refused(capsys, ["evaluate", str(crafted), str(store)], "refusing checkpoint", "state.pt")
    _refused(capsys, ["infer", str(crafted), str(store), str(tmp_path / "out")], "refusing")
    assert not planted.exists()
    assert not (tmp_path / "out").exists()
    (crafted / "state.pt").write_bytes((checkpoint / "state.pt").read_bytes()[:500])
    _refused(capsys, ["evaluate", str(crafted), str(store)], "cannot read checkpoint")


def test_best_json_is_followed_only_into_its_own_sweep(trained, tmp_path, capsys):
    store, checkpoint = trained
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "best.json").write_text(json.dumps({"checkpoint": str(checkpoint)}))
    _refused(capsys, ["evaluate", str(sweep), str(store)], "lies outside the sweep directory")
    (sweep / "best.json").write_text(json.dumps({"checkpoint": "../elsewhere"}))
    _refused(capsys, ["evaluate", str(sweep), str(store)], "outside the sweep directory")
    shutil.copytree(checkpoint, sweep / "trial_1" / "checkpoint_000000")
    (sweep / "best.json").write_text(json.dumps({"checkpoint": "trial_1/checkpoint_000000"}))
    assert main(["evaluate", str(sweep), str(store)]) == 0  # inside: followed
    capsys.readouterr()


def test_a_checkpoint_of_another_stage_names_the_mismatch(trained, capsys):
    store, checkpoint = trained
    _refused(
        capsys,
        ["evaluate", str(checkpoint), str(store), "--evaluator", "tracks"],
        "evaluator 'tracks' does not judge model 'exatrkx_embedding'",
        "another stage",
    )
