"""A trained GNN passes its scored graphs on (raytrack infer) and builds evaluated tracks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raytrack.cli import main
from raytrack.config.schema import Experiment
from raytrack.store.reader import EventStore
from raytrack.pipeline.infer import infer_store
from raytrack.families.tracking.tracks import TrackSettings, evaluate_tracks
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

TRAIN, VAL = list(range(0, 12)), list(range(12, 16))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    root = tmp_path_factory.mktemp("gnn")
    store = root / "store"
    generate_store(store, 16, seed=4, settings=SimulationSettings(rfactor=0.01))
    experiment = Experiment.model_validate(
        {
            "name": "gnn",
            "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 32, "n_graph_iters": 3, "nb_node_layer": 2, "nb_edge_layer": 2}},
            "data": {"store": str(store), "options": {"noise": False, "true_edges": "layerwise"}},
            "train": {"max_epochs": 6, "batch_size": 2, "optimizer": {"name": "adamw", "lr": 0.005}},
            "tune": {"metric": "val_auc", "mode": "max"},
        }
    )
    session = LocalSession(store_row_source(str(store), {"train": TRAIN, "val": VAL}), root / "ckpt")
    run_training(experiment, session)
    return store, session.checkpoints[-1]


@pytest.mark.timeout(300)
def test_infer_writes_every_event_with_its_scored_graph(trained, tmp_path):
    store, checkpoint = trained
    out = infer_store(checkpoint, store, tmp_path / "scored")
    assert out.event_ids() == EventStore(store).event_ids()
    assert out.edge_columns == ["src", "dst", "score"]
    event = out.event(VAL[0])
    scores = event.edges["score"]
    assert event.edge_index.shape[1] == len(scores) > 0
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (np.asarray(event.hits["particle_id"]) != 0).all()  # noise: false selected the hits
    provenance = out.metadata["provenance"]
    assert provenance["stage"] == "exatrkx_gnn" and provenance["checkpoint"] == str(checkpoint)
    with pytest.raises(FileExistsError):
        infer_store(checkpoint, store, tmp_path / "scored")


@pytest.mark.timeout(300)
def test_tracks_from_gnn_scores_are_evaluated_on_the_full_events(trained, tmp_path):
    store, checkpoint = trained
    cc = evaluate_tracks(checkpoint, store, TrackSettings(method="cc"), event_ids=VAL)
    walk = evaluate_tracks(checkpoint, store, TrackSettings(method="walkthrough"), event_ids=VAL)
    for evaluation in (cc, walk):
        assert len(evaluation.per_event) == len(VAL)
        assert evaluation.metrics.n_particles > 20
        assert 0.0 < evaluation.trackml_score <= 1.0
    # a briefly trained GNN already reconstructs most pT > 1 GeV particles
    assert walk.metrics.efficiency > 0.6
    assert walk.metrics.fake_rate < 0.4
    # a track purer than 50% is never a purity fake, but may be a double-majority fake
    assert walk.purity_metrics.fake_rate <= walk.metrics.fake_rate
    # the CLI writes the same figures
    assert main(["tracks", str(checkpoint), str(store), "--events", *map(str, VAL), "--method", "walkthrough", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "tracks_summary.json").read_text())
    assert summary["efficiency"] == pytest.approx(walk.metrics.efficiency)
    assert summary["trackml_score"] == pytest.approx(walk.trackml_score)


@pytest.mark.timeout(300)
def test_walkthrough_thresholds_reach_the_track_builder(trained):
    store, checkpoint = trained
    default = evaluate_tracks(checkpoint, store, TrackSettings(method="walkthrough"), event_ids=VAL)
    # nothing passes a cut of 1: every hit stays on no track, so no particle is reconstructed
    strict = TrackSettings(method="walkthrough", score_cut_cc=1.0, th_min=1.0, th_add=1.0)
    nothing = evaluate_tracks(checkpoint, store, strict, event_ids=VAL)
    assert default.metrics.n_tracks > 0
    assert nothing.metrics.n_tracks == 0 and nothing.metrics.efficiency == 0.0
