"""Hit selection and truth graphs on small hand-made events."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.families.tracking.simulate import SimulationSettings, event_rng, simulate_event
from raytrack.families.tracking.truth import (
    apply_options,
    hit_particle_pt,
    node2node_edges,
    select_hits,
    signal_edges,
    true_edges,
)


def make_event(hits: list[tuple], particles: list[tuple]) -> Event:
    """An event from hit tuples and particle tuples.

    hits: ``(particle_id, x, y, z, volume_id, layer_id, module_id)``;
    particles: ``(particle_id, vx, vy, vz, pt)`` (momentum along x).
    """
    h = np.array(hits, dtype=float).reshape(-1, 7)
    p = np.array(particles, dtype=float).reshape(-1, 5)
    return Event(
        event_id=1,
        hits={
            "hit_id": np.arange(1, len(h) + 1, dtype=np.int64),
            "particle_id": h[:, 0].astype(np.int64),
            "x": h[:, 1].astype(np.float32),
            "y": h[:, 2].astype(np.float32),
            "z": h[:, 3].astype(np.float32),
            "volume_id": h[:, 4].astype(np.int32),
            "layer_id": h[:, 5].astype(np.int32),
            "module_id": h[:, 6].astype(np.int32),
        },
        particles={
            "particle_id": p[:, 0].astype(np.int64),
            "vx": p[:, 1].astype(np.float32),
            "vy": p[:, 2].astype(np.float32),
            "vz": p[:, 3].astype(np.float32),
            "px": p[:, 4].astype(np.float32),
            "py": np.zeros(len(p), np.float32),
            "pz": np.zeros(len(p), np.float32),
            "pt": p[:, 4].astype(np.float32),
        },
    )


def straight_track(pid: int, n: int, phi: float, start_layer: int = 0) -> list[tuple]:
    """n hits on consecutive barrel layers, radius 10, 20, ... along azimuth phi."""
    return [
        (pid, r * np.cos(phi), r * np.sin(phi), 0.1 * r, 8, 2 * (k + 1), 1 + k)
        for k, r in enumerate(10.0 * np.arange(start_layer + 1, start_layer + n + 1))
    ]


def edge_set(edges: np.ndarray) -> set[tuple[int, int]]:
    return set(map(tuple, np.asarray(edges).T.tolist()))


@pytest.fixture
def three_tracks() -> Event:
    """Tracks of 5, 3 and 1 hits plus 2 noise hits, rows shuffled."""
    hits = straight_track(11, 5, 0.1) + straight_track(22, 3, 2.0) + straight_track(33, 1, -2.0)
    hits += [(0, 5.0, 5.0, 1.0, 8, 2, 9), (0, -30.0, 1.0, 2.0, 8, 6, 9)]
    rng = np.random.default_rng(0)
    hits = [hits[i] for i in rng.permutation(len(hits))]
    return make_event(hits, [(11, 0, 0, 0, 2.0), (22, 0, 0, 0, 0.5), (33, 0, 0, 0, 1.0)])


def test_node2node_edge_counts(three_tracks):
    counts = {"hyper": 10 + 3, "eom": 4 + 2, "cricket": 7 + 3}  # n(n-1)/2, n-1, 2n-3
    for kind, expected in counts.items():
        edges = node2node_edges(three_tracks, kind)
        assert edges.shape == (2, expected), kind
        assert edges.dtype == np.int64
        pid = three_tracks.hits["particle_id"]
        assert np.all(pid[edges[0]] == pid[edges[1]]) and np.all(pid[edges[0]] != 0)
        assert len(edge_set(edges)) == expected  # no duplicates, no self loops
        assert np.all(edges[0] != edges[1])


def test_true_edges_on_clean_tracks_are_chains_outward(three_tracks):
    r = np.hypot(three_tracks.hits["x"], three_tracks.hits["y"])
    for kind in ("modulewise", "layerwise"):
        edges = true_edges(three_tracks, kind)
        assert edges.shape == (2, 4 + 2), kind
        assert np.all(r[edges[0]] < r[edges[1]])  # from the vertex outwards
        assert edge_set(edges) == edge_set(node2node_edges(three_tracks, "eom"))


def test_modulewise_keeps_one_hit_per_module():
    # hits 0, 1 on module 1 of layer 2 (hit 1 nearer the vertex), then layer 4 and layer 6.
    # Exa.TrkX drops duplicates in hit order before sorting by distance: hit 0 stays.
    hits = [
        (5, 10.5, 0.0, 0.0, 8, 2, 1),
        (5, 10.0, 0.1, 0.0, 8, 2, 1),
        (5, 20.0, 0.0, 0.0, 8, 4, 1),
        (5, 30.0, 0.0, 0.0, 8, 6, 1),
    ]
    event = make_event(hits, [(5, 0, 0, 0, 1.0)])
    # hit 1 is dropped; module 1 of layers 4 and 6 are other modules than module 1 of layer 2
    assert edge_set(true_edges(event, "modulewise")) == {(0, 2), (2, 3)}


def test_layerwise_joins_all_hits_of_consecutive_layers():
    # two hits on layer 4 (different modules, overlapping coverage)
    hits = [
        (5, 10.0, 0.0, 0.0, 8, 2, 1),
        (5, 20.0, 0.0, 0.0, 8, 4, 1),
        (5, 20.2, 0.5, 0.0, 8, 4, 2),
        (5, 30.0, 0.0, 0.0, 8, 6, 1),
    ]
    event = make_event(hits, [(5, 0, 0, 0, 1.0)])
    assert edge_set(true_edges(event, "layerwise")) == {(0, 1), (0, 2), (1, 3), (2, 3)}
    assert edge_set(true_edges(event, "modulewise")) == {(0, 1), (1, 2), (2, 3)}
    # volume matters: layer 2 of volume 13 is not layer 2 of volume 8
    hits[3] = (5, 30.0, 0.0, 0.0, 13, 2, 1)
    assert true_edges(make_event(hits, [(5, 0, 0, 0, 1.0)]), "layerwise").shape[1] == 4


def test_order_is_distance_from_production_vertex_not_radius():
    # displaced vertex at r = 500 flying inwards: r decreases along the track
    inward = [
        (7, 300.0, 0.0, 0.0, 13, 2, 1),
        (7, 450.0, 0.0, 0.0, 13, 6, 1),
        (7, 400.0, 0.0, 0.0, 13, 4, 1),
    ]
    # a looper from the origin: out to r = 150 and back to r = 120 further along the track
    looper = [
        (8, 0.0, 150.0, 40.0, 8, 6, 3),
        (8, 0.0, 120.0, 200.0, 8, 4, 3),
        (8, 0.0, 100.0, 10.0, 8, 4, 2),
    ]
    event = make_event(inward + looper, [(7, 500, 0, 0, 1.0), (8, 0, 0, 0, 0.3)])
    expected = {(1, 2), (2, 0), (5, 3), (3, 4)}
    for kind in ("modulewise", "layerwise"):
        got = edge_set(true_edges(event, kind))
        assert {e for e in got if e[0] < 3} == {(1, 2), (2, 0)}, kind
    assert edge_set(true_edges(event, "modulewise")) == expected
    # layerwise: the looper's layer 4 (hits 5, 4) is reached first, then layer 6 (hit 3)
    assert {e for e in edge_set(true_edges(event, "layerwise")) if e[0] >= 3} == {(5, 3), (4, 3)}
    hyper = {(1, 0), (1, 2), (2, 0), (5, 3), (5, 4), (3, 4)}
    assert edge_set(node2node_edges(event, "hyper")) == hyper


def test_eom_is_the_minimum_spanning_tree():
    # production order A (d=10), B (d=10.5), C (d=11); B lies opposite, C next to A
    hits = [
        (4, 10.0, 0.0, 0.0, 8, 2, 1),
        (4, -10.5, 0.0, 0.0, 8, 2, 2),
        (4, 11.0, 0.0, 0.0, 8, 2, 3),
    ]
    event = make_event(hits, [(4, 0, 0, 0, 1.0)])
    assert edge_set(node2node_edges(event, "eom")) == {(0, 1), (0, 2)}
    # the double hop joins the two neighbours of hit 0
    assert edge_set(node2node_edges(event, "cricket")) == {(0, 1), (0, 2), (1, 2)}
    # a star: one centre, three arms -> 3 tree edges and 3 double hops
    star = [
        (4, 0.0, 0.0, 50.0, 8, 2, 1),
        (4, 5.0, 0.0, 50.0, 8, 4, 1),
        (4, -5.0, 0.0, 50.0, 8, 6, 1),
        (4, 0.0, 5.0, 50.0, 8, 8, 1),
    ]
    event = make_event(star, [(4, 0, 0, 0, 1.0)])
    assert edge_set(node2node_edges(event, "eom")) == {(0, 1), (0, 2), (0, 3)}
    assert node2node_edges(event, "cricket").shape[1] == 6


def test_noise_and_unknown_particles_have_no_edges():
    hits = straight_track(3, 3, 0.0) + straight_track(99, 3, 1.0) + [(0, 1.0, 1.0, 1.0, 8, 2, 5)]
    event = make_event(hits, [(3, 0, 0, 0, 1.0)])  # particle 99 is not in the table
    for kind in ("modulewise", "layerwise"):
        assert edge_set(true_edges(event, kind)) == {(0, 1), (1, 2)}
    for kind in ("hyper", "eom", "cricket"):
        assert set(np.unique(node2node_edges(event, kind))) <= {0, 1, 2}
    assert np.array_equal(hit_particle_pt(event), [1, 1, 1, 0, 0, 0, 0])
    empty = make_event([(0, 1.0, 1.0, 1.0, 8, 2, 5)], [(3, 0, 0, 0, 1.0)])
    for kind in ("modulewise", "layerwise"):
        assert true_edges(empty, kind).shape == (2, 0)
    assert node2node_edges(empty, "cricket").shape == (2, 0)


def test_select_hits_pt_cut_and_noise(three_tracks):
    pid = three_tracks.hits["particle_id"]
    assert select_hits(three_tracks) is three_tracks
    no_noise = select_hits(three_tracks, noise=False)
    assert no_noise.num_hits == 9 and np.all(no_noise.hits["particle_id"] != 0)
    # a pT cut keeps particles strictly above it and, as in Exa.TrkX, drops the noise too
    cut = select_hits(three_tracks, pt_background_cut=0.5, noise=True)
    assert sorted(set(cut.hits["particle_id"].tolist())) == [11, 33]
    assert cut.num_hits == 6
    for name, column in cut.hits.items():
        assert np.array_equal(column, three_tracks.hits[name][np.isin(pid, [11, 33])])
    assert cut.particles is three_tracks.particles
    options = TrackingDataOptions(pt_background_cut=1.0, noise=True)
    assert sorted(set(apply_options(three_tracks, options).hits["particle_id"].tolist())) == [11]
    assert apply_options(three_tracks, TrackingDataOptions()).num_hits == three_tracks.num_hits
    with pytest.raises(ValueError):
        select_hits(three_tracks, pt_background_cut=-1.0)


def test_signal_edges_pt_cut(three_tracks):
    edges = true_edges(three_tracks, "modulewise")
    pid = three_tracks.hits["particle_id"]
    assert np.array_equal(signal_edges(three_tracks, edges, 1.0), pid[edges[0]] == 11)
    assert signal_edges(three_tracks, edges, 0.0).all()
    assert not signal_edges(three_tracks, edges, 5.0).any()
    # candidate edges across particles or to noise are never signal
    noise = np.flatnonzero(pid == 0)
    a, b = np.flatnonzero(pid == 11)[0], np.flatnonzero(pid == 22)[0]
    cand = np.array([[a, a, noise[0]], [b, noise[0], noise[1]]])
    assert not signal_edges(three_tracks, cand, 0.0).any()


def test_truth_graphs_on_a_simulated_event_are_consistent():
    event = simulate_event(0, event_rng(1, 0), SimulationSettings(rfactor=0.015))
    assert 1000 <= event.num_hits <= 3000
    nhits = event.particles["nhits"].astype(np.int64)
    with_hits = nhits[nhits > 0]
    expect = {
        "hyper": int((with_hits * (with_hits - 1) // 2).sum()),
        "eom": int((with_hits - 1).sum()),
        "cricket": int(np.maximum(2 * with_hits - 3, 0).sum()),
    }
    for kind in ("modulewise", "layerwise", "hyper", "eom", "cricket"):
        fn = true_edges if kind in ("modulewise", "layerwise") else node2node_edges
        edges = fn(event, kind)
        if kind in expect and kind != "cricket":
            assert edges.shape[1] == expect[kind], kind
    # one hit per layer in the simulation: every truth graph is the production-order chain
    chain = edge_set(true_edges(event, "modulewise"))
    assert chain == edge_set(true_edges(event, "layerwise"))
    assert node2node_edges(event, "eom").shape[1] == len(chain)


def test_select_hits_keeps_and_renumbers_a_stored_graph():
    import numpy as np

    from raytrack.families.tracking.event import Event
    from raytrack.families.tracking.truth import select_hits

    hits = {
        "hit_id": np.arange(1, 6),
        "particle_id": np.array([7, 0, 7, 0, 7]),
        "x": np.zeros(5),
    }
    particles = {"particle_id": np.array([7]), "pt": np.array([2.0])}
    edges = {
        "src": np.array([0, 1, 2, 0]),
        "dst": np.array([2, 3, 4, 4]),
        "score": np.array([0.1, 0.2, 0.3, 0.4]),
    }
    event = Event(1, hits, particles, edges=edges)
    selected = select_hits(event, noise=False)  # drops the noise hits 1 and 3
    assert selected.hits["hit_id"].tolist() == [1, 3, 5]
    assert selected.edge_index.tolist() == [[0, 1, 0], [1, 2, 2]]
    assert selected.edges["score"].tolist() == [0.1, 0.3, 0.4]
