"""The voxdyn constructor: connectivity from a hand-made event, candidate edges and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.hypertrack.voxdyn import connectivity_matrix, train_voxdyn
from raytrack.families.hypertrack.voxdyn_edges import (
    candidate_edges,
    count_candidate_edges,
    edge_statistics,
    graph_metrics,
    iter_candidate_edges,
    label_edges,
)
from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import node2node_edges
from tests.conftest import simulated_events


def hand_made_event() -> Event:
    """Particle 1: hits 0, 1, 2 outward along x; particle 2: hits 3, 4 along y; hit 5 is noise.

    Particle 1's second hit sits next to particle 2's first, in the hit order of the arrays.
    """
    xyz = np.array(
        [[10, 0, 0], [20, 0, 0], [30, 0, 0], [0, 21, 0], [0, 40, 0], [50, 50, 50]], np.float32
    )
    pid = np.array([1, 1, 1, 2, 2, 0], np.int64)
    n = len(pid)
    hits = {
        "hit_id": np.arange(1, n + 1, dtype=np.int64),
        "x": xyz[:, 0],
        "y": xyz[:, 1],
        "z": xyz[:, 2],
        "particle_id": pid,
        "volume_id": np.zeros(n, np.int32),
        "layer_id": np.arange(n, dtype=np.int32),
        "module_id": np.zeros(n, np.int32),
    }
    particles = {
        "particle_id": np.array([1, 2], np.int64),
        **{f"v{c}": np.zeros(2, np.float32) for c in "xyz"},
    }
    return Event(event_id=0, hits=hits, particles=particles)


def key(ncell: int, node2node: str = "hyper", events=(0,), seed: int = 0) -> VoxdynKey:
    return VoxdynKey(store="test-store", ncell=ncell, node2node=node2node, seed=seed, events=events)


@pytest.mark.parametrize("node2node", ["hyper", "eom"])
def test_connectivity_of_a_hand_made_event(node2node):
    event = hand_made_event()
    # One cell per particle hit: k-means with as many centroids as points keeps every point.
    constructor = train_voxdyn([event], key(5, node2node))
    xyz = np.stack([event.hits[c] for c in "xyz"], axis=1)
    cell = constructor.cells(xyz[:5])
    assert sorted(cell) == list(range(5))
    expected = np.zeros((5, 5), bool)
    links = [(0, 1), (1, 2), (3, 4)] + ([(0, 2)] if node2node == "hyper" else [])
    for a, b in links:
        expected[cell[a], cell[b]] = expected[cell[b], cell[a]] = True
    expected[cell, cell] = True  # a self-loop per particle hit, as the reference's adjacency
    assert (constructor.connectivity.toarray() == expected).all()
    assert constructor.training_hits == 5


def test_connectivity_matrix_is_symmetric_with_occupied_diagonal():
    c = connectivity_matrix(4, np.array([2, 0, 3, 3]), np.array([[0, 2], [1, 3]]))
    dense = c.toarray()
    assert (dense == dense.T).all()
    assert sorted(zip(*np.nonzero(dense))) == [(0, 0), (0, 2), (2, 0), (2, 2), (3, 3)]
    assert c.dtype == bool


def test_candidate_edges_of_the_hand_made_event():
    event = hand_made_event()
    constructor = train_voxdyn([event], key(5, "eom"))
    edges = candidate_edges(constructor, event)
    pairs = {tuple(p) for p in edges.T}
    # The noise hit 5 falls into the cell of its nearest particle hit, hit 4 at (0, 40, 0): it
    # pairs with hit 4 (same cell) and with hit 3 (a connected cell).
    assert pairs == {(0, 1), (1, 2), (3, 4), (4, 5), (3, 5)}
    assert (edges[0] < edges[1]).all()


@pytest.fixture(scope="module")
def tiny():
    events = simulated_events(4, seed=11, rfactor=0.005)
    return events, {
        kind: train_voxdyn(events[:3], key(48, kind, events=(0, 1, 2), seed=3))
        for kind in ("hyper", "eom", "cricket")
    }


@pytest.mark.parametrize("kind", ["hyper", "eom", "cricket"])
def test_training_truth_edges_are_all_candidates(tiny, kind):
    events, constructors = tiny
    for event in events[:3]:
        truth = node2node_edges(event, kind)
        edges = candidate_edges(constructors[kind], event)
        found = {tuple(p) for p in edges.T}
        assert truth.shape[1] > 0
        assert all((min(a, b), max(a, b)) in found for a, b in truth.T)
        tp, candidates, true_edges = edge_statistics(constructors[kind], event)
        assert tp == true_edges == truth.shape[1]
        assert candidates == edges.shape[1]


def test_candidate_edges_equal_the_dense_definition(tiny):
    events, constructors = tiny
    constructor, event = constructors["eom"], events[3]  # a test event: not trained on
    xyz = np.stack([event.hits[c] for c in "xyz"], axis=1)
    cell = constructor.cells(xyz)
    dense = constructor.connectivity.toarray()[cell][:, cell]
    i, j = np.nonzero(np.triu(dense, k=1))
    edges = candidate_edges(constructor, event)
    assert np.array_equal(edges, np.stack([i, j]))
    assert count_candidate_edges(constructor, event) == i.size
    blocks = list(iter_candidate_edges(constructor, event, chunk_edges=100))
    assert len(blocks) > 1
    merged = np.concatenate(blocks, axis=1)
    assert sorted(map(tuple, merged.T)) == sorted(zip(i, j))


def test_metrics_on_an_unseen_event(tiny):
    events, constructors = tiny
    constructor, event = constructors["hyper"], events[3]
    totals = edge_statistics(constructor, event)
    truth = node2node_edges(event, "hyper")
    found = {tuple(p) for p in candidate_edges(constructor, event).T}
    tp = sum((min(a, b), max(a, b)) in found for a, b in truth.T)
    assert totals.tolist() == [tp, len(found), truth.shape[1]]
    metrics = graph_metrics(totals * 2, events=2)
    assert metrics == {
        "efficiency": tp / truth.shape[1],
        "purity": tp / len(found),
        "edges_per_event": float(len(found)),
    }
    assert 0 < metrics["efficiency"] <= 1
    edges = candidate_edges(constructor, event)
    labels = label_edges(event, edges, "hyper")
    assert labels.sum() == tp
    assert np.array_equal(label_edges(event, edges[::-1], "hyper"), labels)  # either direction
    pid = event.hits["particle_id"]
    assert np.array_equal(labels, (pid[edges[0]] == pid[edges[1]]) & (pid[edges[0]] != 0))


def test_max_edges_names_ncell(tiny):
    events, constructors = tiny
    with pytest.raises(VoxdynError, match="raise ncell"):
        candidate_edges(constructors["hyper"], events[3], max_edges=10)


def test_ncell_larger_than_training_hits_is_an_error_naming_ncell():
    event = hand_made_event()
    with pytest.raises(VoxdynError, match=r"ncell=6 is larger than the 5 particle hits"):
        train_voxdyn([event], key(6))


def test_unknown_node2node_is_an_error_naming_it():
    with pytest.raises(VoxdynError, match=r"node2node='lasso' is not a known topology.*'hyper'"):
        key(4, "lasso")


def test_bad_key_fields_are_all_reported():
    with pytest.raises(VoxdynError) as error:
        VoxdynKey(store="", ncell=0, node2node="hyper", seed=-1, events=())
    message = str(error.value)
    for name in ("store", "ncell=0", "seed=-1"):
        assert name in message
