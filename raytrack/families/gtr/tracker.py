"""GTR's sliding-window tracker: association scores → track ids (biogtr ``inference/tracker.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from raytrack.families.gtr.association_scores import (
    box_iou,
    decay_by_time,
    filter_by_distance,
    frame_softmax,
    weight_by_iou,
)
from raytrack.families.gtr.clip import Clip
from raytrack.families.gtr.track_queue import Entry, TrackQueue
from raytrack.families.gtr.tracker_settings import TrackerSettings


class Tracker:
    r"""Tracks the instances of clips frame by frame with a trained GTR model.

    Per frame with instances (the *query* frame), when tracks are live:

    1. the window is every kept instance of the live tracks plus the query instances; the model
       scores each query against the window (last decoder layer), softmax over each frame's
       instances plus a background;
    2. the probabilities of the earlier instances are weighted by ``decay_time ** (frames
       between)`` and summed per track: the trajectory score ``S`` (queries × tracks);
    3. ``iou`` adds the IoU of the query box and the track's last box (``mult``:
       ``S + |IoU - S| IoU``, ``max``: ``max(S, IoU)``); ``max_center_dist`` zeroes tracks whose
       last centre is farther (pixels);
    4. the Hungarian assignment maximises ``S``; a pair is kept when ``S > overlap_thresh``
       (times the track's instances in the window under ``mult_thresh``), or always once
       ``max_tracks`` tracks are live; unmatched queries start new tracks (none beyond
       ``max_tracks``: they stay untracked, id -1).

    The first frame with instances starts one track per instance. Tracks end per
    :class:`~raytrack.families.gtr.track_queue.TrackQueue` (``max_gap``).

    Shapes:
        :meth:`track` returns per clip an ``(N,)`` int64 array of track ids, aligned with the
        clip's instances (-1: untracked).
    """

    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self.queue = TrackQueue(settings.window_size, settings.max_gap)

    @torch.no_grad()
    def track(self, model: torch.nn.Module, clips: Sequence[Clip]) -> list[np.ndarray]:
        """Track ``clips`` in order, as one sequence (consecutive clips of one video)."""
        model.eval()
        self.queue.reset()
        device = next(model.parameters()).device
        return [self._track_clip(model, clip.to(device)) for clip in clips]

    def _track_clip(self, model: torch.nn.Module, clip: Clip) -> np.ndarray:
        crops = clip.crop_images() if getattr(model, "use_vis_feats", False) else None
        features = model.extract_features(crops, len(clip))
        boxes = clip.normalized_boxes()
        ids = np.full(len(clip), -1, dtype=np.int64)
        frames = clip.frame.cpu().numpy()
        for frame in range(clip.first_frame, clip.first_frame + clip.clip_frames):
            members = np.flatnonzero(frames == frame)
            entries = [
                Entry(frame, features[i], boxes[i], clip.box[i], clip.centroid[i]) for i in members
            ]
            if not entries:
                self.queue.add_frame([])
                continue
            assigned = self._assign(model, frame, entries)
            ids[members] = assigned
            self.queue.add_frame([(t, e) for t, e in zip(assigned, entries) if t >= 0])
        return ids

    def _assign(self, model: torch.nn.Module, frame: int, queries: list[Entry]) -> list[int]:
        if self.queue.n_tracks == 0:
            return self._match(np.zeros((len(queries), 0)), [], np.zeros(0))
        window_ids, window = self.queue.window()
        every = window + queries
        frames = torch.tensor([e.frame for e in every], device=queries[0].feature.device)
        times = (frames - frames.min()).to(torch.float32)
        query = torch.arange(len(window), len(every), device=frames.device)
        out = model(
            torch.stack([e.box for e in every]),
            times,
            features=torch.stack([e.feature for e in every]),
            query=query,
        )
        probabilities = frame_softmax(out["asso"][-1], frames)[:, : len(window)]
        scores = decay_by_time(
            probabilities, frames[: len(window)], frame, self.settings.decay_time
        )
        tracks = sorted(set(window_ids))
        ids = torch.tensor(window_ids, device=scores.device)
        member = (ids[:, None] == torch.tensor(tracks, device=scores.device)[None, :]).to(
            scores.dtype
        )
        scores = scores @ member  # (Q, T)
        last_ids, last = self.queue.last_entries()
        assert last_ids == tracks
        if self.settings.iou is not None:
            ious = box_iou(
                torch.stack([q.box_px for q in queries]), torch.stack([e.box_px for e in last])
            )
            scores = weight_by_iou(scores, ious, self.settings.iou)
        scores = filter_by_distance(
            scores,
            torch.stack([q.centroid for q in queries]),
            torch.stack([e.centroid for e in last]),
            self.settings.max_center_dist,
        )
        return self._match(scores.cpu().numpy(), tracks, member.sum(dim=0).cpu().numpy())

    def _match(self, scores: np.ndarray, tracks: list[int], counts: np.ndarray) -> list[int]:
        settings = self.settings
        live = self.queue.n_tracks
        full = settings.max_tracks is not None and live >= settings.max_tracks
        assigned = [-1] * scores.shape[0]
        for i, j in zip(*linear_sum_assignment(-scores)):
            threshold = settings.overlap_thresh * (counts[j] if settings.mult_thresh else 1.0)
            if full or scores[i, j] > threshold:
                assigned[i] = tracks[j]
        for i, track in enumerate(assigned):
            if track < 0 and (settings.max_tracks is None or live < settings.max_tracks):
                assigned[i] = self.queue.new_id()
                live += 1
        return assigned
