"""MOTChallenge text files: reading them and scoring a tracker's file against the truth.

The format (Milan et al., "MOT16: A Benchmark for Multi-Object Tracking", arXiv:1603.00831):
one line per box, ``frame,id,x,y,w,h,conf,x3d,y3d,z3d`` (or more columns: class, visibility),
frames counted from 1, ``x, y`` the top-left corner in pixels. As py-motmetrics' MOTChallenge
evaluation does, true boxes with ``conf < 1`` (MOTChallenge's "ignore" flag) are dropped and
every hypothesis box is kept; boxes match at IoU >= 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raytrack.families.gtr.mot_metrics import MotCounts, iou_distances, sequence_counts

COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf")


def read_mot(path: str | Path, *, min_confidence: float | None = None) -> pd.DataFrame:
    """The boxes of a MOTChallenge file: ``frame, id, x, y, w, h, conf`` (rows with ``conf <
    min_confidence`` dropped when it is given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no MOTChallenge file {path}")
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as err:
        raise ValueError(
            f"{path} is not a MOTChallenge text file (frame,id,x,y,w,h,conf,...): {err}"
        ) from None
    if table.shape[1] < 6:
        raise ValueError(
            f"{path}: a MOTChallenge line has at least 6 values (frame,id,x,y,w,h,...), "
            f"but it has {table.shape[1]}"
        )
    conf = table[:, 6] if table.shape[1] > 6 else np.ones(len(table))
    frame = pd.DataFrame(
        {
            "frame": table[:, 0].astype(np.int64),
            "id": table[:, 1].astype(np.int64),
            "x": table[:, 2], "y": table[:, 3], "w": table[:, 4], "h": table[:, 5],
            "conf": conf,
        }
    )  # fmt: skip
    if min_confidence is not None:
        frame = frame[frame["conf"] >= min_confidence]
    return frame.reset_index(drop=True)


def corners(boxes: pd.DataFrame) -> np.ndarray:
    """``x1 y1 x2 y2`` of MOTChallenge boxes (``x y w h``)."""
    x, y, w, h = (boxes[c].to_numpy(np.float64) for c in ("x", "y", "w", "h"))
    return np.stack([x, y, x + w, y + h], axis=1)


def compare(gt: pd.DataFrame, hyp: pd.DataFrame, iou_threshold: float = 0.5) -> MotCounts:
    """The counts of hypothesis boxes ``hyp`` against true boxes ``gt`` (both :func:`read_mot`)."""
    by_gt = dict(iter(gt.groupby("frame")))
    by_hyp = dict(iter(hyp.groupby("frame")))
    empty = pd.DataFrame(columns=list(COLUMNS))

    def updates():
        for frame in sorted(set(by_gt) | set(by_hyp)):
            g, h = by_gt.get(frame, empty), by_hyp.get(frame, empty)
            distances = iou_distances(corners(g), corners(h), iou_threshold)
            yield frame, g["id"].to_numpy(), h["id"].to_numpy(), distances

    return sequence_counts(updates())


@dataclass(frozen=True)
class SequenceResult:
    name: str
    counts: MotCounts


def compare_directory(
    root: str | Path, *, hypothesis: str = "test.txt", iou_threshold: float = 0.5
) -> list[SequenceResult]:
    """Every sequence under ``root`` (a folder with ``gt.txt`` or ``gt/gt.txt`` and the
    ``hypothesis`` file, or a folder of such folders), scored; sorted by name."""
    root = Path(root)
    folders = [root] if _truth_file(root) else sorted(p for p in root.iterdir() if p.is_dir())
    results = []
    for folder in folders:
        truth = _truth_file(folder)
        if truth is None:
            continue
        tested = folder / hypothesis
        if not tested.is_file():
            raise FileNotFoundError(f"sequence {folder.name}: no tracker file {tested}")
        gt = read_mot(truth, min_confidence=1)
        counts = compare(gt, read_mot(tested), iou_threshold)
        results.append(SequenceResult(folder.name, counts))
    if not results:
        raise FileNotFoundError(f"no MOTChallenge sequence (a folder with gt.txt) under {root}")
    return results


def _truth_file(folder: Path) -> Path | None:
    for candidate in (folder / "gt.txt", folder / "gt" / "gt.txt"):
        if candidate.is_file():
            return candidate
    return None
