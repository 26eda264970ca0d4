"""Cells of simulated hits: TrackML's cells form, the real event's feature path, cluster physics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raytrack.families.tracking.cells import cell_features, load_detectors
from raytrack.families.tracking.detector import trackml_detector
from raytrack.families.tracking.event import CELL_COLUMNS
from raytrack.families.tracking.sim_cells import simulated_cells
from raytrack.families.tracking.sim_modules import PITCHES, detectors_frame
from raytrack.families.tracking.simulate import SimulationSettings, event_rng, simulate_event

SETTINGS = SimulationSettings(realism="trackml", rfactor=0.02)


@pytest.fixture(scope="module")
def event():
    return simulate_event(0, event_rng(21, 0), SETTINGS)


def test_every_hit_gets_the_exatrkx_cell_features(event):
    h = event.hits
    assert set(CELL_COLUMNS) <= set(h)
    for name in CELL_COLUMNS:
        assert h[name].dtype == np.float32 and np.all(np.isfinite(h[name])), name
    assert np.all(h["cell_count"] >= 1)
    strip = h["volume_id"] >= 12
    # strip cells read 1 (binary), so a strip hit's charge is its cell count
    assert np.array_equal(h["cell_val"][strip], h["cell_count"][strip])
    assert np.all(h["cell_val"][~strip] < h["cell_count"][~strip])
    # lx, ly are whole numbers of pitches of the hit's volume
    pitch_v = np.array([PITCHES[int(v)][1] for v in h["volume_id"]])
    assert np.allclose(np.round(h["ly"] / pitch_v), h["ly"] / pitch_v, atol=1e-3)


def test_cells_follow_the_trackml_layout_and_the_real_feature_path(event):
    det = trackml_detector("trackml")
    hits = {
        k: event.hits[k] for k in ("hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id")
    }
    direction = np.stack([event.hits[c] for c in "xyz"], axis=1).astype(float)
    cells = simulated_cells(det, hits, direction, np.random.default_rng(0))
    assert list(cells.columns) == ["hit_id", "ch0", "ch1", "value"]
    assert set(cells["hit_id"]) == set(event.hits["hit_id"].tolist())
    assert (cells[["ch0", "ch1"]] >= 0).all().all() and (cells["value"] > 0).all()
    features = cell_features(pd.DataFrame(hits), cells, detectors_frame(det))
    counts = cells.groupby("hit_id").size().reindex(hits["hit_id"]).to_numpy()
    assert np.array_equal(features["cell_count"], counts.astype(np.float32))


def test_simulated_module_frames_follow_trackml_conventions(shared_data):
    det = trackml_detector("trackml")
    sim = detectors_frame(det)
    real = load_detectors(shared_data / "trackml" / "detectors.csv.gz")
    cols = [f"rot_{a}{b}" for a in "xyz" for b in "uvw"]
    for frame in (sim, real):
        rot = frame[cols].to_numpy().reshape(-1, 3, 3)
        assert np.allclose(np.einsum("nji,njk->nik", rot, rot), np.eye(3), atol=1e-4)
    # same orientation per volume: the w axis along z on the disks (sign by side), radial in
    # the barrel; pitches and thickness as TrackML's
    for volume in (7, 8, 9, 12, 13, 14, 16, 17, 18):
        s, r = sim[sim.volume_id == volume], real[real.volume_id == volume]
        assert np.sign(s["rot_zw"]).mode()[0] == np.sign(r["rot_zw"]).mode()[0]
        for c in ("pitch_u", "pitch_v", "module_t"):
            assert s[c].iloc[0] == pytest.approx(r[c].median())
    assert {"volume_id", "layer_id", "module_id"} <= set(sim.columns)
    assert not sim.duplicated(["volume_id", "layer_id", "module_id"]).any()


def test_pixel_barrel_clusters_lengthen_with_incidence(event):
    h = event.hits
    barrel = (h["volume_id"] == 8) & (h["particle_id"] != 0)
    # the track's |cot theta| = |pz / pT| (its particle's; scattering changes it little)
    p = event.particles
    row = np.searchsorted(
        p["particle_id"], h["particle_id"][barrel], sorter=np.argsort(p["particle_id"])
    )
    row = np.argsort(p["particle_id"])[row]
    cot = np.abs(p["pz"][row] / p["pt"][row])
    length = h["ly"][barrel] / PITCHES[8][1]
    central, forward = cot < 0.3, cot > 2.0
    assert central.sum() > 20 and forward.sum() > 20
    assert np.median(length[forward]) > 3 * np.median(length[central])
    # charge grows with the path through the sensor
    assert np.median(h["cell_val"][barrel][forward]) > 1.5 * np.median(
        h["cell_val"][barrel][central]
    )
