"""A trained hypertrack checkpoint on its own: its voxdyn constructor travels with it, ``infer``
gives the graph, scores and clusters, and the ``tracks`` / ``graph`` evaluators read them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from raytrack.config import validate_experiment
from raytrack.families.hypertrack.clustering import cut_clustering
from raytrack.families.hypertrack.voxdyn_key import VoxdynError
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.graph_evaluation import GraphSettings, evaluate_graph
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.families.tracking.tracks import evaluate_tracks
from raytrack.pipeline.checkpoints import load_checkpoint
from raytrack.store.sample_store import SampleStore
from raytrack.tasks.base import TaskContext
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

HPARAMS = {"nstack": 1, "h_dim": 16, "z_dim": 8, "m_dim": 16, "ncell": 128, "cluster": "cut",
           "cluster_block_param": {"h_dim": 16, "nstack_dec": 1}, "edge_threshold": 0.3,
           "cluster_param": {"min_graph": 2}}  # fmt: skip
SPLITS = {"train": [0, 1, 2, 3], "val": [4, 5]}


def trained(store, root, artifact_dir):
    experiment = validate_experiment({
        "name": "hypertrack-infer",
        "model": {"name": "hypertrack", "hparams": HPARAMS},
        "data": {"store": str(store), "split": [0.67, 0.33, 0.0], "options": {"node2node": "hyper"}},
        "train": {"max_epochs": 2, "batch_size": 2, "optimizer": {"name": "adamw", "lr": 3.0e-3}},
        "tune": {"metric": "val_auc", "mode": "max"},
    })  # fmt: skip
    context = TaskContext(str(store), SPLITS, artifact_dir=artifact_dir)
    session = LocalSession(store_row_source(str(store), SPLITS), root, context=context)
    run_training(experiment, session)
    return session.checkpoints[-1], session


@pytest.mark.timeout(300)
def test_a_checkpoint_infers_with_the_constructor_it_trained_with(simulated_store, tmp_path):
    store = simulated_store(6, seed=4)
    artifacts = tmp_path / "artifacts"
    checkpoint, _ = trained(store, tmp_path / "run", str(artifacts))
    loaded = load_checkpoint(checkpoint)
    constructor = loaded.task.constructor
    assert constructor is not None and constructor.ncell == 128
    assert constructor.key.events == (0, 1, 2, 3)  # the training events, not the validation's

    row = next(SampleStore(store).iter_rows(ids=[5]))
    out = Event.from_row(loaded.task.infer(loaded.model, row))
    event = Event.from_row(row)
    assert np.array_equal(out.hits["hit_id"], event.hits["hit_id"])  # no re-sampling at inference
    edges, scores = out.edge_index, np.asarray(out.edges["score"])
    assert edges.shape[0] == 2 and edges.shape[1] > 0 and scores.shape == (edges.shape[1],)
    assert ((scores >= 0) & (scores <= 1)).all()
    clusters = np.asarray(out.hits["cluster_id"])
    # (two epochs of a tiny GNN score every edge near 0.46: the low edge_threshold clusters)
    assert clusters.shape == (event.num_hits,) and clusters.max() >= 0
    again = cut_clustering(torch.as_tensor(edges), torch.as_tensor(scores), event.num_hits, 0.3, 2)
    assert np.array_equal(clusters, again)  # the trial's clustering on the returned graph

    # the tracks evaluator takes the model's own clusters as its tracks with method stage, and
    # the edge-score cut of connected components from edge_threshold
    stage = evaluate_tracks(loaded, SampleStore(store), TrackSettings(method="stage"), ids=[4, 5])
    assert stage.summary["events"] == 2 and 0.0 <= stage.summary["trackml_score"] <= 1.0
    cc = evaluate_tracks(loaded, SampleStore(store), TrackSettings(), ids=[4, 5])
    assert cc.summary["events"] == 2
    graph = evaluate_graph(loaded, SampleStore(store), GraphSettings(), ids=[4, 5])
    assert 0.5 < graph.summary["efficiency"] <= 1.0 and graph.summary["edges_per_event"] > 0

    # kept by reference: a moved artifacts directory is a clear error naming it
    shutil.move(artifacts, tmp_path / "moved")
    with pytest.raises(VoxdynError, match="no longer holds it"):
        load_checkpoint(checkpoint)


@pytest.mark.timeout(300)
def test_a_constructor_built_in_memory_is_kept_whole_in_the_checkpoint(simulated_store, tmp_path):
    store = simulated_store(6, seed=4)
    checkpoint, _ = trained(store, tmp_path / "run", None)
    loaded = load_checkpoint(checkpoint)
    built = loaded.task.constructor
    row = next(SampleStore(store).iter_rows(ids=[4]))
    out = Event.from_row(loaded.task.infer(loaded.model, row))
    assert built.ncell == 128 and built.connectivity.nnz > 0
    assert out.edge_index.shape[1] > 0


def test_method_stage_needs_the_stage_s_clusters(simulated_store):
    from raytrack.families.tracking.tracks import event_track_labels

    event = Event.from_row(next(SampleStore(simulated_store(6, seed=4)).iter_rows(ids=[0])))
    with pytest.raises(ValueError, match="cluster_id"):
        event_track_labels(event, event, TrackSettings(method="stage"))
