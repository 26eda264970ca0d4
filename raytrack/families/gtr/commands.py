"""The gtr family's commands: ``raytrack motmetrics`` and ``raytrack gtr-baseline``.

- ``raytrack motmetrics PATH [--hypothesis test.txt]``: MOT metrics of a tracker's MOTChallenge
  file against ``gt.txt``, per sequence and overall (py-motmetrics' MOTChallenge evaluation);
- ``raytrack gtr-baseline STORE``: the baseline tracker (no model) on a store's clips, scored.
"""

from __future__ import annotations

import argparse
import json

TABLE = ("idf1", "idp", "idr", "recall", "precision", "mostly_tracked", "partially_tracked",
         "mostly_lost", "num_false_positives", "num_misses", "num_switches",
         "num_fragmentations", "mota", "motp")  # fmt: skip


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    mot = subparsers.add_parser(
        "motmetrics", help="MOT metrics of a tracker's MOTChallenge file against gt.txt"
    )
    mot.add_argument("path", help="a sequence folder (gt.txt or gt/gt.txt and the tracker's "
                     "file), or a folder of them")  # fmt: skip
    mot.add_argument("--hypothesis", default="test.txt", help="the tracker's file in each folder")
    mot.add_argument("--iou", type=float, default=0.5, help="match at IoU >= this (default 0.5)")
    mot.add_argument("--json", action="store_true", help="print the metrics as JSON")
    mot.set_defaults(run=_motmetrics)
    baseline = subparsers.add_parser(
        "gtr-baseline", help="track a GTR store's clips with the baseline tracker and score them"
    )
    baseline.add_argument("store", help="a GTR sample store (sleap, isbi, motchallenge, ...)")
    baseline.add_argument(
        "--match",
        choices=("auto", "iou", "centre"),
        default="auto",
        help="how detections are matched frame to frame: box IoU, centre distance, or auto "
        "(IoU when the clips have boxes)",
    )
    baseline.add_argument("--max-gap", type=int, help="frames a track may go unseen")
    baseline.add_argument("--max-dist", type=float, help="centre: gate in pixels")
    baseline.add_argument("--ids", nargs="*", type=int, help="clip ids (default: all)")
    baseline.add_argument(
        "--iou-threshold", type=float, default=0.5, help="MOT scoring: a match needs this IoU"
    )
    baseline.add_argument(
        "--distance-threshold",
        type=float,
        default=5.0,
        help="MOT scoring of points: a match lies within this many pixels",
    )
    baseline.set_defaults(run=_baseline)


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """Sequences as rows, metrics as columns (counts as integers, rates with 3 decimals)."""
    width = max(len(name) for name in rows)
    header = " " * width + "".join(f"{name[:10]:>11}" for name in TABLE)
    lines = [header]
    for name, values in rows.items():
        cells = "".join(
            f"{values[m]:>11.0f}"
            if m.startswith(("num_", "mostly", "partially"))
            else f"{values[m]:>11.3f}"
            for m in TABLE
        )
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)


def _motmetrics(args: argparse.Namespace) -> int:
    from raytrack.families.gtr.mot_metrics import MotCounts
    from raytrack.families.gtr.motchallenge import compare_directory

    results = compare_directory(args.path, hypothesis=args.hypothesis, iou_threshold=args.iou)
    rows = {r.name: r.counts.metrics(("num_unique_objects", *TABLE)) for r in results}
    rows["OVERALL"] = MotCounts.total(r.counts for r in results).metrics(
        ("num_unique_objects", *TABLE)
    )
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows))
    return 0


def _baseline(args: argparse.Namespace) -> int:
    from raytrack.families.gtr.baseline_tracker import BaselineSettings
    from raytrack.families.gtr.clip import Clip
    from raytrack.families.gtr.evaluate import evaluate_tracking
    from raytrack.families.gtr.tracker_settings import TrackerSettings
    from raytrack.pipeline.evaluate import format_summary
    from raytrack.store.sample_store import SampleStore

    store = SampleStore(args.store)
    clips = [Clip.from_row(row, with_crops=False) for row in store.iter_rows(ids=args.ids)]
    settings = BaselineSettings(match=args.match, max_gap=args.max_gap, max_dist=args.max_dist)
    evaluation = evaluate_tracking(
        None, clips, TrackerSettings(), settings,
        iou_threshold=args.iou_threshold, distance_threshold=args.distance_threshold,
    )  # fmt: skip
    print(format_summary("baseline", evaluation.summary))
    return 0
