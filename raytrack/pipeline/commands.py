"""``raytrack infer`` and ``raytrack tracks``: chain trained stages, build and score tracks."""

from __future__ import annotations

import argparse

from raytrack.families.tracking.track_settings import TrackSettings


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    infer = subparsers.add_parser(
        "infer", help="run a trained stage over a store and write its output graphs as a new store"
    )
    infer.add_argument("checkpoint", help="checkpoint directory, or a sweep directory (its best)")
    infer.add_argument("source", help="input event store")
    infer.add_argument("destination", help="output event store (the next stage's data.store)")
    infer.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0 (default cpu)")
    infer.add_argument("--overwrite", action="store_true", help="replace an existing output store")
    infer.set_defaults(run=_infer)

    tracks = subparsers.add_parser(
        "tracks", help="build tracks with a trained GNN and evaluate them (efficiency, fakes, TrackML score)"
    )
    tracks.add_argument("checkpoint", help="GNN checkpoint directory, or its sweep directory")
    tracks.add_argument("store", help="event store the GNN reads (the filter's output store, ...)")
    default = TrackSettings()
    tracks.add_argument("--method", choices=("cc", "walkthrough"), default=default.method)
    tracks.add_argument("--edge-cut", type=float, help="cc: score cut (default: the GNN's edge_cut)")
    tracks.add_argument(
        "--score-cut-cc", type=float, default=default.score_cut_cc, help="walkthrough: edges kept at all"
    )
    tracks.add_argument(
        "--th-min", type=float, default=default.th_min, help="walkthrough: cut for a walk's best next edge"
    )
    tracks.add_argument(
        "--th-add", type=float, default=default.th_add, help="walkthrough: cut for following further edges"
    )
    tracks.add_argument("--pt-min", type=float, default=default.pt_min, help="reconstructable: pT above (GeV)")
    tracks.add_argument("--min-hits", type=int, default=default.min_hits, help="reconstructable: at least N hits")
    tracks.add_argument("--matching", choices=("two_way", "one_way", "ATLAS"), default=default.matching_style)
    tracks.add_argument("--events", nargs="*", type=int, help="event ids (default: all)")
    tracks.add_argument(
        "--truth-store", help="store with the complete events, when STORE holds selected hits only"
    )
    tracks.add_argument("--out", help="directory for tracks_per_event.csv and tracks_summary.json")
    tracks.add_argument("--device", default="cpu")
    tracks.set_defaults(run=_tracks)

    pipeline = subparsers.add_parser(
        "pipeline", help="sweep each stage of a pipeline file, chain their best models, build tracks"
    )
    pipeline.add_argument("pipeline", help="pipeline YAML (stages: experiment files in order)")
    pipeline.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS or local)")
    pipeline.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    pipeline.set_defaults(run=_pipeline)

    apply = subparsers.add_parser(
        "apply", help="run a trained pipeline (a `raytrack pipeline` directory) on another store"
    )
    apply.add_argument("pipeline_dir", help="directory of a finished `raytrack pipeline` run")
    apply.add_argument("store", help="event store to reconstruct (e.g. a converted TrackML event)")
    apply.add_argument("--out", required=True, help="directory for the stage stores and track results")
    apply.add_argument("--method", choices=("cc", "walkthrough"), help="default: the pipeline's")
    apply.add_argument("--device", default="cpu")
    apply.set_defaults(run=_apply)


def _infer(args: argparse.Namespace) -> int:
    from raytrack.pipeline.infer import infer_store

    store = infer_store(
        args.checkpoint, args.source, args.destination, device=args.device, overwrite=args.overwrite
    )
    counts = store.metadata["counts"]
    print(
        f"wrote {store.path}: {counts['events']} events, {counts['hits']} hits, "
        f"{counts['edges']} edges ({counts['edges'] / max(counts['events'], 1):.0f} per event)"
    )
    return 0


def _print_tracks(summary: dict, settings: object) -> None:
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


def _apply(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from raytrack.pipeline.apply import apply_pipeline

    record = json.loads((Path(args.pipeline_dir) / "pipeline.json").read_text())
    settings = TrackSettings(**(record["pipeline"].get("tracks") or {}))
    if args.method:
        settings = settings.model_copy(update={"method": args.method})
    evaluation = apply_pipeline(args.pipeline_dir, args.store, args.out, settings=settings, device=args.device)
    _print_tracks(evaluation.summary(), settings)
    print(f"written to {args.out}")
    return 0


def _tracks(args: argparse.Namespace) -> int:
    from raytrack.families.tracking.tracks import evaluate_tracks, write_evaluation

    settings = TrackSettings(
        method=args.method,
        edge_cut=args.edge_cut,
        score_cut_cc=args.score_cut_cc,
        th_min=args.th_min,
        th_add=args.th_add,
        pt_min=args.pt_min,
        min_hits=args.min_hits,
        matching_style=args.matching,
    )
    evaluation = evaluate_tracks(
        args.checkpoint,
        args.store,
        settings,
        event_ids=args.events,
        device=args.device,
        truth_store=args.truth_store,
    )
    _print_tracks(evaluation.summary(), settings)
    if args.out:
        print(f"written to {write_evaluation(evaluation, args.out)}")
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from raytrack.pipeline.runner import run_pipeline

    record = run_pipeline(args.pipeline, address=args.address, verbose=args.verbose)
    print(f"\npipeline directory {record['directory']}")
    for stage in record["stages"]:
        print(f"  {stage['stage']}: best {stage['metric']} = {stage['best_value']:.4g}")
    tracks = record.get("tracks")
    if tracks:
        print(
            f"tracks: efficiency {tracks['efficiency']:.4f}, fake rate {tracks['fake_rate']:.4f} "
            f"(purity fake rate {tracks['fake_rate_purity']:.4f}), "
            f"duplicate rate {tracks['duplicate_rate']:.4f}, TrackML score {tracks['trackml_score']:.4f} "
            f"({tracks['events']} events)"
        )
    return 0
