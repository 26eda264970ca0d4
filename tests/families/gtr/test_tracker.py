"""The sliding-window tracker, its queue and thresholds, and the baseline tracker."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.families.gtr.baseline_tracker import BaselineSettings, BaselineTracker
from raytrack.families.gtr.evaluate import evaluate_tracking, sequences
from raytrack.families.gtr.scoring import score_sequence
from raytrack.families.gtr.track_queue import Entry, TrackQueue
from raytrack.families.gtr.tracker import Tracker
from raytrack.families.gtr.tracker_settings import TrackerSettings
from tests.families.gtr.training import easy_clips, tiny_gtr, trained_on_easy_clips


def _entry(frame: int) -> Entry:
    zero = torch.zeros(1, 4)
    return Entry(frame, torch.zeros(2), zero, zero, torch.zeros(2))


def test_the_queue_keeps_window_size_minus_one_instances_and_ends_tracks_after_max_gap() -> None:
    queue = TrackQueue(window_size=3, max_gap=1)  # max_gap is raised to window_size
    assert queue.max_gap == 3
    for frame in range(4):
        queue.add_frame(
            [(0, _entry(frame)), (1, _entry(frame))] if frame < 1 else [(0, _entry(frame))]
        )
        if frame == 2:
            ids, entries = queue.window()
            assert ids == [1, 0, 0] and [e.frame for e in entries] == [0, 1, 2]
    ids, entries = queue.window()  # track 1, unseen for 3 frames, ended; track 0 keeps 2
    assert ids == [0, 0] and [e.frame for e in entries] == [2, 3]
    assert queue.new_id() == 2


def test_thresholds_decide_between_a_track_and_a_new_one() -> None:
    tracker = Tracker(TrackerSettings(overlap_thresh=0.3, mult_thresh=True))
    for track in (4, 7):
        tracker.queue.add_frame([(track, _entry(0))])
    scores = np.array([[0.9, 0.1], [0.2, 0.25]])
    # counts: track 4 has 2 instances in the window (threshold 0.6), track 7 one (0.3)
    assert tracker._match(scores, [4, 7], np.array([2.0, 1.0])) == [4, 8]
    capped = Tracker(TrackerSettings(overlap_thresh=0.3, max_tracks=2))
    for track in (4, 7):
        capped.queue.add_frame([(track, _entry(0))])
    assert capped._match(scores, [4, 7], np.array([1.0, 1.0])) == [4, 7]  # full: always accept
    assert capped._match(np.zeros((3, 0)), [], np.zeros(0)) == [-1, -1, -1]


def test_a_briefly_trained_model_tracks_held_out_clips() -> None:
    clips = easy_clips(24)
    model, task = tiny_gtr()
    untrained = evaluate_tracking(
        model.eval(), clips[16:], task.tracker_settings, BaselineSettings()
    )
    model, task = trained_on_easy_clips()  # trained on easy_clips(16) == clips[:16]
    trained = evaluate_tracking(model, clips[16:], task.tracker_settings, BaselineSettings())
    assert trained.summary["idf1"] == 1.0 and trained.summary["num_switches"] == 0
    assert untrained.summary["idf1"] < 0.9
    assert trained.summary["baseline_idf1"] == 1.0  # easy clips: the baseline is perfect too
    assert len(trained.per_item) == 8 and set(trained.per_item["clips"]) == {1}


def test_persistent_tracking_carries_tracks_across_consecutive_clips() -> None:
    from dataclasses import replace

    whole = easy_clips(1, seed=3)[0]
    first = whole.subset(whole.frame < 4)
    second = whole.subset(whole.frame >= 4)
    first, second = replace(first, clip_frames=4), replace(second, first_frame=4, clip_frames=4)
    assert [len(s) for s in sequences([second, first], persistent=True)] == [2]
    assert [len(s) for s in sequences([second, first], persistent=False)] == [1, 1]
    model, task = trained_on_easy_clips()
    ids = Tracker(task.tracker_settings).track(model, [first, second])
    counts = score_sequence([first, second], ids)
    assert counts.num_switches == 0 and counts.num_unique_objects == 3
    for track in range(3):  # one id per true track over both clips
        found = np.concatenate(
            [i[c.track_id.numpy() == track] for c, i in zip((first, second), ids)]
        )
        assert len(set(found.tolist())) == 1


def test_the_baseline_swaps_identities_at_a_close_crossing() -> None:
    from raytrack.families.gtr.clip import Clip
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import simulate_clip

    settings = MovingObjectsSettings(
        clip_length=16, objects=0, crossings=1, crossing_distance=0, birth_rate=0,
        detection_noise=1.5, crops=False,
    )  # fmt: skip
    switches = 0
    for i in range(20):
        clip = Clip.from_row(simulate_clip(settings, i, seed=4), False)
        ids = BaselineTracker(BaselineSettings(match="centre")).track([clip])
        switches += score_sequence([clip], ids, distance_threshold=5.0).num_switches
    assert switches > 0
    with pytest.raises(ValueError, match="1 clips but 2 arrays"):
        score_sequence([clip], ids * 2)
