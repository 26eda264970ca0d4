"""``raytrack infer`` of a trained embedding builds its graph at the checkpoint's measured radius.

Unless ``r_test`` is set, the embedding's inference radius is the ``val_target_radius`` of the
checkpoint's epoch (its ``metrics.json``): the radius that keeps 98% of the signal pairs. An
explicit ``r_test`` wins. The command says which it used.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from raytrack.cli import main
from raytrack.config.schema import Experiment
from raytrack.families.tracking.event_store import read_event
from raytrack.pipeline.checkpoints import load_checkpoint
from raytrack.pipeline.infer import infer_store
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

TRAIN, VAL = list(range(0, 4)), list(range(4, 6))
R_VAL = 0.3


@pytest.fixture(scope="module")
def trained(tmp_path_factory, simulated_store) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("embedding")
    store = simulated_store(6, seed=21, rfactor=0.01)
    hparams = {"emb_hidden": 32, "nb_layer": 2, "emb_dim": 4, "knn": 10, "r_val": R_VAL,
               "knn_val": 20, "knn_test": 20}  # fmt: skip
    experiment = Experiment.model_validate(
        {
            "name": "embedding",
            "model": {"name": "exatrkx_embedding", "hparams": hparams},
            "data": {"store": str(store), "options": {"noise": False, "pt_signal_cut": 0.0}},
            "train": {
                "max_epochs": 2,
                "batch_size": 2,
                "optimizer": {"name": "adamw", "lr": 0.003},
            },
            "tune": {"metric": "val_target_purity", "mode": "max"},
        }
    )
    session = LocalSession(store_row_source(str(store), {"train": TRAIN, "val": VAL}), root / "c")
    run_training(experiment, session)
    return store, session.checkpoints[-1]


def variant(checkpoint: Path, where: Path, *, radius: float, r_test: float | None = None) -> Path:
    """A copy of ``checkpoint`` whose epoch measured ``radius`` (and, if given, sets r_test)."""
    copy = Path(shutil.copytree(checkpoint, where))
    record = json.loads((copy / "metrics.json").read_text())
    record["metrics"]["val_target_radius"] = radius
    (copy / "metrics.json").write_text(json.dumps(record))
    if r_test is not None:
        experiment = yaml.safe_load((copy / "experiment.yaml").read_text())
        experiment["model"]["hparams"]["r_test"] = r_test
        (copy / "experiment.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
    return copy


def graph_sizes(store: Path) -> list[int]:
    from raytrack.store.sample_store import SampleStore

    out = SampleStore(store)
    return [read_event(out, i).edge_index.shape[1] for i in out.ids()]


@pytest.mark.timeout(300)
def test_the_trained_checkpoint_s_own_radius_is_used(trained):
    _, checkpoint = trained
    measured = json.loads((checkpoint / "metrics.json").read_text())["metrics"]
    loaded = load_checkpoint(checkpoint)
    radius = measured.get("val_target_radius")
    if radius is not None and math.isfinite(radius):
        assert loaded.task.r_test == pytest.approx(radius)
        assert "val_target_radius" in loaded.settings[0]
    else:  # the target efficiency was not reached within r_val: no measured radius
        assert loaded.task.r_test == R_VAL and "r_val" in loaded.settings[0]


@pytest.mark.timeout(300)
def test_the_graph_follows_the_measured_radius_and_an_explicit_r_test_wins(
    trained, tmp_path, capsys
):
    store, checkpoint = trained
    small = variant(checkpoint, tmp_path / "small", radius=0.02)
    large = variant(checkpoint, tmp_path / "large", radius=0.25)
    explicit = variant(checkpoint, tmp_path / "explicit", radius=0.25, r_test=0.02)

    assert main(["infer", str(small), str(store), str(tmp_path / "out-small")]) == 0
    said = capsys.readouterr().out
    assert "r_test = 0.02 (the checkpoint's val_target_radius" in said
    out_large = infer_store(large, store, tmp_path / "out-large")
    out_explicit = infer_store(explicit, store, tmp_path / "out-explicit")
    assert out_explicit.provenance["inference_settings"] == ["r_test = 0.02 (set in model.hparams)"]

    sizes_small, sizes_large = graph_sizes(tmp_path / "out-small"), graph_sizes(out_large.path)
    assert sum(sizes_large) > sum(sizes_small)
    assert all(s <= b for s, b in zip(sizes_small, sizes_large))
    assert graph_sizes(out_explicit.path) == sizes_small  # 0.02 set beats the measured 0.25
    event = read_event(out_large, VAL[0])  # score = 1 - d / r_test: every pair within 0.25
    assert (np.asarray(event.edges["score"]) >= 0).all() and event.edge_index.shape[1] > 0


@pytest.mark.timeout(300)
def test_no_finite_measured_radius_falls_back_to_r_val(trained, tmp_path):
    _, checkpoint = trained
    copy = variant(checkpoint, tmp_path / "unreached", radius=float("nan"))
    record = json.loads((copy / "metrics.json").read_text())
    record["metrics"]["val_target_radius"] = None  # as metrics.json stores NaN
    (copy / "metrics.json").write_text(json.dumps(record))
    loaded = load_checkpoint(copy)
    assert loaded.task.r_test == R_VAL
    assert loaded.settings == (
        f"r_test = {R_VAL:g} (r_val: the checkpoint has no finite val_target_radius)",
    )
