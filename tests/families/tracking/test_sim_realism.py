"""The simulation's realism: settings, scattering, energy loss, resolutions, overlaps,
secondaries and loopers (cells: test_sim_cells.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from raytrack.families.tracking.detector import BARREL, trackml_detector
from raytrack.families.tracking.helix import MIP_LOSS_PER_X0, PION_MASS, propagate
from raytrack.families.tracking.sim_modules import PITCHES
from raytrack.families.tracking.sim_settings import TRACKML_REALISM
from raytrack.families.tracking.simulate import SimulationSettings, event_rng, simulate_event

EXACT = dict(
    barrel_resolution_rphi=0.0,
    barrel_resolution_z=0.0,
    endcap_resolution_rphi=0.0,
    endcap_resolution_r=0.0,
)


def test_realism_preset_fills_unset_settings_and_explicit_ones_win():
    basic = SimulationSettings()
    assert basic.realism == "basic" and not basic.loopers and basic.module_overlap == 0
    assert not basic.cells and basic.secondary_fraction == 0 and basic.resolution == "fixed"
    real = SimulationSettings(realism="trackml")
    assert {k: getattr(real, k) for k in TRACKML_REALISM} == TRACKML_REALISM
    mine = SimulationSettings(realism="trackml", module_overlap=0.0, cells=False)
    assert mine.module_overlap == 0.0 and not mine.cells and mine.loopers
    # a store's provenance holds every setting: it validates again to the same settings
    for settings in (basic, real, mine):
        assert SimulationSettings.model_validate(settings.model_dump(mode="json")) == settings


def test_realism_settings_are_validated_with_clear_errors():
    with pytest.raises(ValidationError, match=r"material_by_volume names volume ids \[5\]"):
        SimulationSettings(material_by_volume={5: 0.01})
    with pytest.raises(ValidationError, match="values must lie in"):
        SimulationSettings(material_by_volume={8: 2.0})
    with pytest.raises(ValidationError, match=r"module_overlap_by_volume names volume ids \[10\]"):
        SimulationSettings(module_overlap_by_volume={10: 0.1})
    with pytest.raises(ValidationError, match=r"must lie in \[0, 0.5\]"):
        SimulationSettings(module_overlap_by_volume={8: 0.6})
    with pytest.raises(ValidationError, match="barrel_resolution_z is not used with resolution"):
        SimulationSettings(resolution="pitch", barrel_resolution_z=0.05)
    with pytest.raises(ValidationError, match="looper_max_turns is only used with loopers"):
        SimulationSettings(looper_max_turns=3)
    with pytest.raises(ValidationError):
        SimulationSettings(module_overlap=0.7)
    with pytest.raises(ValidationError):
        SimulationSettings(realism="cms")


def _beam(n, p, eta=0.0):
    """``n`` negative particles from the origin along +x at pseudorapidity ``eta``."""
    pt = p / np.cosh(eta)
    return np.zeros((n, 3)), np.tile([pt, 0.0, pt * np.sinh(eta)], (n, 1)), -np.ones(n)


def test_scattering_spread_grows_as_one_over_p_and_follows_material_per_surface():
    det = trackml_detector("trackml_barrel")
    spread = {}
    for p in (1.0, 4.0):
        pos, mom, q = _beam(3000, p)
        bent = propagate(det, pos, mom, q, 2.0, rng=np.random.default_rng(1), material=0.02)
        spread[p] = np.std(bent.z[bent.step == 3])
    assert spread[1.0] / spread[4.0] == pytest.approx(4.0, rel=0.12)
    # material only on the first surface: one kink there, straight (in r-z) afterwards, so
    # z / r at layer k spreads as theta0 * (1 - r0 / r_k)
    only_first = np.zeros(det.n_surfaces)
    only_first[0] = 0.02
    pos, mom, q = _beam(3000, 1.0)
    bent = propagate(det, pos, mom, q, 2.0, rng=np.random.default_rng(1), material=only_first)
    r = det.radius
    spread_1 = np.std(bent.z[bent.step == 1] / r[1])
    spread_3 = np.std(bent.z[bent.step == 3] / r[3])
    assert spread_3 / spread_1 == pytest.approx((1 - r[0] / r[3]) / (1 - r[0] / r[1]), rel=0.1)


def test_energy_loss_takes_the_mip_loss_of_each_crossing():
    det = trackml_detector("trackml_barrel")
    pos, mom, q = _beam(5, 0.5)
    cross = propagate(det, pos, mom, q, 2.0, material=0.05, energy_loss=True)
    p = np.linalg.norm(cross.momentum, axis=1)
    energy = np.sqrt(p**2 + PION_MASS**2)
    for k in range(5):
        mine = cross.particle == k
        steps = np.diff(energy[mine])
        r = np.hypot(cross.x[mine], cross.y[mine])
        u = cross.momentum[mine] / p[mine][:, None]
        cos_inc = np.abs(u[:, 0] * cross.x[mine] + u[:, 1] * cross.y[mine]) / r
        expected = MIP_LOSS_PER_X0 * 0.05 / cos_inc[:-1]
        assert len(steps) >= 5 and np.allclose(-steps, expected, rtol=1e-9)
    # a particle whose energy falls to its mass stops: a 0.2 GeV pion in thick layers
    pos, mom, q = _beam(1, 0.2)
    short = propagate(det, pos, mom, q, 2.0, material=1.0, energy_loss=True)
    free = propagate(det, pos, mom, q, 2.0)
    assert 0 < len(short.particle) < len(free.particle)


def test_pitch_resolution_is_pitch_over_root12_per_volume():
    common = dict(rfactor=0.05, noise_ratio=0.0, multiple_scattering=False, detector="trackml")
    exact = simulate_event(0, event_rng(3, 0), SimulationSettings(**common, **EXACT))
    smeared = simulate_event(0, event_rng(3, 0), SimulationSettings(**common, resolution="pitch"))
    det = trackml_detector("trackml")
    barrel_volumes = set(det.volume_id[det.kind == BARREL].tolist())
    for volume in (8, 13, 17):
        on = exact.hits["volume_id"] == volume
        assert volume in barrel_volumes and on.sum() > 100
        dz = smeared.hits["z"][on].astype(float) - exact.hits["z"][on]
        assert np.std(dz) == pytest.approx(PITCHES[volume][1] / np.sqrt(12), rel=0.15)
        r = exact.hits["r"][on].astype(float)
        dphi = np.angle(np.exp(1j * (smeared.hits["phi"][on] - exact.hits["phi"][on])))
        assert np.std(r * dphi) == pytest.approx(PITCHES[volume][0] / np.sqrt(12), rel=0.15)


def _pairs_on_one_layer(event):
    h = event.hits
    signal = h["particle_id"] != 0
    keys = np.stack([h["particle_id"], h["volume_id"], h["layer_id"]], axis=1)[signal]
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return signal, inverse.ravel(), counts


def test_overlap_hits_share_particle_and_layer_on_neighbouring_modules():
    det = trackml_detector("trackml")
    settings = SimulationSettings(rfactor=0.03, noise_ratio=0.0, module_overlap=0.1)
    event = simulate_event(0, event_rng(4, 0), settings)
    signal, group, counts = _pairs_on_one_layer(event)
    doubled = counts[group] == 2
    assert 0.12 < (counts == 2).mean() < 0.28  # about 2 * overlap of the crossings
    h = {k: v[signal][doubled] for k, v in event.hits.items()}
    order = np.argsort(group[doubled], kind="stable")
    a, b = order[0::2], order[1::2]
    assert np.array_equal(h["particle_id"][a], h["particle_id"][b])
    assert np.all(h["module_id"][a] != h["module_id"][b])
    # the two modules are azimuthal neighbours within one ring (module ids differ by one,
    # or they are the first and last of the ring)
    diff = np.abs(h["module_id"][a].astype(int) - h["module_id"][b])
    assert np.all((diff == 1) | (diff >= 15))
    plain = simulate_event(0, event_rng(4, 0), SimulationSettings(rfactor=0.03, noise_ratio=0.0))
    assert np.all(_pairs_on_one_layer(plain)[2] == 1)
    assert event.num_hits > plain.num_hits and det.n_surfaces > 0
    # per volume: no overlaps in the pixel barrel, the others keep theirs
    by_volume = settings.model_copy(update={"module_overlap_by_volume": {8: 0.0}})
    some = simulate_event(0, event_rng(4, 0), by_volume)
    signal, group, counts = _pairs_on_one_layer(some)
    doubled_volumes = set(some.hits["volume_id"][signal][counts[group] == 2].tolist())
    assert 8 not in doubled_volumes and {7, 13, 17} <= doubled_volumes


def test_secondaries_start_on_a_surface_at_a_primary_crossing():
    det = trackml_detector("trackml")
    settings = SimulationSettings(
        rfactor=0.03, noise_ratio=0.0, secondary_fraction=0.4, multiple_scattering=False, **EXACT
    )
    event = simulate_event(0, event_rng(6, 0), settings)
    p = event.particles
    vertex = p["particle_id"] >> 32
    n_vtx = int(vertex[np.hypot(p["vx"], p["vy"]) < 1].max())
    sec = vertex > n_vtx
    assert 0.25 < sec.sum() / (~sec).sum() < 0.55
    assert np.all(p["pt"][sec] >= settings.pt_min * 0.999)
    r = np.hypot(p["vx"][sec], p["vy"][sec])
    on_barrel = np.min(np.abs(r[:, None] - det.radius[det.kind == BARREL][None, :]), axis=1) < 1e-2
    on_disk = (
        np.min(np.abs(p["vz"][sec][:, None] - det.z[det.kind != BARREL][None, :]), axis=1) < 1e-2
    )
    assert np.all(on_barrel | on_disk)
    # each production point is a hit of a primary
    prim_hits = np.stack([event.hits[c] for c in "xyz"], axis=1)[
        np.isin(event.hits["particle_id"], p["particle_id"][~sec])
    ]
    start = np.stack([p["vx"][sec], p["vy"][sec], p["vz"][sec]], axis=1)
    nearest = np.min(np.linalg.norm(start[:, None, :] - prim_hits[None, :, :], axis=2), axis=1)
    assert np.all(nearest < 1e-2)
    assert (p["nhits"][sec] > 0).mean() > 0.5


def test_loopers_cross_a_layer_again_with_hits_in_order():
    det = trackml_detector("trackml_barrel")
    pos, mom, q = _beam(1, 0.15, eta=0.05)  # R = 250 mm: turns back between layers 5 and 6
    once = propagate(det, pos, mom, q, 2.0)
    loop = propagate(det, pos, mom, q, 2.0, loopers=True, max_turns=1.5)
    assert len(np.unique(once.surface)) == len(once.surface)
    surfaces, counts = np.unique(loop.surface, return_counts=True)
    assert counts.max() >= 2 and len(loop.surface) > len(once.surface)
    assert np.array_equal(loop.step, np.arange(len(loop.step)))
    # in order along the helix: z = R * (pz / pT) * turning angle grows from hit to hit
    assert np.all(np.diff(loop.z) > 0)
    # ... and the looper stops after max_turns (more turns, more hits)
    R = 0.15 / np.cosh(0.05) / (0.299792458e-3 * 2.0)
    turned = loop.z / (R * np.sinh(0.05))
    assert turned[-1] <= 1.5 * 2 * np.pi and turned[-1] > 2 * np.pi
    longer = propagate(det, pos, mom, q, 2.0, loopers=True, max_turns=3.0)
    assert len(longer.surface) > len(loop.surface)


def test_loopers_in_the_simulation_hit_a_layer_more_than_once():
    base = dict(rfactor=0.03, noise_ratio=0.0, pt_min=0.1, pt_scale=0.2)
    plain = simulate_event(0, event_rng(8, 0), SimulationSettings(**base))
    loops = simulate_event(0, event_rng(8, 0), SimulationSettings(**base, loopers=True))
    assert np.all(_pairs_on_one_layer(plain)[2] == 1)
    assert np.any(_pairs_on_one_layer(loops)[2] >= 2)
    assert loops.num_hits > plain.num_hits
