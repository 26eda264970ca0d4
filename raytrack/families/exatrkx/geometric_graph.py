"""Candidate edges from geometry: hit pairs on adjacent layers within φ and z windows.

The heptrkx / Exa.TrkX *geometric* graph construction. A **layer-pair map** says which layers
follow which along a track; it is learned from the truth of training events (the layer pairs
that consecutive true hits of a particle occupy, :func:`learn_layer_pairs`) or given
explicitly. For every allowed pair ``(inner, outer)`` a hit pair ``a → b`` becomes a candidate
edge when

- ``|Δφ| ≤ phi_slope_max · |Δr|`` — the bending of a track of transverse momentum ``pT`` from
  the beam line is ``dφ/dr ≈ 0.3 B / (2 pT)`` (per metre), so ``phi_slope_max`` is a pT cut:
  ``0.0006 /mm`` ↔ 0.5 GeV in 2 T at small radius;
- ``|z0| ≤ z0_max`` with ``z0 = z_a − r_a · Δz / Δr`` the intercept at ``r = 0`` of the line
  through both hits (the luminous region is ~±200 mm long);
- ``|Δη| ≤ deta_max`` when ``deta_max`` is set.

Layers are identified by a **layer key** ``volume_id * 100 + layer_id`` (TrackML ids, e.g.
``802`` = pixel barrel layer 2). Edges are directed ``inner → outer`` along the pair, i.e. in
the order a particle from the interaction point crosses the two layers.

Implementation: hits are sorted by ``(layer, φ)`` once, hits within the largest window of ``±π``
are duplicated across the wrap-around, and the φ window of every (pair, inner hit) query is
found with one ``searchsorted`` over all pairs at once; the exact cuts then run on the expanded
candidates. A few milliseconds for a few thousand hits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import hit_particle_pt, true_edges

__all__ = [
    "TRACKML_LAYER_PAIRS",
    "GeometricGraphBuilder",
    "build_edges",
    "layer_keys",
    "learn_layer_pairs",
]

LAYER_KEY_SCALE = 100


def layer_keys(event: Event) -> np.ndarray:
    """``volume_id * 100 + layer_id`` of every hit (int64)."""
    hits = event.hits
    return hits["volume_id"].astype(np.int64) * LAYER_KEY_SCALE + hits["layer_id"].astype(np.int64)


def learn_layer_pairs(
    events: Iterable[Event],
    *,
    kind: Literal["modulewise", "layerwise"] = "modulewise",
    pt_min: float = 0.0,
    min_count: int = 1,
) -> np.ndarray:
    """The ``(P, 2)`` layer-key pairs that consecutive true hits occupy in ``events``.

    Only true edges whose particle has ``pT > pt_min`` count; a pair must be seen at least
    ``min_count`` times. Pairs within one layer (overlapping modules) are kept. When both
    directions of a pair occur, only the more frequent one is kept, so that a hit pair is never
    proposed twice. Rows are sorted.
    """
    counts: Counter[tuple[int, int]] = Counter()
    for event in events:
        keys = layer_keys(event)
        edges = true_edges(event, kind)
        if edges.size == 0:
            continue
        if pt_min > 0:
            pt = hit_particle_pt(event)
            edges = edges[:, pt[edges[0]] > pt_min]
        pairs = np.stack([keys[edges[0]], keys[edges[1]]], axis=1)
        uniq, n = np.unique(pairs, axis=0, return_counts=True)
        counts.update({(int(a), int(b)): int(c) for (a, b), c in zip(uniq, n)})
    kept = []
    for (a, b), c in counts.items():
        if c < min_count:
            continue
        if a != b and counts.get((b, a), 0) > c:
            continue
        if a != b and counts.get((b, a), 0) == c and a > b:
            continue
        kept.append((a, b))
    return np.array(sorted(kept), dtype=np.int64).reshape(-1, 2)


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concat([arange(s, s + c) for s, c in zip(starts, counts)])`` without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total, dtype=np.int64)


def build_edges(
    event: Event,
    layer_pairs: np.ndarray | Sequence[Sequence[int]],
    *,
    phi_slope_max: float = 0.0008,
    z0_max: float = 250.0,
    deta_max: float | None = None,
) -> np.ndarray:
    """Candidate edges of ``event``: ``(2, E)`` int64 local hit indices, inner → outer.

    See the module documentation for the cuts. ``layer_pairs`` holds ``(inner, outer)`` layer
    keys; pairs of layers without hits are skipped.
    """
    hits = event.hits
    r = np.asarray(hits["r"], np.float64)
    phi = np.asarray(hits["phi"], np.float64)
    z = np.asarray(hits["z"], np.float64)
    pairs = np.asarray(layer_pairs, np.int64).reshape(-1, 2)
    empty = np.zeros((2, 0), np.int64)
    if len(r) == 0 or len(pairs) == 0:
        return empty

    keys = layer_keys(event)
    present, layer = np.unique(keys, return_inverse=True)
    n_layers = len(present)
    ia = np.searchsorted(present, pairs[:, 0]).clip(max=n_layers - 1)
    ib = np.searchsorted(present, pairs[:, 1]).clip(max=n_layers - 1)
    ok = (present[ia] == pairs[:, 0]) & (present[ib] == pairs[:, 1])
    ia, ib = ia[ok], ib[ok]
    if len(ia) == 0:
        return empty

    # radial extent of every layer's hits: bounds the φ window of a query
    r_min = np.full(n_layers, np.inf)
    r_max = np.full(n_layers, -np.inf)
    np.minimum.at(r_min, layer, r)
    np.maximum.at(r_max, layer, r)

    # queries: every hit of every pair's inner layer
    order = np.lexsort((phi, layer))
    layer_count = np.bincount(layer, minlength=n_layers)
    layer_start = np.cumsum(layer_count) - layer_count
    q_count = layer_count[ia]
    q_pair = np.repeat(np.arange(len(ia)), q_count)
    q_hit = order[_ragged_arange(layer_start[ia], q_count)]
    q_outer = ib[q_pair]
    dr_bound = np.maximum(np.abs(r_max[q_outer] - r[q_hit]), np.abs(r_min[q_outer] - r[q_hit]))
    window = np.minimum(phi_slope_max * dr_bound, np.pi)

    # outer-layer hits sorted by (layer, φ), with copies across the ±π wrap-around
    w_max = float(window.max()) if len(window) else 0.0
    low = phi < -np.pi + w_max
    high = phi > np.pi - w_max
    ext_hit = np.concatenate([np.arange(len(phi)), np.flatnonzero(low), np.flatnonzero(high)])
    ext_phi = np.concatenate([phi, phi[low] + 2 * np.pi, phi[high] - 2 * np.pi])
    ext_key = layer[ext_hit] * 16.0 + ext_phi
    ext_order = np.argsort(ext_key, kind="stable")
    ext_key = ext_key[ext_order]
    ext_hit = ext_hit[ext_order]

    centre = q_outer * 16.0 + phi[q_hit]
    lo = np.searchsorted(ext_key, centre - window, side="left")
    hi = np.searchsorted(ext_key, centre + window, side="right")
    n_cand = hi - lo
    src = np.repeat(q_hit, n_cand)
    dst = ext_hit[_ragged_arange(lo, n_cand)]

    # exact cuts
    dr = r[dst] - r[src]
    dphi = np.remainder(phi[dst] - phi[src] + np.pi, 2 * np.pi) - np.pi
    keep = (np.abs(dphi) <= phi_slope_max * np.abs(dr)) & (src != dst)
    keep &= np.abs(z[src] * r[dst] - z[dst] * r[src]) <= z0_max * np.abs(dr)
    if deta_max is not None:
        eta = np.asarray(hits["eta"], np.float64)
        keep &= np.abs(eta[dst] - eta[src]) <= deta_max
    return np.stack([src[keep], dst[keep]]).astype(np.int64)


class GeometricGraphBuilder:
    """:func:`build_edges` with fixed settings (a callable ``event -> (2, E)`` edges)."""

    def __init__(
        self,
        layer_pairs: np.ndarray | Sequence[Sequence[int]] | None = None,
        *,
        phi_slope_max: float = 0.0008,
        z0_max: float = 250.0,
        deta_max: float | None = None,
    ) -> None:
        if phi_slope_max <= 0:
            raise ValueError(
                f"phi_slope_max must be positive, but got phi_slope_max={phi_slope_max}"
            )
        if z0_max <= 0:
            raise ValueError(f"z0_max must be positive, but got z0_max={z0_max}")
        if deta_max is not None and deta_max <= 0:
            raise ValueError(f"deta_max must be positive or None, but got deta_max={deta_max}")
        pairs = TRACKML_LAYER_PAIRS if layer_pairs is None else layer_pairs
        self.layer_pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        self.phi_slope_max = phi_slope_max
        self.z0_max = z0_max
        self.deta_max = deta_max

    def __call__(self, event: Event) -> np.ndarray:
        return build_edges(
            event,
            self.layer_pairs,
            phi_slope_max=self.phi_slope_max,
            z0_max=self.z0_max,
            deta_max=self.deta_max,
        )


# Learned with `python -m raytrack.families.exatrkx.geometric_graph` (see _learn_trackml_pairs).
TRACKML_LAYER_PAIRS: np.ndarray = np.array(
    [
        (702, 1202),
        (702, 1204),
        (702, 1206),
        (704, 702),
        (704, 1206),
        (704, 1208),
        (706, 704),
        (706, 1208),
        (706, 1210),
        (708, 706),
        (708, 1208),
        (708, 1210),
        (710, 708),
        (710, 1210),
        (710, 1212),
        (712, 710),
        (712, 1212),
        (712, 1302),
        (714, 712),
        (714, 1212),
        (714, 1302),
        (802, 714),
        (802, 804),
        (802, 902),
        (804, 714),
        (804, 806),
        (804, 902),
        (804, 1302),
        (806, 714),
        (806, 808),
        (806, 902),
        (806, 1302),
        (808, 1302),
        (902, 904),
        (902, 1302),
        (904, 906),
        (904, 1302),
        (904, 1402),
        (906, 908),
        (906, 1402),
        (906, 1404),
        (908, 910),
        (908, 1404),
        (908, 1406),
        (910, 912),
        (910, 1404),
        (910, 1406),
        (912, 914),
        (912, 1406),
        (912, 1408),
        (914, 1408),
        (914, 1410),
        (914, 1412),
        (1204, 1202),
        (1204, 1602),
        (1206, 1204),
        (1206, 1602),
        (1206, 1604),
        (1208, 1206),
        (1208, 1604),
        (1208, 1606),
        (1210, 1208),
        (1210, 1606),
        (1210, 1608),
        (1212, 1210),
        (1212, 1608),
        (1212, 1610),
        (1302, 1212),
        (1302, 1304),
        (1302, 1402),
        (1304, 1212),
        (1304, 1306),
        (1304, 1402),
        (1306, 1212),
        (1306, 1308),
        (1306, 1402),
        (1306, 1610),
        (1306, 1804),
        (1308, 1610),
        (1308, 1612),
        (1308, 1702),
        (1308, 1802),
        (1308, 1804),
        (1402, 1404),
        (1402, 1804),
        (1402, 1806),
        (1404, 1406),
        (1404, 1806),
        (1404, 1808),
        (1406, 1408),
        (1406, 1808),
        (1406, 1810),
        (1408, 1410),
        (1408, 1810),
        (1408, 1812),
        (1410, 1412),
        (1410, 1812),
        (1604, 1602),
        (1606, 1604),
        (1608, 1606),
        (1610, 1608),
        (1612, 1610),
        (1702, 1612),
        (1702, 1704),
        (1702, 1802),
        (1802, 1804),
        (1804, 1806),
        (1806, 1808),
        (1808, 1810),
        (1810, 1812),
    ],
    dtype=np.int64,
)
"""Layer-pair map of the TrackML layout (``(inner, outer)`` layer keys), learned from the truth
of simulated training events: the ``modulewise`` true edges of particles with pT > 0.3 GeV in
300 events of each detector preset (``trackml``, ``trackml_barrel``, ``trackml_pixel``) at
``rfactor=0.02``, pairs seen at least 3 times. Layer and volume ids are TrackML's, so the map
also fits TrackML events (whose missing hits may add layer-skipping pairs: learn those with
:func:`learn_layer_pairs` on the training events, and pass them as ``layer_pairs``)."""


def _learn_trackml_pairs(events_per_detector: int = 300, seed: int = 12345) -> np.ndarray:
    from raytrack.families.tracking.simulate import SimulationSettings, simulate_events

    found: set[tuple[int, int]] = set()
    for detector in ("trackml", "trackml_barrel", "trackml_pixel"):
        settings = SimulationSettings(rfactor=0.02, detector=detector)
        events = simulate_events(events_per_detector, seed, settings)
        pairs = learn_layer_pairs(events, kind="modulewise", pt_min=0.3, min_count=3)
        found.update((int(a), int(b)) for a, b in pairs)
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)


if __name__ == "__main__":
    learned = _learn_trackml_pairs()
    print(f"{len(learned)} layer pairs:")
    print([tuple(map(int, pair)) for pair in learned])
