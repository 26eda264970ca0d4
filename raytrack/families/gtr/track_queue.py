"""The sliding window of the GTR tracker: recent instances of every live track (biogtr ``TrackQueue``)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Entry:
    """One tracked instance kept in the window.

    Shapes:
        ``feature``: ``(D,)``; ``box`` (normalised) and ``box_px``: ``(A, 4)``; ``centroid``: ``(2,)``.
    """

    frame: int
    feature: torch.Tensor
    box: torch.Tensor
    box_px: torch.Tensor
    centroid: torch.Tensor


class TrackQueue:
    """Per live track, its last ``window_size - 1`` instances, and frames since it was seen.

    Update rule per frame: the frame's tracked instances join their tracks' queues (new tracks
    get one); every other track's gap grows by one, and a track whose gap reaches ``max_gap``
    ends (``max_gap`` is raised to ``window_size`` when smaller, as in biogtr; ``None``: tracks
    never end).
    """

    def __init__(self, window_size: int, max_gap: int | None) -> None:
        if window_size < 2:
            raise ValueError(f"window_size must be at least 2, but got window_size={window_size}")
        self.window_size = window_size
        self.max_gap = math.inf if max_gap is None else max(max_gap, window_size)
        self.queues: dict[int, deque[Entry]] = {}
        self.gaps: dict[int, int] = {}
        self.last_id = -1
        """The largest track id given so far (new tracks count up from it)."""

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    @property
    def n_tracks(self) -> int:
        return len(self.queues)

    def reset(self) -> None:
        """End every track (a new video, or a clip tracked on its own)."""
        self.queues, self.gaps, self.last_id = {}, {}, -1

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def add_frame(self, entries: list[tuple[int, Entry]]) -> None:
        """Add ``(track id, entry)`` pairs of one frame (none: a frame without instances)."""
        seen = set()
        for track, entry in entries:
            queue = self.queues.setdefault(track, deque(maxlen=self.window_size - 1))
            queue.append(entry)
            self.last_id = max(self.last_id, track)
            seen.add(track)
        for track in list(self.queues):
            self.gaps[track] = 0 if track in seen else self.gaps.get(track, 0) + 1
            if self.gaps[track] >= self.max_gap:
                del self.queues[track], self.gaps[track]

    def window(self) -> tuple[list[int], list[Entry]]:
        """Every kept instance, oldest frame first: ``(track ids, entries)``."""
        pairs = [(entry.frame, track, entry) for track, q in self.queues.items() for entry in q]
        pairs.sort(key=lambda item: (item[0], item[1]))
        return [track for _, track, _ in pairs], [entry for _, _, entry in pairs]

    def last_entries(self) -> tuple[list[int], list[Entry]]:
        """Each live track's most recent instance: ``(track ids sorted, entries)``."""
        tracks = sorted(self.queues)
        return tracks, [self.queues[track][-1] for track in tracks]
