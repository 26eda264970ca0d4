"""Track-to-particle matching and tracking metrics on hand-made events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from raytrack.families.tracking.matching import TrackingMetrics, match_tracks, tracking_metrics


def event(*tracks: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hits from ``(particle_id, track_label, n_hits)`` groups: per-hit particle ids and labels."""
    pid = np.concatenate([np.full(k, p) for p, _, k in tracks])
    lab = np.concatenate([np.full(k, t) for _, t, k in tracks])
    return pid.astype(np.int64), lab.astype(np.int64)


def counts(m: TrackingMetrics) -> tuple[int, int, int, int]:
    return (m.n_particles, m.n_reconstructed_particles, m.n_tracks, m.n_matched_tracks)


def metrics(pid, lab, style="two_way", **kw) -> TrackingMetrics:
    kw.setdefault("min_track_hits", 3)
    kw.setdefault("min_particle_hits", 3)
    return tracking_metrics(pid, lab, matching_style=style, **kw)


def test_perfect_reconstruction():
    pid, lab = event((1, 0, 8), (2, 1, 6), (3, 2, 5))
    for style in ("ATLAS", "one_way", "two_way"):
        m = metrics(pid, lab, style)
        assert counts(m) == (3, 3, 3, 3)
        assert (m.efficiency, m.fake_rate, m.duplicate_rate) == (1.0, 0.0, 0.0)


def test_split_track():
    # Particle 1 (10 hits) split 6 + 4 over candidates 0 and 1.
    pid, lab = event((1, 0, 6), (1, 1, 4))
    dm = metrics(pid, lab, "two_way")
    # Candidate 0: purity 6/6, completeness 6/10 -> double majority; candidate 1: 4/10 -> fake.
    assert (dm.efficiency, dm.fake_rate, dm.duplicate_rate) == (1.0, 0.5, 0.0)
    atlas = metrics(pid, lab, "ATLAS")
    # ATLAS only asks purity: both candidates match particle 1, one of them is a duplicate.
    assert (atlas.efficiency, atlas.fake_rate, atlas.duplicate_rate) == (1.0, 0.0, 1.0)
    assert (atlas.n_duplicate_matches, atlas.n_duplicated_particles) == (1, 1)
    one = metrics(pid, lab, "one_way")
    # One-way: both candidates are pure (not fake); only candidate 0 holds > half the particle.
    assert (one.efficiency, one.fake_rate, one.duplicate_rate) == (1.0, 0.0, 0.0)

    # Split exactly in half (5 + 5): no candidate holds more than half of the particle.
    pid, lab = event((1, 0, 5), (1, 1, 5))
    dm = metrics(pid, lab, "two_way")
    assert counts(dm) == (1, 0, 2, 0)
    assert (dm.efficiency, dm.fake_rate) == (0.0, 1.0)
    assert math.isnan(dm.duplicate_rate)  # no reconstructed particle: undefined


def test_merged_tracks():
    # Particles 1 and 2 (6 hits each) merged into one candidate: purity 1/2 each, no match.
    pid, lab = event((1, 0, 6), (2, 0, 6))
    for style in ("ATLAS", "one_way", "two_way"):
        m = metrics(pid, lab, style)
        assert m.n_matched_tracks == 0 and m.fake_rate == 1.0
    assert metrics(pid, lab, "two_way").efficiency == 0.0
    # one_way reconstructs both particles (all their hits are in it) though the candidate is fake.
    assert metrics(pid, lab, "one_way").efficiency == 1.0

    # 6 + 4 merged: particle 1 has purity 0.6 and completeness 1 -> matched; particle 2 is lost.
    pid, lab = event((1, 0, 6), (2, 0, 4))
    m = metrics(pid, lab, "two_way")
    assert counts(m) == (2, 1, 1, 1)
    assert (m.efficiency, m.fake_rate) == (0.5, 0.0)


def test_noise_contaminated_track():
    # 6 hits of particle 1 plus 5 noise hits: purity 6/11 > 1/2 -> still matched.
    pid, lab = event((1, 0, 6), (0, 0, 5))
    m = metrics(pid, lab, "two_way")
    assert (m.efficiency, m.fake_rate) == (1.0, 0.0)
    # Plus 6 noise hits: purity 6/12 = 1/2 is not more than half -> fake, particle lost.
    pid, lab = event((1, 0, 6), (0, 0, 6))
    m = metrics(pid, lab, "two_way")
    assert (m.efficiency, m.fake_rate) == (0.0, 1.0)
    # A candidate of noise only is a fake, and noise is never a reconstructable particle.
    pid, lab = event((1, 0, 6), (0, 1, 6))
    for style in ("ATLAS", "one_way", "two_way"):
        m = metrics(pid, lab, style)
        assert (m.n_particles, m.n_tracks, m.n_matched_tracks) == (1, 2, 1)
        assert m.fake_rate == 0.5


def test_minimum_hits_for_tracks_and_particles():
    # Particle 1 has 4 hits: below min_particle_hits=5, not reconstructable; its 4-hit candidate
    # is below min_track_hits=5: not a candidate at all (neither fake nor matched).
    pid, lab = event((1, 0, 4), (2, 1, 5))
    m = tracking_metrics(pid, lab, min_track_hits=5, min_particle_hits=5)
    assert counts(m) == (1, 1, 1, 1)
    # A 5-hit particle found only as a 4-hit candidate (+1 hit elsewhere) is not reconstructed.
    pid, lab = event((1, 0, 4), (1, -1, 1))
    m = tracking_metrics(pid, lab, min_track_hits=5, min_particle_hits=5)
    assert (m.n_particles, m.n_reconstructed_particles, m.n_tracks) == (1, 0, 0)
    assert m.efficiency == 0.0 and math.isnan(m.fake_rate)


def test_unassigned_hits_count_in_the_particle_but_are_no_candidate():
    # 10 hits: 6 on candidate 0 and 4 on no candidate (-1): completeness 0.6 -> reconstructed.
    pid, lab = event((1, 0, 6), (1, -1, 4))
    m = metrics(pid, lab)
    assert (m.n_tracks, m.efficiency) == (1, 1.0)
    pid, lab = event((1, 0, 5), (1, -1, 5))
    assert metrics(pid, lab).efficiency == 0.0


def test_pt_cut():
    pid, lab = event((1, 0, 6), (2, 1, 6), (3, 2, 6))
    pt = np.select([pid == 1, pid == 2], [0.5, 1.0], 3.0)
    m = metrics(pid, lab, pt=pt, pt_min=1.0)
    # Only particle 3 has pt > 1 (particle 2 sits on the cut: strict). All candidates match.
    assert counts(m) == (1, 1, 3, 3)
    with pytest.raises(ValueError, match="needs the per-hit particle pt"):
        metrics(pid, lab, pt_min=1.0)


def test_reconstructable_flag():
    pid, lab = event((1, 0, 6), (2, 1, 6))
    flag = pid == 1
    flag[-1] = True  # one hit of particle 2 flagged: not all -> particle 2 not reconstructable
    assert metrics(pid, lab, reconstructable=flag).n_particles == 1


def test_matching_fraction():
    # Candidate 0: 7 hits of particle 1 + 3 of particle 2 (purity 0.7); particle 1 has 8 hits.
    pid, lab = event((1, 0, 7), (2, 0, 3), (1, 1, 1), (2, 2, 3))
    assert metrics(pid, lab, matching_fraction=0.5).n_reconstructed_particles == 1
    assert metrics(pid, lab, matching_fraction=0.75).n_reconstructed_particles == 0
    with pytest.raises(ValueError, match="matching_style"):
        metrics(pid, lab, "LHC")


def test_tables():
    pid, lab = event((1, 0, 6), (1, 1, 4), (0, 1, 1), (2, 2, 5))
    pairs, tracks, particles = match_tracks(pid, lab, min_track_hits=3, min_particle_hits=3)
    assert set(pairs.columns) >= {"track_id", "particle_id", "n_shared", "purity", "completeness"}
    row = pairs[(pairs.track_id == 1) & (pairs.particle_id == 1)].iloc[0]
    assert (row.n_shared, row.n_track_hits, row.n_particle_hits) == (4, 5, 10)
    assert row.purity == pytest.approx(0.8) and row.completeness == pytest.approx(0.4)
    assert tracks.track_id.tolist() == [0, 1, 2]
    assert particles.particle_id.tolist() == [1, 2]  # noise is no particle
    assert particles.n_reconstructing_tracks.tolist() == [1, 1]


def test_events_add_up():
    a = metrics(*event((1, 0, 6), (2, 1, 3)))
    b = metrics(*event((1, 0, 5), (1, 1, 5)))
    total = a + b
    assert (total.n_particles, total.n_reconstructed_particles, total.n_tracks) == (3, 2, 4)
    assert total.efficiency == pytest.approx(2 / 3)
    d = total.as_dict()
    assert d["efficiency"] == pytest.approx(2 / 3) and d["n_tracks"] == 4
    with pytest.raises(ValueError):
        a + metrics(*event((1, 0, 6)), style="ATLAS")


def test_input_checks():
    with pytest.raises(ValueError, match="one value per hit"):
        tracking_metrics(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="min_track_hits must be at least 1"):
        tracking_metrics(np.zeros(3, int), np.zeros(3, int), min_track_hits=0)
    with pytest.raises(TypeError, match="integers"):
        tracking_metrics(np.zeros(3, int), np.array([0.5, 1, 2]))
    m = tracking_metrics(np.zeros(0, int), np.zeros(0, int))
    assert m.n_particles == 0 and math.isnan(m.efficiency)


def test_a_full_size_event_of_100k_hits():
    """Its speed is measured in benchmarks/component_speed.py; here, that the numbers are right."""
    rng = np.random.default_rng(0)
    n = 100_000
    pid = rng.integers(0, 10_000, n)
    lab = np.where(rng.random(n) < 0.9, pid, rng.integers(0, 10_000, n))
    pt = rng.random(10_000)[pid] * 3
    m = tracking_metrics(pid, lab, pt=pt, pt_min=1.0)
    assert 0.9 < m.efficiency <= 1.0
