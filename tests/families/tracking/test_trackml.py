"""The TrackML reader on the real reference events (TrackML and ACTS) and on edited copies."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raytrack.families.tracking.cells import load_detectors
from raytrack.families.tracking.event import CELL_COLUMNS, HIT_COLUMNS, PARTICLE_COLUMNS
from raytrack.families.tracking.event_store import event_counts, read_event
from raytrack.families.tracking.trackml import (
    convert_trackml,
    find_trackml_events,
    read_trackml_event,
)
from raytrack.store.sample_store import SampleStore

EVENT = "event000000001"


@pytest.fixture(scope="module")
def trackml_dir(shared_data: Path) -> Path:
    return shared_data / "trackml"


@pytest.fixture(scope="module")
def real_event(trackml_dir: Path):
    return read_trackml_event(trackml_dir, EVENT)


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_real_event_counts_and_noise(real_event) -> None:
    assert real_event.event_id == 1
    assert real_event.num_hits == 5527
    assert real_event.num_particles == 548
    noise = np.mean(real_event.hits["particle_id"] == 0)
    assert 0.14 < noise < 0.16
    assert set(real_event.hits) == set(HIT_COLUMNS) | set(CELL_COLUMNS)
    assert set(real_event.particles) == set(PARTICLE_COLUMNS)
    for name, dtype in {**HIT_COLUMNS, **CELL_COLUMNS}.items():
        assert real_event.hits[name].dtype == dtype, name


def test_real_event_hit_counts_match_nhits(real_event) -> None:
    pid = real_event.hits["particle_id"]
    counts = pd.Series(pid[pid != 0]).value_counts()
    nhits = pd.Series(real_event.particles["nhits"], index=real_event.particles["particle_id"])
    np.testing.assert_array_equal(
        counts.reindex(nhits.index).fillna(0).to_numpy(), nhits.to_numpy()
    )


def test_real_event_derived_columns(real_event, trackml_dir: Path) -> None:
    particles = _frame(trackml_dir / f"{EVENT}-particles.csv.gz")
    p = real_event.particles
    np.testing.assert_array_equal(p["particle_id"], particles["particle_id"])
    np.testing.assert_allclose(p["pt"], np.hypot(particles["px"], particles["py"]), rtol=1e-6)
    np.testing.assert_allclose(
        p["eta"], np.arcsinh(particles["pz"] / np.hypot(particles["px"], particles["py"])),
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
    h = real_event.hits
    np.testing.assert_allclose(h["r"], np.hypot(h["x"], h["y"]), rtol=1e-6)
    np.testing.assert_allclose(h["phi"], np.arctan2(h["y"], h["x"]), rtol=1e-6, atol=1e-6)
    theta = np.arctan2(h["r"], h["z"])
    np.testing.assert_allclose(h["eta"], -np.log(np.tan(theta / 2)), rtol=1e-4, atol=1e-5)


def test_real_event_weights_kept_as_given(real_event, trackml_dir: Path) -> None:
    truth = _frame(trackml_dir / f"{EVENT}-truth.csv.gz").sort_values("hit_id")
    np.testing.assert_array_equal(real_event.hits["hit_id"], truth["hit_id"])
    np.testing.assert_allclose(real_event.hits["weight"], truth["weight"], rtol=1e-6)
    assert real_event.hits["weight"].sum() == pytest.approx(0.0513, abs=1e-3)
    assert np.all(real_event.hits["weight"][real_event.hits["particle_id"] == 0] == 0)


def test_real_event_cell_features_follow_exatrkx(real_event, trackml_dir: Path) -> None:
    """Hit 9 by hand: 4 cells spanning 2 columns (ch0) and 3 rows (ch1) on module (7, 2, 1)."""
    cells = _frame(trackml_dir / f"{EVENT}-cells.csv.gz")
    det = load_detectors(trackml_dir / "detectors.csv.gz")
    own = cells[cells.hit_id == 9]
    module = det[(det.volume_id == 7) & (det.layer_id == 2) & (det.module_id == 1)].iloc[0]
    lx = (own.ch0.max() - own.ch0.min() + 1) * module.pitch_u
    ly = (own.ch1.max() - own.ch1.min() + 1) * module.pitch_v
    lz = 2 * module.module_t
    rot = module[["rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv", "rot_yw",
                  "rot_zu", "rot_zv", "rot_zw"]].to_numpy(float).reshape(3, 3)  # fmt: skip
    g = rot @ np.array([lx, ly, lz])

    def eta(v):
        return -np.log(np.tan(0.5 * np.arccos(v[2] / np.linalg.norm(v))))

    i = int(np.flatnonzero(real_event.hits["hit_id"] == 9)[0])
    h = {name: float(real_event.hits[name][i]) for name in CELL_COLUMNS}
    assert h["cell_count"] == len(own) == 4
    assert h["cell_val"] == pytest.approx(own.value.sum(), rel=1e-6)
    assert (h["lx"], h["ly"], h["lz"]) == pytest.approx((lx, ly, lz), rel=1e-6)
    assert h["leta"] == pytest.approx(eta([lx, ly, lz]), rel=1e-5)
    assert h["lphi"] == pytest.approx(np.arctan2(ly, lx), rel=1e-5)
    assert h["geta"] == pytest.approx(eta(g), rel=1e-5)
    assert h["gphi"] == pytest.approx(np.arctan2(g[1], g[0]), rel=1e-5)
    assert np.isfinite(np.stack([real_event.hits[c] for c in CELL_COLUMNS])).all()


def test_without_detectors_there_are_no_cell_features(trackml_dir: Path) -> None:
    event = read_trackml_event(trackml_dir, EVENT, detectors=False)
    assert not set(CELL_COLUMNS) & set(event.hits)


def test_event_name_forms(trackml_dir: Path, real_event) -> None:
    for form in (1, f"{EVENT}-hits.csv.gz", str(trackml_dir / EVENT)):
        event = read_trackml_event(trackml_dir, form, detectors=False)
        assert event.event_id == 1 and event.num_hits == real_event.num_hits
    assert find_trackml_events(trackml_dir) == [EVENT]


def test_acts_event_reads_with_derived_nhits(shared_data: Path) -> None:
    acts = shared_data / "acts"
    with pytest.warns(UserWarning) as warned:
        event = read_trackml_event(acts, "event000000000")
    messages = " | ".join(str(w.message) for w in warned)
    assert "particle 0" in messages and "75 hits have no finite x, y, z" in messages
    # 630 hits in the file, 75 of them without a position (`nan`): dropped and counted
    assert event.num_hits == 630 - 75 and event.num_particles == 100
    assert event.meta["dropped_hits"] == 75
    assert np.isfinite(event.hits["x"]).all() and np.isfinite(event.hits["r"]).all()
    assert event.meta["filled"] == ["weight", "nhits"]
    # particle 0 of the ACTS file is a real particle: renumbered, with its hits, not noise
    new_id = event.meta["renumbered_particle_ids"][0]
    assert new_id in event.particles["particle_id"]
    assert not np.any(event.hits["particle_id"] == 0)
    pid = event.hits["particle_id"]
    counts = pd.Series(pid).value_counts()
    nhits = pd.Series(event.particles["nhits"], index=event.particles["particle_id"])
    np.testing.assert_array_equal(counts.reindex(nhits.index).fillna(0), nhits)
    assert nhits[new_id] == 12
    np.testing.assert_allclose(
        event.particles["pt"], np.hypot(event.particles["px"], event.particles["py"]), rtol=1e-6
    )
    assert np.all(event.hits["weight"] == 1.0)


def test_acts_momenta_are_in_gev(shared_data: Path) -> None:
    """The ACTS momenta (pT up to ~1 TeV) are GeV, as ACTS writes them: the radius R of each
    particle's true hit positions (truth ``tx, ty``) fits the reader's pT = 0.3 B R in the generic
    detector's 2 T field (R in m); MeV would be 1000x off."""
    with pytest.warns(UserWarning, match="particle 0"), pytest.warns(UserWarning, match="dropped"):
        event = read_trackml_event(shared_data / "acts", "event000000000")
    pt = pd.Series(event.particles["pt"], index=event.particles["particle_id"])
    pt[0] = pt.pop(event.meta["renumbered_particle_ids"][0])
    truth = pd.read_csv(shared_data / "acts" / "event000000000-truth.csv")
    ratios = []
    for pid, hits in truth.groupby("particle_id"):
        if len(hits) < 5:
            continue
        x, y = hits["tx"].to_numpy(np.float64), hits["ty"].to_numpy(np.float64)
        (a, b, c), *_ = np.linalg.lstsq(np.c_[x, y, np.ones_like(x)], x**2 + y**2, rcond=None)
        radius_m = np.sqrt(c + a**2 / 4 + b**2 / 4) / 1000.0
        ratios.append(pt[pid] / (0.3 * 2.0 * radius_m))
    assert len(ratios) >= 50
    assert np.median(ratios) == pytest.approx(1.0, abs=0.02)


def _copy_event(src: Path, dst: Path, name: str, edit: dict | None = None) -> Path:
    """Copy ``name``'s files to ``dst``, applying ``edit[kind](frame)`` to the named files."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if not path.name.startswith(name):
            if path.name.startswith("detectors"):
                shutil.copy(path, dst / path.name)
            continue
        kind = path.name[len(name) + 1 :].split(".")[0]
        if edit and kind in edit:
            frame = edit[kind](pd.read_csv(path))
            out = dst / path.name
            if out.name.endswith(".gz"):
                with gzip.open(out, "wt") as handle:
                    frame.to_csv(handle, index=False)
            else:
                frame.to_csv(out, index=False)
        else:
            shutil.copy(path, dst / path.name)
    return dst


def test_missing_underivable_column_names_column_and_file(
    shared_data: Path, tmp_path: Path
) -> None:
    src = _copy_event(shared_data / "acts", tmp_path / "acts", "event000000000",
                      {"fatras-particles": lambda f: f.drop(columns=["q"])})  # fmt: skip
    expected = f"missing column 'q' in file {src / 'event000000000-fatras-particles.csv'}"
    with pytest.raises(ValueError, match=expected):
        read_trackml_event(src, "event000000000")
    src = _copy_event(shared_data / "trackml", tmp_path / "tml", EVENT,
                      {"hits": lambda f: f.drop(columns=["x", "z"])})  # fmt: skip
    with pytest.raises(ValueError, match=r"missing columns 'x', 'z' in file .*event000000001-hits"):
        read_trackml_event(src, EVENT)


def test_hits_without_detector_ids_are_an_error_naming_file_and_column(
    trackml_dir: Path, tmp_path: Path
) -> None:
    """Missing ids used to be filled with -1, and every truth graph came out empty."""
    src = _copy_event(trackml_dir, tmp_path / "phase", EVENT, {
        "hits": lambda f: f.drop(columns=["layer_id", "module_id"]),
    })  # fmt: skip
    (hits_file,) = src.glob(f"{EVENT}-hits.csv*")
    with pytest.raises(ValueError) as caught:
        read_trackml_event(src, EVENT, detectors=False)
    message = str(caught.value)
    assert message.startswith(f"missing columns 'layer_id', 'module_id' in file {hits_file}")
    assert "truth graphs" in message

    def blank_volume(frame: pd.DataFrame) -> pd.DataFrame:
        frame["volume_id"] = frame["volume_id"].astype(object)
        frame.loc[3, "volume_id"] = None
        return frame

    src = _copy_event(trackml_dir, tmp_path / "blank", EVENT, {"hits": blank_volume})
    (hits_file,) = src.glob(f"{EVENT}-hits.csv*")
    expected = f"file {hits_file}, line 5, column 'volume_id'"
    with pytest.raises(ValueError, match=expected):
        read_trackml_event(src, EVENT, detectors=False)


def test_missing_file_is_named(tmp_path: Path, trackml_dir: Path) -> None:
    src = _copy_event(trackml_dir, tmp_path / "t", EVENT)
    (src / f"{EVENT}-truth.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match=f"missing file {EVENT}-truth.csv"):
        read_trackml_event(src, EVENT)


def test_convert_round_trip(trackml_dir: Path, real_event, tmp_path: Path) -> None:
    store = convert_trackml(trackml_dir, tmp_path / "store")
    assert isinstance(store, SampleStore) and store.source == "trackml"
    assert store.ids() == [1]
    assert event_counts(store) == {"events": 1, "hits": 5527, "particles": 548, "edges": 0}
    assert store.provenance["reader"] == "trackml"
    assert store.provenance["detectors"] == "detectors.csv.gz"
    back = read_event(store, 1)
    for name in list(HIT_COLUMNS) + list(CELL_COLUMNS):
        np.testing.assert_array_equal(back.hits[name], real_event.hits[name])
    for name in PARTICLE_COLUMNS:
        np.testing.assert_array_equal(back.particles[name], real_event.particles[name])
    with pytest.raises(FileExistsError):
        convert_trackml(trackml_dir, tmp_path / "store")


def test_convert_cli_acts(shared_data: Path, tmp_path: Path, capsys) -> None:
    from raytrack.cli import build_parser, main

    parser = build_parser()
    args = parser.parse_args(["convert", "trackml", str(shared_data / "acts"), str(tmp_path / "s")])
    with pytest.warns(UserWarning):
        assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "1 events (555 hits, 100 particles)" in out
    assert "event000000000: dropped 75 hits without a finite position" in out
    assert "filled columns absent from the source: weight, nhits" in out
    meta = SampleStore(tmp_path / "s").provenance
    assert meta["filled_columns"] == ["weight", "nhits"]
    assert meta["renumbered_particle_ids"] == {"event000000000": {"0": 6803228196865}}
    assert meta["dropped_hits"] == {"event000000000": 75}
    assert meta["settings"] == {"path": str(shared_data / "acts")}
    assert main(["convert", "trackml", str(shared_data / "acts"), str(tmp_path / "s")]) == 1
    assert "--overwrite" in capsys.readouterr().err  # exists: refused without --overwrite
