"""The geometric candidate-edge constructor: exact cuts, wrap-around, learned layer pairs, efficiency."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.exatrkx.geometric_graph import (
    TRACKML_LAYER_PAIRS,
    GeometricGraphBuilder,
    build_edges,
    layer_keys,
    learn_layer_pairs,
)
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import hit_particle_pt, true_edges
from tests.conftest import simulated_events


def hits_event(rows) -> Event:
    """Hits ``(layer_key, r, phi, z)``; particle ids are the row numbers (no truth needed)."""
    a = np.array(rows, dtype=float).reshape(-1, 4)
    r, phi, z = a[:, 1], a[:, 2], a[:, 3]
    hits = {
        "hit_id": np.arange(1, len(a) + 1, dtype=np.int64),
        "x": (r * np.cos(phi)).astype(np.float32),
        "y": (r * np.sin(phi)).astype(np.float32),
        "z": z.astype(np.float32),
        "volume_id": (a[:, 0] // 100).astype(np.int32),
        "layer_id": (a[:, 0] % 100).astype(np.int32),
        "module_id": np.ones(len(a), np.int32),
        "particle_id": np.zeros(len(a), np.int64),
        "weight": np.zeros(len(a), np.float32),
        "r": r.astype(np.float32),
        "phi": phi.astype(np.float32),
        "eta": np.arcsinh(z / r).astype(np.float32),
    }
    return Event(event_id=0, hits=hits, particles={"particle_id": np.zeros(0, np.int64)})


def brute_force(event, pairs, phi_slope_max, z0_max, deta_max=None):
    h = event.hits
    keys = layer_keys(event)
    r, phi, z, eta = (np.asarray(h[c], np.float64) for c in ("r", "phi", "z", "eta"))
    allowed = {tuple(p) for p in np.asarray(pairs).tolist()}
    out = set()
    for a in range(event.num_hits):
        for b in range(event.num_hits):
            if a == b or (keys[a], keys[b]) not in allowed:
                continue
            dr = r[b] - r[a]
            dphi = (phi[b] - phi[a] + np.pi) % (2 * np.pi) - np.pi
            if abs(dphi) > phi_slope_max * abs(dr):
                continue
            if abs(z[a] * r[b] - z[b] * r[a]) > z0_max * abs(dr):
                continue
            if deta_max is not None and abs(eta[b] - eta[a]) > deta_max:
                continue
            out.add((a, b))
    return out


def test_hand_made_cuts_and_wrap_around():
    event = hits_event(
        [
            (802, 30.0, 3.13, 0.0),  # 0: inner, just below +π
            (804, 70.0, -3.13, 0.0),  # 1: outer, across the wrap-around: Δφ ≈ 0.023
            (804, 70.0, 3.0, 0.0),  # 2: outer, Δφ 0.13: outside the window
            (804, 70.0, 3.13, 200.0),  # 3: outer, z0 = 0 - 30 * 200 / 40 = -150
            (806, 110.0, 3.13, 0.0),  # 4: layer not paired with 802
        ]
    )
    pairs = [(802, 804)]
    edges = build_edges(event, pairs, phi_slope_max=0.001, z0_max=100.0)
    assert edges.dtype == np.int64 and edges.shape[0] == 2
    assert {tuple(e) for e in edges.T.tolist()} == {(0, 1)}
    edges = build_edges(event, pairs, phi_slope_max=0.001, z0_max=200.0)
    assert {tuple(e) for e in edges.T.tolist()} == {(0, 1), (0, 3)}
    edges = build_edges(event, pairs, phi_slope_max=0.001, z0_max=200.0, deta_max=0.5)
    assert {tuple(e) for e in edges.T.tolist()} == {(0, 1)}
    assert build_edges(event, [(808, 1302)]).shape == (2, 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_search_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for key, r0 in ((802, 32.0), (804, 72.0), (806, 116.0)):
        n = 60
        rows += [
            (key, r0, p, z)
            for p, z in zip(rng.uniform(-np.pi, np.pi, n), rng.uniform(-300, 300, n))
        ]
    for key, z0 in ((902, 600.0), (904, 700.0)):  # disks: r varies, z fixed
        n = 40
        rows += [
            (key, r, p, z0) for r, p in zip(rng.uniform(30, 170, n), rng.uniform(-np.pi, np.pi, n))
        ]
    event = hits_event(rows)
    pairs = [(802, 804), (804, 806), (802, 902), (902, 904), (806, 804)]
    for settings in (
        {"phi_slope_max": 0.003, "z0_max": 150.0},
        {"phi_slope_max": 0.01, "z0_max": 400.0, "deta_max": 0.3},
    ):
        edges = build_edges(event, pairs, **settings)
        got = [tuple(e) for e in edges.T.tolist()]
        assert len(got) == len(set(got))
        assert set(got) == brute_force(event, pairs, **settings)


def test_learned_pairs_keep_one_direction():
    events = simulated_events(5, seed=11, rfactor=0.01)
    pairs = learn_layer_pairs(events, kind="modulewise", pt_min=0.5)
    assert pairs.ndim == 2 and pairs.shape[1] == 2 and len(pairs) > 10
    as_set = {tuple(p) for p in pairs.tolist()}
    assert not any((b, a) in as_set for a, b in as_set if a != b)
    assert (802, 804) in as_set


def test_default_map_covers_freshly_learned_pairs():
    # guards the stored TrackML map against changes of the detector or the simulation
    events = simulated_events(40, seed=99, rfactor=0.02)
    learned = {tuple(p) for p in learn_layer_pairs(events, pt_min=0.5, min_count=3).tolist()}
    stored = {tuple(p) for p in TRACKML_LAYER_PAIRS.tolist()}
    assert learned <= stored, sorted(learned - stored)


@pytest.mark.parametrize("kind", ["modulewise", "layerwise"])
def test_default_constructor_efficiency_on_simulated_events(kind):
    builder = GeometricGraphBuilder()
    events = simulated_events(10, seed=5, rfactor=0.02)
    found = total = candidates = hits = 0
    for event in events:
        edges = builder(event)
        truth = true_edges(event, kind)
        pt = hit_particle_pt(event)
        truth = truth[:, pt[truth[0]] > 0.5]
        codes = set((edges[0] * event.num_hits + edges[1]).tolist())  # directed inner → outer
        found += sum(int(a * event.num_hits + b in codes) for a, b in truth.T.tolist())
        total += truth.shape[1]
        candidates += edges.shape[1]
        hits += event.num_hits
    assert found / total > 0.97
    assert candidates / hits < 3.0  # a manageable graph
    assert 1_000 < hits / len(events) < 4_000


def test_builder_checks_its_settings():
    with pytest.raises(ValueError, match="phi_slope_max must be positive"):
        GeometricGraphBuilder(phi_slope_max=0.0)
    with pytest.raises(ValueError, match="z0_max"):
        GeometricGraphBuilder(z0_max=-1.0)
