"""ISBI XML and MOTChallenge text run through the same evaluator as the SLEAP and simulated clips."""

from __future__ import annotations

from raytrack.families.gtr.baseline_tracker import BaselineSettings
from raytrack.families.gtr.clip import Clip
from raytrack.families.gtr.evaluate import evaluate_tracking
from raytrack.families.gtr.tracker_settings import TrackerSettings
from tests.families.gtr.conftest import write
from tests.families.gtr.training import trained_on_easy_clips


def _clips(store, ids=None):
    return [Clip.from_row(row, with_crops=False) for row in store.iter_rows(ids=ids)]


def test_isbi_and_motchallenge_stores_go_through_the_mot_evaluator(shared_data, tmp_path) -> None:
    from raytrack.families.gtr.isbi_source import IsbiSettings, isbi_clips
    from raytrack.families.gtr.mot_source import MotSettings, mot_clips

    isbi = write(
        tmp_path / "isbi", isbi_clips(IsbiSettings(path=str(shared_data / "isbi"))), "isbi"
    )
    mot = write(
        tmp_path / "mot",
        mot_clips(MotSettings(path=str(shared_data / "mot"), clip_length=20)),
        "motchallenge",
    )
    model, task = trained_on_easy_clips()
    for store in (isbi, mot):
        clips = _clips(store, ids=[0, 1])
        result = evaluate_tracking(model, clips, TrackerSettings(window_size=4), BaselineSettings())
        summary = result.summary
        assert summary["clips"] == 2 and summary["num_objects"] == sum(len(c) for c in clips)
        assert 0 < summary["idf1"] <= 1 and 0 < summary["baseline_idf1"] <= 1
        assert (
            summary["recall"] == 1.0
        )  # every true instance gets a track: detections are the truth
    assert _clips(mot)[0].geometry == "box" and _clips(isbi)[0].geometry == "point"


def test_persistent_tracking_scores_whole_videos(flies_store) -> None:
    clips = _clips(flies_store)
    persistent = evaluate_tracking(
        None, clips, TrackerSettings(persistent_tracking=True), BaselineSettings()
    )
    separate = evaluate_tracking(None, clips, TrackerSettings(), BaselineSettings())
    assert persistent.summary["sequences"] == 1 and separate.summary["sequences"] == 8
    assert (
        persistent.summary["baseline_num_objects"]
        == separate.summary["baseline_num_objects"]
        == 256
    )
    assert persistent.summary["baseline_mostly_tracked"] == 2
    assert separate.summary["baseline_mostly_tracked"] == 16
