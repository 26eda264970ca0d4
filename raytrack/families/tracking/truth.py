"""Hit selection and ground-truth graphs of an event (Exa.TrkX and HyperTrack definitions).

All functions work on one :class:`~raytrack.families.tracking.event.Event` and return numpy arrays; edges are
``int64`` arrays of shape ``(2, E)`` holding *positions* in the event's hit arrays (not
``hit_id``). Only hits of particles listed in the event's particle table take part in a truth
graph (the ordering needs the production vertex); noise hits (``particle_id == 0``) never have
edges. Within a particle, hits are ordered by their distance from the particle's production
vertex ``(vx, vy, vz)``, ties by hit position; an edge points from the hit (or layer) nearer the
vertex to the farther one.

Truth graphs (``true_edges``, Exa.TrkX's processing stage):

- ``modulewise``: one hit per module and particle is kept (the first in the event's hit order,
  as Exa.TrkX's ``get_modulewise_edges`` keeps with ``drop_duplicates`` before it sorts by
  distance), and consecutive hits are joined: ``n_modules - 1`` edges per particle.
- ``layerwise``: a particle's hits are grouped by layer (``volume_id, layer_id``), the layers
  ordered by their hit nearest the vertex, and every hit of one layer joined to every hit of the
  next (Exa.TrkX's ``get_layerwise_edges``).

HyperTrack's ``node2node`` topologies between the hits of one particle, each undirected edge
listed once (HyperTrack's adjacency also holds both directions and a self-loop per hit):

- ``hyper``: every pair, ``n (n - 1) / 2`` edges.
- ``eom``: the minimum spanning tree of the hits under 3-D Euclidean distance (HyperTrack's
  ``track_minimal_spanning_tree``), ``n - 1`` edges; for a track with one hit per layer this is the
  chain in production order.
- ``cricket``: ``eom`` plus the "double hops": every two hits that are two tree edges apart. For a
  chain this adds the ``n - 2`` skip-one edges (``2n - 3`` in all), exactly HyperTrack's; HyperTrack
  builds the double hops from consecutive entries of its sorted edge list, which equals this
  definition for a chain and is order-dependent otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions

TrueEdges = Literal["modulewise", "layerwise"]
Node2Node = Literal["hyper", "eom", "cricket"]

_EMPTY_EDGES = np.zeros((2, 0), np.int64)


def _particle_index(event: Event) -> np.ndarray:
    """Row of each hit's particle in the particle table; -1 for noise and unknown particles."""
    pid = np.asarray(event.hits["particle_id"], np.int64)
    table = np.asarray(event.particles["particle_id"], np.int64)
    if table.size == 0:
        return np.full(pid.shape, -1, np.int64)
    order = np.argsort(table, kind="stable")
    pos = np.searchsorted(table, pid, sorter=order)
    pos = np.minimum(pos, table.size - 1)
    row = order[pos]
    return np.where((table[row] == pid) & (pid != 0), row, -1)


def _particle_pt(event: Event) -> np.ndarray:
    p = event.particles
    if "pt" in p:
        return np.asarray(p["pt"], np.float64)
    return np.hypot(np.asarray(p["px"], np.float64), np.asarray(p["py"], np.float64))


def hit_particle_pt(event: Event) -> np.ndarray:
    """pT (GeV) of each hit's particle; 0 for noise hits and particles missing from the table."""
    row = _particle_index(event)
    pt = _particle_pt(event)
    return np.where(row >= 0, pt[np.maximum(row, 0)] if pt.size else 0.0, 0.0)


def select_hits(event: Event, *, pt_background_cut: float = 0.0, noise: bool = True) -> Event:
    """The event with only the selected hits (Exa.TrkX's ``select_data``).

    With ``pt_background_cut > 0`` or ``noise=False``, only hits of known particles with
    ``pt > pt_background_cut`` are kept; cutting on pT therefore also removes the noise hits, as
    in Exa.TrkX ("cutting background by pT by definition removes noise"). With the defaults the
    event is returned unchanged. The particle table is kept as it is (its ``nhits`` still count
    the hits before selection). A stored graph (``event.edges``) keeps the edges between kept
    hits, renumbered to the new hit positions.
    """
    if pt_background_cut < 0:
        raise ValueError(f"pt_background_cut must be non-negative, but got {pt_background_cut}")
    if pt_background_cut <= 0 and noise:
        return event
    keep = (_particle_index(event) >= 0) & (hit_particle_pt(event) > pt_background_cut)
    hits = {name: np.asarray(col)[keep] for name, col in event.hits.items()}
    return Event(
        event_id=event.event_id,
        hits=hits,
        particles=event.particles,
        edges=_edges_between(event.edges, keep),
        meta=event.meta,
    )


def _edges_between(edges: Mapping[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The stored graph restricted to the kept hits, with ends renumbered."""
    if "src" not in edges:
        return dict(edges)
    position = np.cumsum(keep) - 1
    src, dst = np.asarray(edges["src"]), np.asarray(edges["dst"])
    both = keep[src] & keep[dst]
    out = {name: np.asarray(col)[both] for name, col in edges.items()}
    out["src"], out["dst"] = position[src[both]], position[dst[both]]
    return out


def apply_options(event: Event, options: TrackingDataOptions) -> Event:
    """:func:`select_hits` with the options' ``pt_background_cut`` and ``noise``."""
    return select_hits(event, pt_background_cut=options.pt_background_cut, noise=options.noise)


def _ordered_signal(event: Event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits of known particles sorted by (particle, distance from its vertex, position).

    Returns ``(hits, particle_row, distance)``, each aligned with the sorted order.
    """
    row = _particle_index(event)
    idx = np.flatnonzero(row >= 0)
    prow = row[idx]
    p = event.particles
    d2 = np.zeros(idx.size)
    for c in "xyz":
        diff = np.asarray(event.hits[c], np.float64)[idx] - np.asarray(p["v" + c], np.float64)[prow]
        d2 += diff * diff
    dist = np.sqrt(d2)
    order = np.lexsort((idx, dist, prow))
    return idx[order], prow[order], dist[order]


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted 1-D array."""
    if keys.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _layer_key(event: Event, hits: np.ndarray) -> np.ndarray:
    vol = np.asarray(event.hits["volume_id"], np.int64)[hits]
    lay = np.asarray(event.hits["layer_id"], np.int64)[hits]
    return (vol << 32) | (lay & 0xFFFFFFFF)


def true_edges(event: Event, kind: TrueEdges) -> np.ndarray:
    """Exa.TrkX's truth graph of the event, ``(2, E)`` hit positions (see the module docstring)."""
    if kind not in ("modulewise", "layerwise"):
        raise ValueError(f"unknown true_edges kind {kind!r}; choose 'modulewise' or 'layerwise'")
    hits, prow, dist = _ordered_signal(event)
    if hits.size == 0:
        return _EMPTY_EDGES.copy()
    if kind == "modulewise":
        module = np.asarray(event.hits["module_id"], np.int64)[hits]
        lkey = _layer_key(event, hits)
        by_module = np.lexsort((hits, module, lkey, prow))  # first in hit order leads
        p, lk, mo = prow[by_module], lkey[by_module], module[by_module]
        first = np.r_[True, (p[1:] != p[:-1]) | (lk[1:] != lk[:-1]) | (mo[1:] != mo[:-1])]
        keep = np.zeros(hits.size, bool)
        keep[by_module[first]] = True
        hits, prow = hits[keep], prow[keep]
        same = prow[1:] == prow[:-1]
        return np.stack([hits[:-1][same], hits[1:][same]]).astype(np.int64)

    # layerwise: order a particle's layers by their nearest hit, join consecutive layers fully.
    lkey = _layer_key(event, hits)
    by_layer = np.lexsort((dist, lkey, prow))
    grp_start = np.r_[
        True,
        (prow[by_layer][1:] != prow[by_layer][:-1]) | (lkey[by_layer][1:] != lkey[by_layer][:-1]),
    ]
    grp_id = np.cumsum(grp_start) - 1
    grp_min = dist[by_layer][grp_start][grp_id]  # nearest distance of each hit's layer group
    first_dist = np.empty(hits.size)
    first_dist[by_layer] = grp_min
    gid = np.empty(hits.size, np.int64)
    gid[by_layer] = grp_id
    order = np.lexsort((dist, gid, first_dist, prow))
    hits, prow, gid = hits[order], prow[order], gid[order]
    starts = _group_starts(gid)
    sizes = np.diff(np.r_[starts, hits.size])
    gprow = prow[starts]
    pair = np.flatnonzero(gprow[1:] == gprow[:-1])  # group g -> g + 1 of one particle
    if pair.size == 0:
        return _EMPTY_EDGES.copy()
    a_start, a_size = starts[pair], sizes[pair]
    b_start, b_size = starts[pair + 1], sizes[pair + 1]
    counts = a_size * b_size
    which = np.repeat(np.arange(pair.size), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    src = hits[a_start[which] + local // b_size[which]]
    dst = hits[b_start[which] + local % b_size[which]]
    return np.stack([src, dst]).astype(np.int64)


def signal_edges(event: Event, edges: np.ndarray, pt_signal_cut: float) -> np.ndarray:
    """Mask of ``edges`` joining two hits of one particle whose pT is above ``pt_signal_cut``."""
    edges = np.asarray(edges, np.int64).reshape(2, -1)
    pid = np.asarray(event.hits["particle_id"], np.int64)
    pt = hit_particle_pt(event)
    a, b = edges
    return (pid[a] == pid[b]) & (pid[a] != 0) & (pt[a] > pt_signal_cut) & (pt[b] > pt_signal_cut)


def _pairs_within_groups(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All position pairs ``i < j`` inside each group ``[start, start + size)``."""
    n = int(sizes.sum())
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pos = np.arange(n)
    group = np.repeat(np.arange(sizes.size), sizes)
    rank = pos - starts[group]
    after = sizes[group] - 1 - rank  # partners later in the group
    src = np.repeat(pos, after)
    offset = np.arange(after.sum()) - np.repeat(np.cumsum(after) - after, after)
    return src, src + offset + 1


def _spanning_trees(xyz: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Minimum spanning tree edges (positions) of each group of points, Prim's across groups."""
    out = []
    big = sizes > 1
    starts, sizes = starts[big], sizes[big]
    if sizes.size == 0:
        return np.zeros((2, 0), np.int64)
    m = int(sizes.max())
    chunk = max(1, 1_000_000 // (m * m))
    for c0 in range(0, sizes.size, chunk):
        st, sz = starts[c0 : c0 + chunk], sizes[c0 : c0 + chunk]
        g = st.size
        slot = np.arange(m)
        valid = slot[None, :] < sz[:, None]
        pos = np.where(valid, st[:, None] + slot[None, :], 0)
        pts = np.where(valid[..., None], xyz[pos], 0.0)
        dist = np.linalg.norm(pts[:, :, None, :] - pts[:, None, :, :], axis=-1)
        dist[~(valid[:, :, None] & valid[:, None, :])] = np.inf
        rows = np.arange(g)
        in_tree = ~valid
        in_tree[:, 0] = True
        best = dist[:, 0, :].copy()
        parent = np.zeros((g, m), np.int64)
        for _ in range(m - 1):
            cand = np.where(in_tree, np.inf, best)
            j = np.argmin(cand, axis=1)
            ok = np.isfinite(cand[rows, j])
            r = rows[ok]
            out.append(np.stack([pos[r, parent[r, j[ok]]], pos[r, j[ok]]]))
            in_tree[r, j[ok]] = True
            dj = dist[r, j[ok], :]
            closer = dj < best[r]
            best[r] = np.where(closer, dj, best[r])
            parent[r] = np.where(closer, j[ok][:, None], parent[r])
    return np.concatenate(out, axis=1) if out else np.zeros((2, 0), np.int64)


def node2node_edges(event: Event, kind: Node2Node) -> np.ndarray:
    """HyperTrack's ground-truth topology, ``(2, E)`` hit positions (see the module docstring)."""
    if kind not in ("hyper", "eom", "cricket"):
        raise ValueError(f"unknown node2node kind {kind!r}; choose 'hyper', 'eom' or 'cricket'")
    hits, prow, _ = _ordered_signal(event)
    if hits.size == 0:
        return _EMPTY_EDGES.copy()
    starts = _group_starts(prow)
    sizes = np.diff(np.r_[starts, hits.size])
    if kind == "hyper":
        a, b = _pairs_within_groups(starts, sizes)
        return np.stack([hits[a], hits[b]]).astype(np.int64)
    xyz = np.stack([np.asarray(event.hits[c], np.float64)[hits] for c in "xyz"], axis=1)
    tree = _spanning_trees(xyz, starts, sizes)  # positions in the sorted order
    tree = np.sort(tree, axis=0)  # nearer the vertex first (sorted order is by distance)
    if kind == "cricket" and tree.shape[1]:
        # Double hops: pairs of tree neighbours of a common hit.
        node = np.r_[tree[0], tree[1]]
        nbr = np.r_[tree[1], tree[0]]
        o = np.lexsort((nbr, node))
        node, nbr = node[o], nbr[o]
        nstarts = _group_starts(node)
        nsizes = np.diff(np.r_[nstarts, node.size])
        a, b = _pairs_within_groups(nstarts, nsizes)
        hops = np.sort(np.stack([nbr[a], nbr[b]]), axis=0)
        tree = np.concatenate([tree, hops], axis=1)
    if tree.shape[1]:
        o = np.lexsort((tree[1], tree[0]))
        tree = tree[:, o]
    return np.stack([hits[tree[0]], hits[tree[1]]]).astype(np.int64)
