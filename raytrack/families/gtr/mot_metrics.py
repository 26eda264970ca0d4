"""MOT metrics with py-motmetrics, as additive counts that sum over clips, sequences and workers.

py-motmetrics (Heindl et al., github.com/cheind/py-motmetrics) matches hypotheses to true
objects frame by frame (keeping last frame's matches while they stay within the threshold, then
Hungarian) and computes the CLEAR-MOT metrics (Bernardin & Stiefelhagen 2008: MOTA, MOTP, ID
switches, fragmentations, mostly tracked / lost) and the identity metrics (Ristani et al. 2016:
IDF1, IDP, IDR). Its metrics over several sequences (its ``OVERALL`` row) are functions of
counts summed over the sequences; :class:`MotCounts` keeps those counts, so validation can sum
them over clips and DDP workers and :meth:`MotCounts.metrics` gives exactly what
py-motmetrics gives for the same sequences.

Workaround: py-motmetrics 1.4.0 computes distance matrices with ``numpy.asfarray``, which
NumPy 2 removed; the distances are computed here (:func:`iou_distances`,
:func:`point_distances`, with py-motmetrics' definitions) and handed to its accumulator, which
works with NumPy 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields

import numpy as np
import torch

from raytrack.families.gtr.hparams import MOT_METRICS

COUNTED = (
    "num_frames", "num_matches", "num_switches", "num_false_positives", "num_misses",
    "num_objects", "num_predictions", "num_unique_objects", "num_fragmentations",
    "mostly_tracked", "partially_tracked", "mostly_lost", "idtp", "idfp", "idfn",
)  # fmt: skip


def motmetrics_module():
    try:
        import motmetrics
    except ImportError as err:
        raise ImportError(
            "the GTR family's MOT metrics need py-motmetrics, a dependency of raytrack: "
            "pip install 'motmetrics>=1.4'"
        ) from err
    return motmetrics


def iou_distances(gt: np.ndarray, hyp: np.ndarray, threshold: float) -> np.ndarray:
    """``1 - IoU`` of ``x1 y1 x2 y2`` boxes; NaN (do not pair) where IoU < ``threshold``.

    Shapes:
        ``gt``: ``(G, 4)``, ``hyp``: ``(H, 4)`` → ``(G, H)``.
    """
    gt, hyp = np.asarray(gt, np.float64), np.asarray(hyp, np.float64)
    low = np.maximum(gt[:, None, :2], hyp[None, :, :2])
    high = np.minimum(gt[:, None, 2:], hyp[None, :, 2:])
    inter = np.prod(np.maximum(high - low, 0), axis=-1)
    area_gt = np.prod(np.maximum(gt[:, 2:] - gt[:, :2], 0), axis=-1)
    area_hyp = np.prod(np.maximum(hyp[:, 2:] - hyp[:, :2], 0), axis=-1)
    union = area_gt[:, None] + area_hyp[None, :] - inter
    iou = np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    distance = 1.0 - iou
    return np.where(distance > 1.0 - threshold, np.nan, distance)


def point_distances(gt: np.ndarray, hyp: np.ndarray, threshold: float) -> np.ndarray:
    """Euclidean distances of points; NaN (do not pair) beyond ``threshold``.

    Shapes:
        ``gt``: ``(G, 2)``, ``hyp``: ``(H, 2)`` → ``(G, H)``.
    """
    diff = np.asarray(gt, np.float64)[:, None, :] - np.asarray(hyp, np.float64)[None, :, :]
    distance = np.sqrt((diff**2).sum(axis=-1))
    return np.where(distance > threshold, np.nan, distance)


@dataclass(frozen=True)
class MotCounts:
    """The additive counts behind the MOT metrics of one or more sequences."""

    num_frames: float = 0.0
    num_matches: float = 0.0
    num_switches: float = 0.0
    num_false_positives: float = 0.0
    num_misses: float = 0.0
    num_objects: float = 0.0
    num_predictions: float = 0.0
    num_unique_objects: float = 0.0
    num_fragmentations: float = 0.0
    mostly_tracked: float = 0.0
    partially_tracked: float = 0.0
    mostly_lost: float = 0.0
    idtp: float = 0.0
    idfp: float = 0.0
    idfn: float = 0.0
    distance_sum: float = 0.0
    """The distances of matched pairs, summed (MOTP's numerator)."""

    def __add__(self, other: MotCounts) -> MotCounts:
        return MotCounts(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def as_tensor(self) -> torch.Tensor:
        return torch.tensor(astuple(self), dtype=torch.float64)

    @classmethod
    def from_tensor(cls, values: torch.Tensor) -> MotCounts:
        return cls(*(float(v) for v in values.tolist()))

    @classmethod
    def total(cls, counts: Iterable[MotCounts]) -> MotCounts:
        out = cls()
        for item in counts:
            out = out + item
        return out

    def metrics(self, names: Sequence[str] = MOT_METRICS) -> dict[str, float]:
        """py-motmetrics' values of ``names`` for these counts (NaN where undefined)."""

        def ratio(a: float, b: float) -> float:
            return a / b if b else math.nan

        detections = self.num_matches + self.num_switches
        values = {
            "mota": 1.0 - ratio(self.num_misses + self.num_switches + self.num_false_positives,
                                self.num_objects),
            "motp": ratio(self.distance_sum, detections),
            "idf1": ratio(2 * self.idtp, self.num_objects + self.num_predictions),
            "idp": ratio(self.idtp, self.idtp + self.idfp),
            "idr": ratio(self.idtp, self.idtp + self.idfn),
            "recall": ratio(detections, self.num_objects),
            "precision": ratio(detections, detections + self.num_false_positives),
        }  # fmt: skip
        counted = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: float(values[name] if name in values else counted[name]) for name in names}


FrameUpdate = tuple[int, np.ndarray, np.ndarray, np.ndarray]
"""One frame for the accumulator: ``(frame, true ids (G,), hypothesis ids (H,), distances (G, H))``."""


def sequence_counts(frames: Iterable[FrameUpdate]) -> MotCounts:
    """The counts of one sequence (a clip, or consecutive clips of a video), frame by frame."""
    mm = motmetrics_module()
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, gt_ids, hyp_ids, distances in frames:
        accumulator.update(
            list(map(int, gt_ids)), list(map(int, hyp_ids)), distances, frameid=int(frame)
        )
    names = [*COUNTED, "motp", "num_detections"]
    summary = mm.metrics.create().compute(accumulator, metrics=names, name="seq")
    row = summary.loc["seq"]
    values = {name: float(row[name]) for name in COUNTED}
    motp = float(row["motp"])
    values["distance_sum"] = motp * float(row["num_detections"]) if math.isfinite(motp) else 0.0
    return MotCounts(**values)
