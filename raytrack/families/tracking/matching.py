"""Matching track candidates to particles, and the tracking efficiency, fake and duplicate rates.

Definitions follow acorn's (GNN4ITk "CommonFramework") track-building evaluation, the Exa.TrkX
one (``acorn/stages/track_building/utils.py``: ``evaluate_labelled_graph``;
``track_building_stage.py``: ``tracking_efficiency``); double majority is also gnn_tracking's
(``gnn_tracking/metrics/cluster_metrics.py``). For every (candidate, particle) pair sharing hits:

- ``purity = n_shared / n_track_hits``: the fraction of the candidate's hits that come from the
  particle (noise hits and hits of other particles count in ``n_track_hits``);
- ``completeness = n_shared / n_particle_hits``: the fraction of the particle's hits that are in
  the candidate (``n_particle_hits`` counts all the particle's hits in the event, on candidates
  or not).

Matching styles, with the matching fraction ``f`` (default 0.5):

- ``"ATLAS"``: the pair matches when ``purity > f``; the candidate is then matched and the
  particle reconstructed.
- ``"one_way"``: the candidate is matched when ``purity > f``; the particle is reconstructed,
  separately, when ``completeness > f``.
- ``"two_way"`` (double majority at ``f = 0.5``): the pair matches when ``purity > f`` and
  ``completeness > f``; both the candidate and the particle count.

"More than ``f``" is strict. acorn writes ``>= f`` but adds 1e-6 to ``f`` when ``f == 0.5``,
the same thing for any track under a million hits; for other ``f`` the two differ only when a
fraction equals ``f`` exactly.

Populations:

- *candidates*: distinct labels ``>= 0`` with at least ``min_track_hits`` hits (acorn's
  ``is_matchable`` with ``min_track_length``). Labels ``< 0`` mean "on no candidate".
- *reconstructable particles*: ``particle_id != 0`` (noise never is), with at least
  ``min_particle_hits`` hits in the event, ``pt > pt_min`` when ``pt_min`` is given, and the
  optional per-hit ``reconstructable`` flag (acorn's fiducial selection).

Rates (acorn's formulas):

- efficiency = reconstructed reconstructable particles / reconstructable particles, a particle
  counting as reconstructed when some *candidate* reconstructs it;
- fake rate = candidates matched to no particle / candidates. A candidate matched to any real
  particle (reconstructable or not) is not fake. Noise is never matched: acorn, whose noise
  hits carry particle id 0 like any other, would let a candidate made mostly of noise hits
  "match" particle 0; here it is a fake.
- duplicate rate = (reconstructing pairs of reconstructable particles − reconstructed
  reconstructable particles) / reconstructed reconstructable particles, i.e. the surplus
  candidates per reconstructed particle (acorn's ``n_dup_reconstructed_particles /
  n_reconstructed_particles``). With ``one_way`` or ``two_way`` and ``f >= 0.5`` a particle can
  be reconstructed by one candidate at most (two candidates cannot each hold more than half of
  its hits), so the rate is 0; duplicates show under ``"ATLAS"``. ``n_duplicated_particles``
  also gives the number of particles reconstructed by more than one candidate.

Everything is computed with numpy (``np.unique`` over pair keys, ``np.bincount``): 100k hits
take a few milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

import numpy as np
import pandas as pd

MatchingStyle = Literal["ATLAS", "one_way", "two_way"]
MATCHING_STYLES: tuple[str, ...] = ("ATLAS", "one_way", "two_way")
NOISE_PARTICLE_ID = 0


@dataclass(frozen=True)
class TrackingMetrics:
    """Track-level results of one or more events (counts are summed, rates recomputed)."""

    matching_style: str
    matching_fraction: float
    n_particles: int
    """Reconstructable particles."""
    n_reconstructed_particles: int
    """Reconstructable particles reconstructed by at least one candidate."""
    n_tracks: int
    """Candidates (labels with at least ``min_track_hits`` hits)."""
    n_matched_tracks: int
    """Candidates matched to a (non-noise) particle."""
    n_duplicate_matches: int
    """Reconstructing (candidate, reconstructable particle) pairs beyond one per particle."""
    n_duplicated_particles: int
    """Reconstructable particles reconstructed by more than one candidate."""

    @property
    def efficiency(self) -> float:
        return _ratio(self.n_reconstructed_particles, self.n_particles)

    @property
    def fake_rate(self) -> float:
        return _ratio(self.n_tracks - self.n_matched_tracks, self.n_tracks)

    @property
    def duplicate_rate(self) -> float:
        return _ratio(self.n_duplicate_matches, self.n_reconstructed_particles)

    def as_dict(self) -> dict[str, float | int | str]:
        """Counts and rates as a flat dictionary (for reports and logs)."""
        out: dict[str, float | int | str] = asdict(self)
        out.update(
            efficiency=self.efficiency, fake_rate=self.fake_rate, duplicate_rate=self.duplicate_rate
        )
        return out

    def __add__(self, other: TrackingMetrics) -> TrackingMetrics:
        """Combine two events' results (same style and fraction): counts add up."""
        if not isinstance(other, TrackingMetrics):
            return NotImplemented
        definition = (self.matching_style, self.matching_fraction)
        if definition != (other.matching_style, other.matching_fraction):
            raise ValueError(
                "tracking metrics must share the matching definition to add up, but got "
                f"{definition} and {(other.matching_style, other.matching_fraction)}"
            )
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)[2:]}
        return TrackingMetrics(*definition, **counts)


def _ratio(num: int, den: int) -> float:
    return float(num) / float(den) if den else float("nan")


def _per_hit(name: str, value: object, n: int, dtype: object = None) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=dtype).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one value per hit ({n}), but got {arr.shape[0]}")
    return arr


def match_tracks(
    particle_id: np.ndarray,
    track_label: np.ndarray,
    *,
    matching_fraction: float = 0.5,
    matching_style: MatchingStyle = "two_way",
    min_track_hits: int = 5,
    min_particle_hits: int = 5,
    pt: np.ndarray | None = None,
    pt_min: float | None = None,
    reconstructable: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The matching tables behind :func:`tracking_metrics` (for plots against pT, eta, ...).

    Args: see :func:`tracking_metrics`.

    Shapes:
        particle_id, track_label, pt, reconstructable: ``(N,)`` per hit.

    Returns:
        ``(pairs, tracks, particles)``:

        - ``pairs``: one row per (candidate, non-noise particle) sharing hits, with
          ``track_id, particle_id, n_shared, n_track_hits, n_particle_hits, purity,
          completeness, is_matched, is_reconstructed`` (candidates only);
        - ``tracks``: one row per candidate: ``track_id, n_hits, is_matched``;
        - ``particles``: one row per non-noise particle: ``particle_id, n_hits, pt`` (NaN without
          ``pt``), ``is_reconstructable, n_reconstructing_tracks, is_reconstructed``.
    """
    if matching_style not in MATCHING_STYLES:
        raise ValueError(
            f"matching_style must be one of {MATCHING_STYLES}, but got {matching_style!r}"
        )
    if not 0.0 <= matching_fraction < 1.0:
        raise ValueError(
            f"matching_fraction must be in [0, 1), but got matching_fraction={matching_fraction}"
        )
    minimums = {"min_track_hits": min_track_hits, "min_particle_hits": min_particle_hits}
    for name, value in minimums.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, but got {name}={value}")
    particle_id = np.asarray(particle_id).reshape(-1)
    n = particle_id.shape[0]
    track_label = _per_hit("track_label", track_label, n)
    assert track_label is not None
    if not np.issubdtype(track_label.dtype, np.integer):
        if np.issubdtype(track_label.dtype, np.floating) and np.all(
            np.isfinite(track_label) & (track_label == np.round(track_label))
        ):
            track_label = track_label.astype(np.int64)
        else:
            raise TypeError(f"track_label must hold integers, but got dtype {track_label.dtype}")
    pt = _per_hit("pt", pt, n, np.float64)
    reconstructable = _per_hit("reconstructable", reconstructable, n, bool)
    if pt_min is not None and pt is None:
        raise ValueError(f"pt_min={pt_min} needs the per-hit particle pt, but got pt=None")

    # Particles: codes 0..P-1 over the non-noise ids.
    pcode_all, pids = pd.factorize(particle_id, sort=True)
    pids = np.asarray(pids)
    noise_codes = np.flatnonzero(pids == NOISE_PARTICLE_ID)
    is_noise_hit = np.isin(pcode_all, noise_codes)
    n_particles_all = pids.shape[0]
    p_nhits = np.bincount(pcode_all, minlength=n_particles_all)

    p_pt = np.full(n_particles_all, np.nan)
    if pt is not None:
        p_pt[pcode_all] = pt  # one value per particle (the last hit's, all equal in practice)
    p_ok = p_nhits >= min_particle_hits
    p_ok[noise_codes] = False
    if pt_min is not None:
        p_ok &= p_pt > pt_min
    if reconstructable is not None:
        flag = np.ones(n_particles_all, dtype=bool)
        np.logical_and.at(flag, pcode_all, reconstructable)
        p_ok &= flag

    # Candidates: labels >= 0 with at least min_track_hits hits.
    on_track = track_label >= 0
    tcode_all = np.full(n, -1, dtype=np.int64)
    tids = np.unique(track_label[on_track])
    tcode_all[on_track] = np.searchsorted(tids, track_label[on_track])
    t_nhits = np.bincount(tcode_all[on_track], minlength=tids.shape[0])
    t_ok = t_nhits >= min_track_hits

    # Pairs (candidate, non-noise particle) sharing hits.
    sel = on_track & ~is_noise_hit
    sel[on_track] &= t_ok[tcode_all[on_track]]
    key = tcode_all[sel] * n_particles_all + pcode_all[sel]
    key, n_shared = np.unique(key, return_counts=True)
    pt_code, pp_code = key // max(n_particles_all, 1), key % max(n_particles_all, 1)
    n_track_hits = t_nhits[pt_code]
    n_particle_hits = p_nhits[pp_code]
    f = float(matching_fraction)
    purity = n_shared / n_track_hits
    completeness = n_shared / n_particle_hits
    pure = purity > f
    complete = completeness > f
    if matching_style == "ATLAS":
        is_matched = is_reconstructed = pure
    elif matching_style == "one_way":
        is_matched, is_reconstructed = pure, complete
    else:
        is_matched = is_reconstructed = pure & complete

    pairs = pd.DataFrame(
        {
            "track_id": tids[pt_code],
            "particle_id": pids[pp_code],
            "n_shared": n_shared,
            "n_track_hits": n_track_hits,
            "n_particle_hits": n_particle_hits,
            "purity": purity,
            "completeness": completeness,
            "is_matched": is_matched,
            "is_reconstructed": is_reconstructed,
        }
    )

    t_matched = np.zeros(tids.shape[0], dtype=bool)
    t_matched[pt_code[is_matched]] = True
    tracks = pd.DataFrame(
        {"track_id": tids[t_ok], "n_hits": t_nhits[t_ok], "is_matched": t_matched[t_ok]}
    )

    p_nreco = np.bincount(pp_code[is_reconstructed], minlength=n_particles_all)
    real = np.ones(n_particles_all, dtype=bool)
    real[noise_codes] = False
    particles = pd.DataFrame(
        {
            "particle_id": pids[real],
            "n_hits": p_nhits[real],
            "pt": p_pt[real],
            "is_reconstructable": p_ok[real],
            "n_reconstructing_tracks": p_nreco[real],
            "is_reconstructed": p_nreco[real] > 0,
        }
    )
    return pairs, tracks, particles


def tracking_metrics(
    particle_id: np.ndarray,
    track_label: np.ndarray,
    *,
    matching_fraction: float = 0.5,
    matching_style: MatchingStyle = "two_way",
    min_track_hits: int = 5,
    min_particle_hits: int = 5,
    pt: np.ndarray | None = None,
    pt_min: float | None = None,
    reconstructable: np.ndarray | None = None,
) -> TrackingMetrics:
    """Tracking efficiency, fake rate and duplicate rate of one event's track candidates.

    Args:
        particle_id: per hit, its particle (0 for noise).
        track_label: per hit, its candidate (any integer ``>= 0``; ``< 0`` for no candidate), as
            :mod:`raytrack.families.tracking.track_building` returns.
        matching_fraction: ``f`` of the matching conditions (strictly more than ``f``).
        matching_style: ``"two_way"`` (default; double majority at ``f = 0.5``), ``"one_way"``
            or ``"ATLAS"``; see the module docstring.
        min_track_hits: candidates need at least this many hits (others are ignored: neither
            fakes nor able to reconstruct a particle).
        min_particle_hits: reconstructable particles need at least this many hits in the event.
        pt: per hit, the transverse momentum of its particle (GeV); needed for ``pt_min``.
        pt_min: reconstructable particles need ``pt > pt_min`` (e.g. 1.0); ``None``: no cut.
        reconstructable: optional per-hit flag; a particle is reconstructable only if it is
            true on all its hits (e.g. an eta or vertex selection).

    Returns:
        :class:`TrackingMetrics`, with counts and the ``efficiency``, ``fake_rate`` and
        ``duplicate_rate`` properties (NaN where a denominator is zero). Results of several
        events add up with ``+``.

    Example: the double-majority efficiency for pT > 1 GeV particles with at least 5 hits is
    ``tracking_metrics(pid, labels, pt=pt, pt_min=1.0).efficiency``.

    Shapes:
        particle_id, track_label, pt, reconstructable: ``(N,)`` per hit.
    """
    pairs, tracks, particles = match_tracks(
        particle_id,
        track_label,
        matching_fraction=matching_fraction,
        matching_style=matching_style,
        min_track_hits=min_track_hits,
        min_particle_hits=min_particle_hits,
        pt=pt,
        pt_min=pt_min,
        reconstructable=reconstructable,
    )
    rec = particles[particles["is_reconstructable"]]
    n_reco = int(rec["is_reconstructed"].sum())
    n_pairs = int(rec["n_reconstructing_tracks"].sum())
    return TrackingMetrics(
        matching_style=matching_style,
        matching_fraction=float(matching_fraction),
        n_particles=int(len(rec)),
        n_reconstructed_particles=n_reco,
        n_tracks=int(len(tracks)),
        n_matched_tracks=int(tracks["is_matched"].sum()),
        n_duplicate_matches=n_pairs - n_reco,
        n_duplicated_particles=int((rec["n_reconstructing_tracks"] > 1).sum()),
    )
