"""The calorimeter simulation: determinism, truth, the physics it promises and its settings."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from raytrack.families.gravnet.calo_event import FEATURE_NAMES, SCHEMA, CaloEvent
from raytrack.families.gravnet.calo_settings import CaloSimSettings
from raytrack.families.gravnet.calo_sim import simulate_event, simulate_events

SMALL = {"noise_hits": 10.0, "energy_min": 5.0, "energy_max": 30.0}


def _single(kind: str, energy: float, events: int = 24, **extra) -> list[CaloEvent]:
    settings = CaloSimSettings(
        min_particles=1, max_particles=1, particle_types=[kind], energy_min=energy,
        energy_max=energy * 1.0001, noise_hits=0.0, **extra,
    )  # fmt: skip
    return list(simulate_events(events, seed=3, settings=settings))


def _weighted_layer(event: CaloEvent) -> float:
    shower = event.t_idx == 0
    energy = event.features[shower, 0]
    return float((event.layer[shower] * energy).sum() / energy.sum())


def test_events_are_deterministic_in_seed_and_event_id():
    settings = CaloSimSettings(**SMALL)
    a, b = simulate_event(4, 11, settings), simulate_event(4, 11, settings)
    for name in ("features", "layer", "t_idx", "t_energy", "t_pos", "t_spectator"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    other = simulate_event(4, 12, settings)
    assert a.num_hits != other.num_hits or not np.array_equal(a.features, other.features)


def test_rows_round_trip_through_the_store_schema():
    event = simulate_event(0, 1, CaloSimSettings(**SMALL, tracks=True))
    row = SCHEMA.check(event.to_row())
    back = CaloEvent.from_row(row)
    np.testing.assert_array_equal(back.features, event.features)
    np.testing.assert_array_equal(back.t_idx, event.t_idx)
    assert back.features.shape[1] == len(FEATURE_NAMES) == 10
    assert (back.n_particles, back.n_pileup) == (event.n_particles, event.n_pileup)


def test_truth_of_signal_and_noise_hits():
    settings = CaloSimSettings(**SMALL, min_particles=3, max_particles=3)
    for event in simulate_events(6, seed=2, settings=settings):
        noise = event.t_idx < 0
        assert noise.any() and (~noise).any()
        assert set(np.unique(event.t_idx[~noise])) <= {0, 1, 2}
        assert (event.t_pid[noise] == 0).all() and (event.t_spectator[noise] == 0).all()
        np.testing.assert_allclose(event.t_energy[noise], event.features[noise, 0])
        np.testing.assert_allclose(event.t_pos[noise], event.features[noise][:, 5:8])
        for shower in np.unique(event.t_idx[~noise]):
            hits = event.t_idx == shower
            assert len(np.unique(event.t_energy[hits])) == 1
            np.testing.assert_allclose(event.t_pos[hits, 2], settings.z_front)  # impact point
            np.testing.assert_allclose(event.t_rec_energy[hits], event.features[hits, 0].sum(),
                                       rtol=1e-5)  # fmt: skip


def test_features_follow_the_reference_definitions():
    event = simulate_event(1, 5, CaloSimSettings(**SMALL))
    f = event.features.astype(np.float64)
    r = np.sqrt(f[:, 5] ** 2 + f[:, 6] ** 2 + f[:, 7] ** 2)
    np.testing.assert_allclose(f[:, 4], r, rtol=1e-5)
    np.testing.assert_allclose(f[:, 3], np.arccos(f[:, 7] / r), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(f[:, 1], -np.log(np.tan(f[:, 3] / 2)), rtol=1e-4)
    assert (f[:, 2] == 0).all() and (f[:, 0] > 0).all()
    assert ((f[:, 1] > 1.5) & (f[:, 1] < 3.0)).all()  # the HGCAL acceptance


def test_particle_count_and_separation_settings():
    settings = CaloSimSettings(**SMALL, min_particles=2, max_particles=4, min_separation=0.4)
    seen = set()
    for event in simulate_events(20, seed=7, settings=settings):
        seen.add(event.n_particles)
        showers = np.unique(event.t_idx[event.t_idx >= 0])
        impact = np.array([event.t_pos[event.t_idx == k][0] for k in showers])
        eta = np.arcsinh(impact[:, 2] / np.hypot(impact[:, 0], impact[:, 1]))
        phi = np.arctan2(impact[:, 1], impact[:, 0])
        for i in range(len(showers)):
            for j in range(i):
                dphi = np.angle(np.exp(1j * (phi[i] - phi[j])))
                assert np.hypot(eta[i] - eta[j], dphi) >= 0.4 - 1e-6
    assert seen <= {2, 3, 4} and len(seen) >= 2


def test_overlapping_showers_stay_within_max_separation():
    settings = CaloSimSettings(**SMALL, min_particles=3, max_particles=3, max_separation=0.05)
    for event in simulate_events(5, seed=1, settings=settings):
        impact = np.array([event.t_pos[event.t_idx == k][0] for k in np.unique(event.t_idx)
                           if k >= 0])  # fmt: skip
        eta = np.arcsinh(impact[:, 2] / np.hypot(impact[:, 0], impact[:, 1]))
        assert eta.max() - eta.min() <= 0.1 + 1e-6


def test_em_showers_are_calibrated_and_shorter_than_hadron_showers():
    electrons, pions = _single("electron", 20.0), _single("pion", 20.0)
    em = np.array([e.features[e.t_idx == 0, 0].sum() / 20.0 for e in electrons])
    had = np.array([p.features[p.t_idx == 0, 0].sum() / 20.0 for p in pions])
    assert 0.95 < em.mean() < 1.08 and em.std() < 0.1  # EM scale, ~22%/sqrt(E)
    assert had.mean() < 0.92 and had.std() > em.std()  # non-compensation and fluctuations
    em_depth = np.mean([_weighted_layer(e) for e in electrons])
    had_depth = np.mean([_weighted_layer(p) for p in pions])
    assert em_depth < 14 < had_depth  # shower maximum in the EM section vs behind it


def test_em_showers_are_laterally_contained_in_a_few_moliere_radii():
    for event in _single("photon", 50.0, events=8):
        shower = event.t_idx == 0
        f = event.features[shower]
        axis = event.t_pos[shower][0]
        scale = f[:, 7] / axis[2]  # the axis at each hit's depth
        radius = np.hypot(f[:, 5] - axis[0] * scale, f[:, 6] - axis[1] * scale)
        inside = f[radius < 2 * 2.8 + 1.2, 0].sum() / f[:, 0].sum()
        assert inside > 0.85


def test_muons_leave_one_mip_per_layer():
    event = _single("muon", 50.0, events=1)[0]
    hits = event.t_idx == 0
    assert len(np.unique(event.layer[hits])) >= 0.9 * (28 + 12)
    np.testing.assert_allclose(event.t_energy[hits], event.features[hits, 0].sum(), rtol=1e-5)


def test_tracks_are_points_at_the_front_face():
    settings = CaloSimSettings(**SMALL, tracks=True, particle_types=["pion", "photon"])
    for event in simulate_events(6, seed=4, settings=settings):
        tracks = event.features[:, 2] > 0.5
        charged = {int(k) for k in np.unique(event.t_idx[~tracks]) if k >= 0
                   and abs(event.t_pid[event.t_idx == k][0]) == 211}  # fmt: skip
        assert set(event.t_idx[tracks].tolist()) == charged
        np.testing.assert_allclose(event.features[tracks, 7], settings.z_front)
        np.testing.assert_allclose(event.features[tracks, 0], event.t_energy[tracks], rtol=0.06)
        assert (event.layer[tracks] == -1).all()


def test_pileup_is_noise_or_showers():
    base = {**SMALL, "min_particles": 2, "max_particles": 2, "pileup": 6.0}
    as_noise = simulate_event(0, 9, CaloSimSettings(**base))
    as_showers = simulate_event(0, 9, CaloSimSettings(**base, pileup_truth="showers"))
    assert as_noise.n_pileup > 0
    assert set(np.unique(as_noise.t_idx)) <= {-1, 0, 1}
    assert len(np.unique(as_showers.t_idx[as_showers.t_idx >= 0])) > 2
    np.testing.assert_array_equal(as_noise.features, as_showers.features)


def test_bad_settings_name_their_keys():
    with pytest.raises(ValidationError, match="max_particles must be at least min_particles"):
        CaloSimSettings(min_particles=4, max_particles=2)
    with pytest.raises(ValidationError, match="energy_max must be larger than energy_min"):
        CaloSimSettings(energy_min=50, energy_max=10)
    with pytest.raises(ValidationError, match="unknown_knob"):
        CaloSimSettings(unknown_knob=1)
    crowded = CaloSimSettings(min_particles=8, max_particles=8, min_separation=1.5)
    with pytest.raises(ValueError, match="min_separation=1.5"):
        simulate_event(0, 0, crowded)


def test_the_store_description_converts_hgcalml_batch_sizes(calo_store):
    from raytrack.families.gravnet.sources import describe_store
    from raytrack.store.sample_store import SampleStore

    store = SampleStore(calo_store)
    text = describe_store(store)
    per_event = store.counts["hit"] / len(store)
    assert text.startswith(f"{len(store)} events") and f"{per_event:.0f} per event" in text
    assert f"120k hits ≈ {int(120000 // per_event)} events" in text
    assert store.provenance["feature_names"][0] == "recHitEnergy"
