"""The detector simulation: determinism, geometry, helix physics, noise, ids, the stored form."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from raytrack.families.tracking.detector import BARREL, trackml_detector
from raytrack.families.tracking.event import HIT_COLUMNS, PARTICLE_COLUMNS
from raytrack.families.tracking.event_store import read_event
from raytrack.families.tracking.helix import C_LIGHT, highland_theta0, propagate
from raytrack.families.tracking.simulate import (
    SimulationSettings,
    event_rng,
    generate_store,
    simulate_event,
    simulate_events,
)

EXACT = dict(
    multiple_scattering=False,
    barrel_resolution_rphi=0.0,
    barrel_resolution_z=0.0,
    endcap_resolution_rphi=0.0,
    endcap_resolution_r=0.0,
)


def _same(a, b) -> bool:
    return (
        a.event_id == b.event_id
        and a.hits.keys() == b.hits.keys()
        and a.particles.keys() == b.particles.keys()
        and all(np.array_equal(a.hits[k], b.hits[k]) for k in a.hits)
        and all(np.array_equal(a.particles[k], b.particles[k]) for k in a.particles)
    )


def _surface_of(det, event):
    """Surface number of every hit, from its (volume_id, layer_id)."""
    key = {(int(v), int(layer)): s for s, (v, layer) in enumerate(zip(det.volume_id, det.layer_id))}
    return np.array(
        [
            key[(int(v), int(layer))]
            for v, layer in zip(event.hits["volume_id"], event.hits["layer_id"])
        ]
    )


def test_same_seed_same_events_other_seed_differs():
    settings = SimulationSettings()
    first = list(simulate_events(3, seed=7, settings=settings))
    again = list(simulate_events(3, seed=7, settings=settings))
    other = list(simulate_events(3, seed=8, settings=settings))
    assert all(_same(a, b) for a, b in zip(first, again))
    assert not any(_same(a, b) for a, b in zip(first, other))
    assert [e.event_id for e in first] == [0, 1, 2]


def test_event_depends_only_on_seed_and_index():
    whole = list(simulate_events(4, seed=3))
    tail = list(simulate_events(2, seed=3, first_event=2))
    assert _same(whole[2], tail[0]) and _same(whole[3], tail[1])
    single = simulate_event(3, event_rng(3, 3), SimulationSettings())
    assert _same(whole[3], single)


def test_default_event_size_and_columns():
    events = list(simulate_events(10, seed=0))
    sizes = np.array([e.num_hits for e in events])
    assert 700 < sizes.mean() < 2000, sizes
    for event in events:
        for name, dtype in HIT_COLUMNS.items():
            assert event.hits[name].dtype == dtype, name
            assert len(event.hits[name]) == event.num_hits
        for name, dtype in PARTICLE_COLUMNS.items():
            assert event.particles[name].dtype == dtype, name


@pytest.mark.parametrize("multiple_scattering", [False, True])
def test_every_hit_lies_on_its_layer_surface(multiple_scattering):
    det = trackml_detector("trackml")
    settings = SimulationSettings(multiple_scattering=multiple_scattering, rfactor=0.05)
    for event in simulate_events(2, seed=11, settings=settings):
        s = _surface_of(det, event)
        x, y, z = (event.hits[c].astype(np.float64) for c in "xyz")
        r = np.hypot(x, y)
        barrel = det.kind[s] == BARREL
        # exact up to float32 storage (~1e-4 mm at r = 1 m; a module is 0.15-0.35 mm thick)
        assert np.allclose(r[barrel], det.radius[s[barrel]], rtol=0, atol=3e-4)
        assert np.all(np.abs(z[barrel]) <= det.half_length[s[barrel]] + 1.0)
        assert np.array_equal(z[~barrel], det.z[s[~barrel]].astype(np.float32))
        assert np.all(r[~barrel] >= det.r_min[s[~barrel]] - 1.0)
        assert np.all(r[~barrel] <= det.r_max[s[~barrel]] + 1.0)


def _fit_circle(x, y):
    """Algebraic (Kasa) circle fit: centre and radius."""
    a = np.stack([x, y, np.ones_like(x)], axis=1)
    b = x * x + y * y
    (c0, c1, c2), *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy = c0 / 2, c1 / 2
    return cx, cy, np.sqrt(c2 + cx * cx + cy * cy)


@pytest.mark.parametrize("b_field", [2.0, 0.5])
def test_particle_hits_lie_on_helix_of_its_pt(b_field):
    settings = SimulationSettings(b_field=b_field, noise_ratio=0.0, rfactor=0.05, **EXACT)
    event = simulate_event(0, event_rng(5, 0), settings)
    pid = event.hits["particle_id"]
    p = event.particles
    checked = 0
    for k in np.flatnonzero(p["nhits"] >= 5):
        on = pid == p["particle_id"][k]
        x, y, z = (event.hits[c][on].astype(np.float64) for c in "xyz")
        # include the vertex: the helix starts there
        x = np.r_[p["vx"][k], x]
        y = np.r_[p["vy"][k], y]
        z = np.r_[p["vz"][k], z]
        cx, cy, radius = _fit_circle(x, y)
        expected = p["pt"][k] / (C_LIGHT * b_field)  # R[m] = pT / (0.3 B)
        assert radius == pytest.approx(expected, rel=1e-3), (k, radius, expected)
        # z advances linearly with the turning angle: dz / (R dphi) = pz / pT
        ang = np.unwrap(np.arctan2(y - cy, x - cx))
        order = np.argsort(np.abs(ang - ang[0]))
        slope = np.polyfit(radius * (ang[order] - ang[0]), z[order], 1)[0]
        assert abs(slope) == pytest.approx(abs(p["pz"][k] / p["pt"][k]), rel=1e-3, abs=1e-4)
        # the sense of rotation follows the charge: clockwise (from +z) for q > 0
        turn = np.sign(ang[order][-1] - ang[0])
        assert turn == -np.sign(p["q"][k])
        checked += 1
    assert checked > 20


def test_multiple_scattering_bends_tracks_by_highland():
    det = trackml_detector("trackml_barrel")
    n = 4000
    pt = 1.0
    mom = np.tile([pt, 0.0, 0.0], (n, 1))
    pos = np.zeros((n, 3))
    q = np.ones(n)
    rng = np.random.default_rng(0)
    straight = propagate(det, pos, mom, q, 2.0)
    bent = propagate(det, pos, mom, q, 2.0, rng=rng, material=0.02)
    # z after the first layer is untouched (kinks happen at hits), later layers spread out
    z2 = bent.z[(bent.step == 1)]
    assert np.all(straight.z == 0)
    theta0 = highland_theta0(pt, 0.02)
    gap = det.radius[1] - det.radius[0]
    assert np.std(z2) == pytest.approx(theta0 * gap, rel=0.1)


def test_noise_fraction_and_ids_follow_conventions():
    det = trackml_detector("trackml")
    settings = SimulationSettings(noise_ratio=0.2, rfactor=0.05)
    events = list(simulate_events(3, seed=2, settings=settings))
    noise = np.concatenate([e.hits["particle_id"] == 0 for e in events])
    assert noise.mean() == pytest.approx(0.2, abs=0.02)
    for event in events:
        h, p = event.hits, event.particles
        assert np.array_equal(np.sort(h["hit_id"]), np.arange(1, event.num_hits + 1))
        # hits are not grouped by particle
        assert np.count_nonzero(np.diff(h["particle_id"]) != 0) > event.num_particles
        assert np.all(p["particle_id"] > 0)
        assert len(np.unique(p["particle_id"])) == len(p["particle_id"])
        known = np.isin(h["particle_id"], p["particle_id"])
        assert np.all(known | (h["particle_id"] == 0))
        counts = {int(k): int(c) for k, c in zip(*np.unique(h["particle_id"], return_counts=True))}
        assert all(counts.get(int(k), 0) == n for k, n in zip(p["particle_id"], p["nhits"]))
        assert set(np.unique(h["volume_id"])) <= {7, 8, 9, 12, 13, 14, 16, 17, 18}
        assert np.all(h["layer_id"] % 2 == 0) and np.all(h["layer_id"] >= 2)
        s = _surface_of(det, event)
        assert np.all((h["module_id"] >= 1) & (h["module_id"] <= det.n_modules[s]))
        assert np.allclose(p["pt"], np.hypot(p["px"], p["py"]), rtol=1e-6)
        assert np.all(h["weight"][h["particle_id"] == 0] == 0)
        assert h["weight"].sum() == pytest.approx(1.0, rel=1e-4)


def test_vertices_and_pileup_scale_with_rfactor():
    small = list(simulate_events(5, seed=1, settings=SimulationSettings(rfactor=0.01)))
    large = list(simulate_events(5, seed=1, settings=SimulationSettings(rfactor=0.04)))
    n_small = np.mean([e.num_particles for e in small])
    n_large = np.mean([e.num_particles for e in large])
    assert n_small == pytest.approx(100, rel=0.25)
    assert n_large / n_small == pytest.approx(4, rel=0.25)
    vz = large[0].particles["vz"]
    assert len(np.unique(vz)) > 1  # several interaction vertices along z
    assert np.all(np.unique(large[0].particles["particle_id"] >> 32) >= 1)


def test_settings_are_validated():
    with pytest.raises(ValidationError, match="pt_max must be larger"):
        SimulationSettings(pt_min=2.0, pt_max=1.0)
    with pytest.raises(ValidationError):
        SimulationSettings(rfactor=0)
    with pytest.raises(ValidationError):
        SimulationSettings(noise_ratio=1.0)
    with pytest.raises(ValidationError):
        SimulationSettings(unknown_knob=1)


@pytest.mark.parametrize("detector", ["trackml_barrel", "trackml_pixel"])
def test_detector_presets(detector):
    event = simulate_event(0, event_rng(0, 0), SimulationSettings(detector=detector))
    volumes = set(np.unique(event.hits["volume_id"]).tolist())
    assert volumes <= ({8, 13, 17} if detector == "trackml_barrel" else {7, 8, 9})


def test_generate_store_reads_back_identical(tmp_path):
    settings = SimulationSettings(rfactor=0.02)
    store = generate_store(tmp_path / "store", 4, seed=9, settings=settings)
    meta = store.provenance
    assert meta["seed"] == 9 and meta["settings"] == settings.model_dump(mode="json")
    assert meta["generator"] and store.source == "detector_sim"
    assert store.ids() == [0, 1, 2, 3]
    for original in simulate_events(4, seed=9, settings=settings):
        back = read_event(store, original.event_id)
        for name in HIT_COLUMNS:
            assert np.array_equal(back.hits[name], original.hits[name]), name
        for name in PARTICLE_COLUMNS:
            assert np.array_equal(back.particles[name], original.particles[name]), name
    with pytest.raises(FileExistsError):
        generate_store(tmp_path / "store", 1, seed=9)


def test_generate_command(tmp_path, capsys):
    from raytrack.cli import build_parser, main
    from raytrack.store.sample_store import SampleStore

    parser = build_parser()
    store = tmp_path / "cli"
    args = parser.parse_args(
        ["generate", "detector_sim", str(store), "--events", "2", "--seed", "4", "--rfactor", "0.02",
         "--noise-ratio", "0.1", "--b-field", "3", "--no-multiple-scattering"]
    )  # fmt: skip
    assert args.run(args) == 0
    assert "2 events (" in capsys.readouterr().out
    opened = SampleStore(store)
    meta = opened.provenance
    assert meta["settings"]["b_field"] == 3.0 and meta["settings"]["multiple_scattering"] is False
    assert (
        meta["settings"]["rfactor"] == 0.02
        and meta["seed"] == 4
        and opened.source == "detector_sim"
    )
    bad = ["generate", "detector_sim", str(tmp_path / "bad"), "--events", "1", "--pt-min", "-1"]
    assert main(bad) == 1
    err = capsys.readouterr().err
    assert "--pt-min" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
    assert main(["generate", "detector_sim", str(store), "--events", "1"]) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err
