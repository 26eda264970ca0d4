"""The connected-components + walk-through track builder (acorn's CCandWalk)."""

from __future__ import annotations

import cProfile
import pstats

import numpy as np
import pytest

from raytrack.families.tracking.walkthrough import walkthrough_tracks
from tests.families.tracking.test_track_building import graph, groups


def test_simple_paths_are_tracks_and_short_ones_dropped():
    # Chain 0-1-2-3, a 2-hit path 4-5, a weak edge 6-7 (below score_cut_cc), isolated 8.
    e, s = graph((0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9), (4, 5, 0.9), (6, 7, 0.005))
    lab = walkthrough_tracks(e, s, 9)
    assert lab.tolist() == [0, 0, 0, 0, -1, -1, -1, -1, -1]


def test_walk_follows_the_best_edge_at_a_branch():
    # 0->1->2->3 with a weak side branch 1->4 (0.3 < th_add): the walk stays on the best edge;
    # 4 is left alone (a one-hit road is no track).
    e, s = graph((0, 1, 0.9), (1, 2, 0.8), (2, 3, 0.9), (1, 4, 0.3))
    lab = walkthrough_tracks(e, s, 5)
    assert groups(lab) == {frozenset({0, 1, 2, 3})}
    assert lab[4] == -1


def test_walk_takes_the_longest_road_among_strong_branches():
    # At 1, both 1->2 (0.95) and 1->3 (0.7) pass th_add=0.6; the road through 3 is longer.
    e, s = graph((0, 1, 0.9), (1, 2, 0.95), (1, 3, 0.7), (3, 4, 0.9), (4, 5, 0.9))
    lab = walkthrough_tracks(e, s, 6)
    assert groups(lab) == {frozenset({0, 1, 3, 4, 5})}
    # With th_add above 0.7 only the best edge is followed: 0-1-2, then 3-4-5 on its own.
    lab = walkthrough_tracks(e, s, 6, th_add=0.8)
    assert groups(lab) == {frozenset({0, 1, 2}), frozenset({3, 4, 5})}


def test_walk_stops_below_th_min():
    # 2->3 scores 0.08: above score_cut_cc (0.01) but not above th_min (0.1).
    e, s = graph((0, 1, 0.9), (1, 2, 0.9), (1, 5, 0.2), (2, 3, 0.08), (3, 4, 0.9))
    lab = walkthrough_tracks(e, s, 6)
    assert groups(lab) == {frozenset({0, 1, 2}), frozenset({3, 4})}
    # With th_min lowered to 0.05 the walk goes on through 3.
    lab = walkthrough_tracks(e, s, 6, th_min=0.05)
    assert groups(lab) == {frozenset({0, 1, 2, 3, 4})}


def test_walk_ties_go_to_the_higher_score():
    # Two roads of 3 hits from 0: via 1 (0.7) and via 2 (0.9); the higher-scoring one wins.
    e, s = graph((0, 1, 0.7), (0, 2, 0.9), (1, 3, 0.9), (2, 4, 0.9))
    lab = walkthrough_tracks(e, s, 5)
    # 1-3 is then a 2-hit road of its own.
    assert groups(lab) == {frozenset({0, 2, 4}), frozenset({1, 3})}


def test_walk_on_crossing_tracks_shares_no_hit():
    # Two tracks crossing at hit 2: 0->2->4->6 and 1->2->3->5. Each hit goes to one track only.
    e, s = graph(
        (0, 2, 0.9), (2, 4, 0.9), (4, 6, 0.9), (1, 2, 0.9), (2, 3, 0.7), (3, 5, 0.9), (5, 7, 0.9)
    )
    lab = walkthrough_tracks(e, s, 8)
    # From 0 (first start) the longest road is 0-2-3-5-7 (5 hits, through the 0.7 branch).
    assert groups(lab) == {frozenset({0, 2, 3, 5, 7}), frozenset({4, 6})}
    assert lab[1] == -1


def test_walk_orientation_from_node_order():
    # Edges given inwards / both ways; node_order (e.g. r^2 + z^2) orients them outwards.
    order = np.array([4.0, 3.0, 2.0, 1.0, 0.0])
    e, s = graph((0, 1, 0.9), (1, 0, 0.9), (2, 1, 0.9), (3, 2, 0.8), (4, 3, 0.9), (2, 0, 0.3))
    with pytest.raises(ValueError, match="cycle"):
        walkthrough_tracks(e, s, 5)
    lab = walkthrough_tracks(e, s, 5, node_order=order)
    assert groups(lab) == {frozenset({0, 1, 2, 3, 4})}


def test_cc_only_and_parameter_checks():
    e, s = graph((0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9), (4, 5, 0.9), (5, 6, 0.9), (5, 7, 0.9))
    assert groups(walkthrough_tracks(e, s, 8, cc_only=True)) == {frozenset({0, 1, 2, 3})}
    assert len(groups(walkthrough_tracks(e, s, 8))) == 2
    with pytest.raises(ValueError, match="th_add"):
        walkthrough_tracks(e, s, 8, th_min=0.7, th_add=0.6)
    with pytest.raises(ValueError, match="node_order"):
        walkthrough_tracks(e, s, 8, node_order=np.zeros(3))


def _naive_walkthrough(edges, scores, n, order, score_cut_cc, th_min, th_add):
    """acorn's CCandWalk written out directly: enumerate every road from each start."""
    best: dict[tuple[int, int], float] = {}
    for (u, v), w in zip(edges.T.tolist(), scores.tolist()):
        if u == v:
            continue
        if (order[u], u) > (order[v], v):
            u, v = v, u
        best[(u, v)] = max(best.get((u, v), -1.0), w)
    kept = {k: w for k, w in best.items() if w > score_cut_cc}
    succ: dict[int, list[tuple[float, int]]] = {}
    pred: dict[int, list[int]] = {}
    for (u, v), w in kept.items():
        succ.setdefault(u, []).append((w, v))
        pred.setdefault(v, []).append(u)
    for u in succ:
        succ[u].sort(key=lambda t: (-t[0], t[1]))
    # Weak components (union-find).
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in kept:
        parent[find(u)] = find(v)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    labels = [-1] * n
    nxt = 0
    walk_nodes = set()
    for members in sorted(comps.values(), key=min):
        if len(members) < 3:
            continue
        if all(len(succ.get(i, [])) <= 1 and len(pred.get(i, [])) <= 1 for i in members):
            for i in members:
                labels[i] = nxt
            nxt += 1
        else:
            walk_nodes.update(members)
    # Topological generations, by node index within each.
    indeg = {i: len(pred.get(i, [])) for i in range(n)}
    frontier = sorted(i for i in range(n) if indeg[i] == 0)
    topo = []
    while frontier:
        topo += frontier
        new = []
        for u in frontier:
            for _, v in succ.get(u, []):
                indeg[v] -= 1
                if indeg[v] == 0:
                    new.append(v)
        frontier = sorted(new)
    used: set[int] = set()

    def next_hits(v):
        cand = [(w, x) for w, x in succ.get(v, []) if x not in used]
        if not cand or cand[0][0] <= th_min:
            return []
        out = [cand[0][1]]
        for w, x in cand[1:]:
            if w > th_add:
                out.append(x)
            else:
                break
        return out

    def roads(v):
        nh = next_hits(v)
        if not nh:
            return [[v]]
        return [[v] + r for w in nh for r in roads(w)]

    for s0 in topo:
        if s0 not in walk_nodes or s0 in used:
            continue
        all_roads = roads(s0)
        road = all_roads[0]
        for r in all_roads[1:]:
            if len(r) > len(road):  # first of the longest: the higher-scoring branch on ties
                road = r
        if len(road) < 2:
            used.add(s0)
            continue
        for i in road:
            labels[i] = nxt
            used.add(i)
        nxt += 1
    return np.array(labels)


@pytest.mark.parametrize("seed", range(12))
def test_walk_matches_a_direct_enumeration(seed):
    rng = np.random.default_rng(seed)
    n_layers, per_layer = 6, 6
    n = n_layers * per_layer
    layer = np.repeat(np.arange(n_layers), per_layer)
    order = layer + rng.integers(0, 2, n) * 0.0  # ties within a layer: broken by index
    src, dst = [], []
    for _ in range(int(n * 2.5)):
        u = int(rng.integers(0, n - per_layer))
        v = int(rng.integers(0, per_layer)) + (layer[u] + int(rng.integers(1, 3))) * per_layer
        if v < n:
            src.append(u)
            dst.append(v)
            if rng.random() < 0.1:  # some edges given inwards, some twice
                src.append(v)
                dst.append(u)
    e = np.array([src, dst])
    # Quantised scores: plenty of ties, of branching above th_add and of edges under th_min.
    s = rng.choice([0.005, 0.05, 0.3, 0.65, 0.8, 0.95], e.shape[1])
    got = walkthrough_tracks(e, s, n, node_order=order, th_min=0.1, th_add=0.6)
    want = _naive_walkthrough(e, s, n, order, 0.01, 0.1, 0.6)
    assert got.tolist() == want.tolist()


def _event_graph(rng, n_particles: int, n_layers: int = 10, fakes_per_hit: float = 1.0):
    """Particles crossing ``n_layers`` layers (true edges between consecutive hits) plus fake
    edges from random hits to random hits of the next layer."""
    n = n_particles * n_layers
    layer = np.arange(n) % n_layers
    true_src = np.flatnonzero(layer < n_layers - 1)
    n_fake = int(fakes_per_hit * n)
    fake_src = rng.choice(true_src, n_fake)
    fake_dst = rng.integers(0, n_particles, n_fake) * n_layers + layer[fake_src] + 1
    e = np.stack([np.r_[true_src, fake_src], np.r_[true_src + 1, fake_dst]])
    y = np.r_[np.ones(true_src.size), np.zeros(n_fake)]
    return e, y, layer.astype(np.float64), n


def test_finds_the_particles_of_a_well_scored_event():
    rng = np.random.default_rng(0)
    e, y, order, n = _event_graph(rng, 5000)  # 95k edges
    scores = np.clip(0.9 * y + rng.normal(0.05, 0.1, y.size), 0, 1)
    lab = walkthrough_tracks(e, scores, n, node_order=order)
    particle = np.arange(n) // 10
    found = [g for g in groups(lab) if len(g) == 10 and len({int(particle[i]) for i in g}) == 1]
    assert len(found) > 4500


def _hit_visits(e, scores, n, order) -> int:
    """How many times the walk computes a hit's next hits (its unit of work), counted with
    cProfile: deterministic, unlike a wall-clock time on a shared machine."""
    profile = cProfile.Profile()
    profile.enable()
    walkthrough_tracks(e, scores, n, node_order=order)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(
        calls
        for (path, _, name), (_, calls, *_rest) in stats.items()
        if path.endswith("walkthrough.py") and name == "next_hits"
    )


def test_walk_work_is_linear_when_everything_branches():
    """Scores all above th_add: every hit branches. Exploring the roads afresh from every start,
    as acorn does, visits each hit again and again (here 16 visits per hit at 5k hits, 22 at
    20k); keeping the longest roads up to date visits each hit ~1.7 times whatever the size.
    (Wall time: ~0.4 s at 100k edges on one idle core.)"""
    rng = np.random.default_rng(1)
    for n_particles in (500, 2000):
        e, y, order, n = _event_graph(rng, n_particles)
        scores = rng.uniform(0.6, 1.0, y.size)
        visits = _hit_visits(e, scores, n, order)
        assert n <= visits < 2.5 * n, (n, visits)
