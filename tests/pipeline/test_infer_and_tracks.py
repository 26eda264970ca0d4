"""A trained GNN passes its scored graphs on (raytrack infer) and builds evaluated tracks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raytrack.cli import main
from raytrack.config.schema import Experiment
from raytrack.families.tracking.event_store import columns_of, read_event
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.families.tracking.tracks import model_edge_cut
from raytrack.pipeline.evaluate import evaluate_checkpoint
from raytrack.pipeline.infer import infer_store
from raytrack.store.sample_store import SampleStore
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source
from tests.pipeline.hand_counts import reconstructable_particles

TRAIN, VAL = list(range(0, 12)), list(range(12, 16))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, simulated_store) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gnn")
    store = simulated_store(16, seed=4, rfactor=0.01)
    experiment = Experiment.model_validate(
        {
            "name": "gnn",
            "model": {
                "name": "exatrkx_gnn",
                "hparams": {
                    "hidden": 32,
                    "n_graph_iters": 3,
                    "nb_node_layer": 2,
                    "nb_edge_layer": 2,
                },
            },
            "data": {"store": str(store), "options": {"noise": False, "true_edges": "layerwise"}},
            "train": {
                "max_epochs": 6,
                "batch_size": 2,
                "optimizer": {"name": "adamw", "lr": 0.005},
            },
            "tune": {"metric": "val_auc", "mode": "max"},
        }
    )
    session = LocalSession(
        store_row_source(str(store), {"train": TRAIN, "val": VAL}), root / "ckpt"
    )
    run_training(experiment, session)
    return store, session.checkpoints[-1]


@pytest.mark.timeout(300)
def test_infer_writes_every_event_with_its_scored_graph(trained, tmp_path):
    store, checkpoint = trained
    out = infer_store(checkpoint, store, tmp_path / "scored")
    assert out.ids() == SampleStore(store).ids()
    assert columns_of(out, "edge") == ["src", "dst", "score"]
    assert out.key == "event_id" and out.counts["edge"] > 0
    event = read_event(out, VAL[0])
    scores = event.edges["score"]
    assert event.edge_index.shape[1] == len(scores) > 0
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (np.asarray(event.hits["particle_id"]) != 0).all()  # noise: false selected the hits
    provenance = out.provenance
    assert provenance["stage"] == "exatrkx_gnn" and provenance["checkpoint"] == str(checkpoint)
    with pytest.raises(FileExistsError):
        infer_store(checkpoint, store, tmp_path / "scored")


def tracks(checkpoint, store, **settings):
    name, evaluation = evaluate_checkpoint(checkpoint, store, settings=settings, ids=VAL)
    assert name == "tracks"  # the GNN's first evaluator
    return evaluation


@pytest.mark.timeout(300)
def test_tracks_from_gnn_scores_are_evaluated_on_the_full_events(trained, tmp_path):
    store, checkpoint = trained
    cc = tracks(checkpoint, store, method="cc")
    walk = tracks(checkpoint, store, method="walkthrough")
    expected_particles = reconstructable_particles(SampleStore(store), VAL)
    for evaluation in (cc, walk):
        summary, per_event = evaluation.summary, evaluation.per_item
        assert per_event["event_id"].tolist() == VAL
        assert summary["n_particles"] == expected_particles > 20
        # the summary is the sum of the events' counts, its rates their ratios
        for count in ("n_particles", "n_reconstructed_particles", "n_tracks", "n_matched_tracks"):
            assert summary[count] == per_event[count].sum(), count
        assert summary["efficiency"] == pytest.approx(
            summary["n_reconstructed_particles"] / summary["n_particles"]
        )
        assert summary["fake_rate"] == pytest.approx(
            1 - summary["n_matched_tracks"] / summary["n_tracks"]
        )
        assert summary["trackml_score"] == pytest.approx(per_event["trackml_score"].mean())
        assert 0.0 < summary["trackml_score"] <= 1.0
    # a briefly trained GNN already reconstructs most pT > 1 GeV particles
    assert walk.summary["efficiency"] > 0.6
    assert walk.summary["fake_rate"] < 0.4
    # a track purer than 50% is never a purity fake, but may be a double-majority fake
    assert walk.summary["fake_rate_purity"] <= walk.summary["fake_rate"]
    # the family's CLI command writes the same figures
    assert (
        main(
            [
                "tracks",
                str(checkpoint),
                str(store),
                "--events",
                *map(str, VAL),
                "--method",
                "walkthrough",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "tracks_summary.json").read_text())
    assert summary["efficiency"] == pytest.approx(walk.summary["efficiency"])
    assert summary["trackml_score"] == pytest.approx(walk.summary["trackml_score"])
    # and so does the generic one
    out = tmp_path / "generic"
    assert (
        main(
            [
                "evaluate",
                str(checkpoint),
                str(store),
                "--ids",
                *map(str, VAL),
                "--set",
                "method=walkthrough",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads((out / "tracks_summary.json").read_text()) == summary


@pytest.mark.timeout(300)
def test_walkthrough_thresholds_reach_the_track_builder(trained):
    store, checkpoint = trained
    default = tracks(checkpoint, store, method="walkthrough")
    # nothing passes a cut of 1: every hit stays on no track, so no particle is reconstructed
    nothing = tracks(
        checkpoint, store, method="walkthrough", score_cut_cc=1.0, th_min=1.0, th_add=1.0
    )
    assert default.summary["n_tracks"] > 0
    assert nothing.summary["n_tracks"] == 0 and nothing.summary["efficiency"] == 0.0


def test_a_missing_cut_is_an_error_naming_the_setting():
    class NoCut:  # a model that is not an edge classifier
        pass

    assert model_edge_cut(NoCut(), TrackSettings(method="cc", edge_cut=0.3)) == 0.3
    assert model_edge_cut(NoCut(), TrackSettings(method="walkthrough")) is None
    with pytest.raises(
        ValueError, match="NoCut has no edge_cut of its own: set the tracks evaluator's edge_cut"
    ):
        model_edge_cut(NoCut(), TrackSettings(method="cc"))


@pytest.mark.timeout(300)
def test_the_graph_evaluator_judges_a_stage_output(trained):
    store, checkpoint = trained
    name, evaluation = evaluate_checkpoint(checkpoint, store, evaluator="graph", ids=VAL)
    assert name == "graph" and evaluation.summary["events"] == len(VAL)
    # the GNN passes its whole candidate graph on: it holds most signal true edges
    assert 0.5 < evaluation.summary["efficiency"] <= 1.0
    assert 0.0 < evaluation.summary["purity"] < 1.0
