"""``raytrack tracks CHECKPOINT STORE``: the ``tracks`` evaluator with its settings as flags."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    from raytrack.families.tracking.track_settings import TrackSettings

    tracks = subparsers.add_parser(
        "tracks", help="build tracks with a trained edge classifier and evaluate them "
        "(efficiency, fakes, TrackML score)",
    )  # fmt: skip
    tracks.add_argument("checkpoint", help="GNN checkpoint directory, or its sweep directory")
    tracks.add_argument("store", help="store the GNN reads (the filter's output store, ...)")
    default = TrackSettings()
    tracks.add_argument("--method", choices=("cc", "walkthrough", "stage"), default=default.method,
                        help="connected components above --edge-cut, acorn's walk-through, or "
                             "the stage's own clusters (a model with a clustering block)")  # fmt: skip
    tracks.add_argument(
        "--edge-cut", type=float, help="cc: score cut (default: the GNN's edge_cut)"
    )
    tracks.add_argument("--score-cut-cc", type=float, default=default.score_cut_cc,
                        help="walkthrough: edges kept at all")  # fmt: skip
    tracks.add_argument("--th-min", type=float, default=default.th_min,
                        help="walkthrough: cut for a walk's best next edge")  # fmt: skip
    tracks.add_argument("--th-add", type=float, default=default.th_add,
                        help="walkthrough: cut for following further edges")  # fmt: skip
    tracks.add_argument("--pt-min", type=float, default=default.pt_min,
                        help="reconstructable particles: pT above (GeV)")  # fmt: skip
    tracks.add_argument("--min-hits", type=int, default=default.min_hits,
                        help="reconstructable particles and tracks: at least N hits")  # fmt: skip
    tracks.add_argument("--matching", choices=("two_way", "one_way", "ATLAS"), default=default.matching_style,
                        help="two_way: double majority (default)")  # fmt: skip
    tracks.add_argument("--events", nargs="*", type=int, help="event ids (default: all)")
    tracks.add_argument(
        "--truth-store", help="store with the complete events, when STORE holds selected hits only"
    )
    tracks.add_argument("--out", help="directory for tracks_summary.json and tracks_per_item.csv")
    tracks.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0 (default cpu)")
    tracks.set_defaults(run=_tracks)


def print_tracks(summary: dict[str, Any], settings: Any) -> None:
    print(
        f"{summary['events']} events, {settings.matching_style} matching, pT > {settings.pt_min} GeV, "
        f">= {settings.min_hits} hits:\n"
        f"  tracking efficiency {summary['efficiency']:.4f} "
        f"({summary['n_reconstructed_particles']}/{summary['n_particles']} particles)\n"
        f"  fake rate           {summary['fake_rate']:.4f} "
        f"({summary['n_tracks'] - summary['n_matched_tracks']}/{summary['n_tracks']} tracks not "
        f"{settings.matching_style}-matched; {summary['fake_rate_purity']:.4f} with purity <= 50%)\n"
        f"  duplicate rate      {summary['duplicate_rate']:.4f}\n"
        f"  TrackML score       {summary['trackml_score']:.4f} (mean over events)"
    )


def _tracks(args: argparse.Namespace) -> int:
    from raytrack.families.tracking.track_settings import TrackSettings
    from raytrack.pipeline.evaluate import evaluate_checkpoint

    settings = TrackSettings(
        method=args.method, edge_cut=args.edge_cut, score_cut_cc=args.score_cut_cc,
        th_min=args.th_min, th_add=args.th_add, pt_min=args.pt_min, min_hits=args.min_hits,
        matching_style=args.matching,
    )  # fmt: skip
    _, evaluation = evaluate_checkpoint(
        args.checkpoint, args.store, evaluator="tracks", settings=settings.model_dump(),
        ids=args.events, device=args.device, reference=args.truth_store,
    )  # fmt: skip
    print_tracks(evaluation.summary, settings)
    if args.out:
        print(f"written to {evaluation.write(args.out, prefix='tracks')}")
    return 0
