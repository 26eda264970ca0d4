"""The GTR data sources write clips into the generic store: SLEAP (.slp + real video), ISBI XML,
MOTChallenge text and the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.gtr.clip import Clip
from raytrack.families.gtr.clip_rows import ClipSettings, VideoTable, plan_clips


def test_two_flies_clips_hold_tracks_boxes_and_real_crops(flies_store, shared_data) -> None:
    import sleap_io

    labels = sleap_io.load_slp(str(shared_data / "sleap" / "two_flies.slp"), open_videos=False)
    assert len(flies_store) == 128 // 16
    assert flies_store.counts["instance"] == sum(len(lf.instances) for lf in labels)
    row = flies_store.row(3)
    assert row["video"] == "two_flies" and row["first_frame"] == 48 and row["clip_frames"] == 16
    assert list(row["image_size"]) == [1024, 1024]
    assert row["crop"].shape == (32, 1, 48, 48, 1) and row["crop"].dtype == np.uint8
    assert sorted(set(row["track_id"].tolist())) == [0, 1]
    # the box is the crop_size + 2 padding square around the centroid of the visible nodes
    first = labels[48].instances[0]
    points = first.numpy()
    centre = np.nanmean(points[~np.isnan(points).any(axis=1)], axis=0)
    index = int(
        np.flatnonzero(
            (row["frame"] == 48) & (row["track_id"] == labels.tracks.index(first.track))
        )[0]
    )
    np.testing.assert_allclose(row["centroid"][index], centre, rtol=1e-5)
    np.testing.assert_allclose(row["box"][index, 0], [*(centre - 24), *(centre + 24)], rtol=1e-5)
    # a fly is bright on a dark background: the crop around it is brighter than the frame mean
    assert row["crop"][index].mean() > 40


def test_anchors_name_skeleton_nodes(shared_data, tmp_path) -> None:
    from raytrack.families.gtr.sleap_source import SleapSettings, sleap_clips

    settings = SleapSettings(
        slp_files=[str(shared_data / "sleap" / "two_flies.slp")], clip_length=64,
        anchors=["head", "thorax"], crops=False, n_chunks=1.0,
    )  # fmt: skip
    output = sleap_clips(settings)
    rows = list(output.rows)
    assert len(rows) == 2 and rows[0]["box"].shape[1:] == (2, 4)
    assert "crop" not in rows[0]
    head = rows[0]["box"][:, 0]
    thorax = rows[0]["box"][:, 1]
    assert np.nanmean(np.linalg.norm(head[:, :2] - thorax[:, :2], axis=1)) > 5


def test_dir_takes_every_labelled_video_of_a_folder(shared_data) -> None:
    from raytrack.families.gtr.sleap_source import DirSettings, SleapSettings, sleap_clips

    settings = SleapSettings(
        dir=DirSettings(path=str(shared_data / "sleap")), clip_length=16, crops=False
    )
    rows = list(sleap_clips(settings).rows)
    videos = {r["video"]: r["video_index"] for r in rows}
    assert videos == {"ten_zfish": 0, "two_flies": 1}
    assert sum(r["video"] == "ten_zfish" for r in rows) == 2
    zfish = next(r for r in rows if r["video"] == "ten_zfish")
    assert len(set(zfish["track_id"].tolist())) == 10 and list(zfish["image_size"]) == [3712, 3712]


def test_isbi_xml_loads_every_spot(shared_data, tmp_path) -> None:
    from raytrack.families.gtr.isbi_source import IsbiSettings, isbi_clips

    output = isbi_clips(IsbiSettings(path=str(shared_data / "isbi"), clip_length=25))
    rows = list(output.rows)
    text = (shared_data / "isbi" / "receptor_snr7_density_low.xml").read_text()
    assert len(rows) == 4 and sum(len(r["frame"]) for r in rows) == text.count("<detection")
    assert rows[1]["first_frame"] == 25 and rows[1]["geometry"] == "point"
    assert len(set(np.concatenate([r["track_id"] for r in rows]).tolist())) == text.count(
        "<particle>"
    )


def test_motchallenge_text_loads_the_true_boxes(shared_data) -> None:
    from raytrack.families.gtr.mot_source import MotSettings, mot_clips

    output = mot_clips(MotSettings(path=str(shared_data / "mot" / "TUD-Campus"), chunk=False))
    (row,) = list(output.rows)
    gt = np.loadtxt(shared_data / "mot" / "TUD-Campus" / "gt.txt", delimiter=",")
    assert len(row["frame"]) == len(gt) and row["geometry"] == "box"
    first = gt[0]
    np.testing.assert_allclose(
        row["box"][0, 0], [first[2], first[3], first[2] + first[4], first[3] + first[5]]
    )
    assert output.provenance["sequences"]["TUD-Campus"]["from"] == "largest box corner"


def test_simulator_is_deterministic_and_makes_crossings() -> None:
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import simulate_clip

    settings = MovingObjectsSettings(
        clip_length=20, objects=0, crossings=1, crossing_distance=0.0, birth_rate=0,
        detection_noise=0.0, crops=True, crop_size=16,
    )  # fmt: skip
    a, b = simulate_clip(settings, 4, seed=9), simulate_clip(settings, 4, seed=9)
    assert all(np.array_equal(a[k], b[k]) for k in ("frame", "track_id", "centroid", "crop"))
    assert not np.array_equal(a["centroid"], simulate_clip(settings, 5, seed=9)["centroid"])
    clip = Clip.from_row(a, with_crops=True)
    tracks = clip.track_id.numpy()
    assert sorted(set(tracks.tolist())) == [0, 1]
    gaps = []
    for frame in range(20):
        here = clip.centroid[clip.frame == frame]
        if len(here) == 2:
            gaps.append(float(np.linalg.norm(here[0] - here[1])))
    assert min(gaps) < 4.0  # the two paths meet
    assert a["crop"].shape[1:] == (1, 16, 16, 3) and a["crop"].max() > 100


def test_births_deaths_and_occlusions_happen() -> None:
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import simulate_clip

    settings = MovingObjectsSettings(
        clip_length=40, objects=6, crossings=0, birth_rate=0.3, death_rate=0.03,
        occlusion_rate=0.05, occlusion_length=3, crops=False,
    )  # fmt: skip
    row = simulate_clip(settings, 0, seed=2)
    frames, tracks = row["frame"], row["track_id"]
    spans = {t: frames[tracks == t] for t in set(tracks.tolist())}
    assert max(spans) >= 8  # births
    assert any(s.max() < 39 for s in spans.values())  # deaths (or exits)
    assert any(len(s) < s.max() - s.min() + 1 for s in spans.values())  # occlusion gaps


def _table(frames: int) -> VideoTable:
    empty = np.zeros(0)
    return VideoTable("v", 0, "v.slp", (10, 10), "point", np.arange(frames), empty, empty,
                      np.zeros((0, 1, 4)), np.zeros((0, 2)))  # fmt: skip


def test_n_chunks_keeps_a_fraction_or_a_count() -> None:
    tables = [_table(100)]
    assert len(plan_clips(tables, ClipSettings(clip_length=10))) == 10
    half = plan_clips(tables, ClipSettings(clip_length=10, n_chunks=0.5, seed=1))
    assert len(half) == 5 and [int(f[0]) for _, f in half] == sorted(int(f[0]) for _, f in half)
    assert len(plan_clips(tables, ClipSettings(clip_length=10, n_chunks=3))) == 3
    whole = plan_clips(tables, ClipSettings(chunk=False))
    assert len(whole) == 1 and len(whole[0][1]) == 100
    with pytest.raises(ValueError, match="n_chunks is a fraction"):
        ClipSettings(n_chunks=2.5)
