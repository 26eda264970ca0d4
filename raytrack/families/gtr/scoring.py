"""Tracks of clips scored against their true track ids (py-motmetrics, :mod:`.mot_metrics`).

The true objects of a frame are its instances with a track id (>= 0); the hypotheses are its
instances with a predicted id (>= 0). On ``box`` stores (MOTChallenge) they match at IoU >=
``iou_threshold`` (the first anchor's box), on ``point`` stores (SLEAP, ISBI, simulated) within
``distance_threshold`` pixels of their centroids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from raytrack.families.gtr.clip import Clip
from raytrack.families.gtr.mot_metrics import (
    FrameUpdate,
    MotCounts,
    iou_distances,
    point_distances,
    sequence_counts,
)


def _updates(
    clips: Sequence[Clip],
    ids: Sequence[np.ndarray],
    iou_threshold: float,
    distance_threshold: float,
) -> Iterator[FrameUpdate]:
    for clip, predicted in zip(clips, ids):
        frames = clip.frame.cpu().numpy()
        truth = clip.track_id.cpu().numpy()
        boxes = clip.box[:, 0].cpu().numpy()
        centroids = clip.centroid.cpu().numpy()
        for frame in range(clip.first_frame, clip.first_frame + clip.clip_frames):
            here = frames == frame
            gt = np.flatnonzero(here & (truth >= 0))
            hyp = np.flatnonzero(here & (predicted >= 0))
            if clip.geometry == "box":
                distances = iou_distances(boxes[gt], boxes[hyp], iou_threshold)
            else:
                distances = point_distances(centroids[gt], centroids[hyp], distance_threshold)
            yield frame, truth[gt], predicted[hyp], distances


def score_sequence(
    clips: Sequence[Clip],
    ids: Sequence[np.ndarray],
    iou_threshold: float = 0.5,
    distance_threshold: float = 5.0,
) -> MotCounts:
    """The counts of one sequence: ``clips`` in order (one, or consecutive clips of one video)
    with their predicted ids (``(N,)`` per clip, -1: untracked)."""
    if len(clips) != len(ids):
        raise ValueError(f"{len(clips)} clips but {len(ids)} arrays of predicted ids")
    return sequence_counts(_updates(clips, ids, iou_threshold, distance_threshold))
