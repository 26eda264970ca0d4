"""``raytrack infer | evaluate | pipeline | apply``: chain trained stages and judge them."""

from __future__ import annotations

import argparse
from typing import Any

from raytrack.errors import UserError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    infer = subparsers.add_parser(
        "infer", help="run a trained stage over a store and write its output as a new store"
    )
    infer.add_argument("checkpoint", help="checkpoint directory, or a sweep directory (its best)")
    infer.add_argument("source", help="input sample store")
    infer.add_argument("destination", help="output sample store (the next stage's data.store)")
    infer.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0 (default cpu)")
    infer.add_argument("--overwrite", action="store_true", help="replace an existing output store")
    infer.set_defaults(run=_infer)

    evaluate = subparsers.add_parser(
        "evaluate", help="judge a trained model on a store with an evaluator of its family"
    )
    evaluate.add_argument(
        "checkpoint", help="checkpoint directory, or a sweep directory (its best)"
    )
    evaluate.add_argument("store", help="sample store the model reads")
    evaluate.add_argument("--evaluator", help="evaluator name (default: the model's first)")
    evaluate.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="an evaluator setting, the value in YAML (repeatable)",
    )  # fmt: skip
    evaluate.add_argument("--ids", nargs="*", type=int, help="sample ids (default: all)")
    evaluate.add_argument(
        "--reference", help="store of the complete samples, when STORE is a later stage's output"
    )
    evaluate.add_argument("--out", help="directory for <evaluator>_summary.json and per-item CSV")
    evaluate.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0 (default cpu)")
    evaluate.set_defaults(run=_evaluate)

    pipeline = subparsers.add_parser(
        "pipeline", help="sweep each stage of a pipeline file, chain their best models, evaluate"
    )
    pipeline.add_argument("pipeline", help="pipeline YAML (stages: experiment files in order)")
    pipeline.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS or local)")
    pipeline.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="0 quiet, 1 live progress lines (default), 2 also Ray Tune's own tables",
    )
    pipeline.set_defaults(run=_pipeline)

    apply = subparsers.add_parser(
        "apply", help="run a trained pipeline (a `raytrack pipeline` directory) on another store"
    )
    apply.add_argument("pipeline_dir", help="directory of a finished `raytrack pipeline` run")
    apply.add_argument("store", help="store to reconstruct (e.g. a converted TrackML event)")
    apply.add_argument(
        "--out", required=True, help="directory for the stage stores and the evaluation"
    )
    apply.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override an evaluator setting of the pipeline (repeatable)",
    )  # fmt: skip
    apply.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0 (default cpu)")
    apply.set_defaults(run=_apply)


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs, values parsed as YAML."""
    import yaml

    settings: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r}: expected NAME=VALUE")
        settings[key.strip()] = yaml.safe_load(value)
    return settings


def _infer(args: argparse.Namespace) -> int:
    from raytrack.pipeline.infer import infer_store

    store = infer_store(
        args.checkpoint, args.source, args.destination, device=args.device, overwrite=args.overwrite
    )
    counts = ", ".join(f"{value} {key}" for key, value in store.counts.items())
    print(f"wrote {store.path}: {counts}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from raytrack.pipeline.evaluate import evaluate_checkpoint, format_summary

    name, evaluation = evaluate_checkpoint(
        args.checkpoint, args.store, evaluator=args.evaluator, settings=parse_settings(args.set),
        ids=args.ids, device=args.device, reference=args.reference,
    )  # fmt: skip
    print(format_summary(name, evaluation.summary))
    if args.out:
        print(f"written to {evaluation.write(args.out, prefix=name)}")
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from raytrack.pipeline.evaluate import format_summary
    from raytrack.pipeline.runner import run_pipeline

    record = run_pipeline(args.pipeline, address=args.address, verbose=args.verbose)
    print(f"\npipeline directory {record['directory']}")
    for stage in record["stages"]:
        print(f"  {stage['stage']}: best {stage['metric']} = {stage['best_value']:.4g}")
    evaluation = record.get("evaluation")
    if evaluation:
        print(
            format_summary(
                f"{evaluation['evaluator']} on the {evaluation['samples']} samples",
                evaluation["summary"],
            )
        )
    return 0


def _apply(args: argparse.Namespace) -> int:
    from raytrack.pipeline.apply import apply_pipeline, pipeline_record
    from raytrack.pipeline.evaluate import format_summary

    settings = dict(
        (pipeline_record(args.pipeline_dir)["pipeline"].get("evaluate") or {}).get("settings") or {}
    )
    settings.update(parse_settings(args.set))
    name, evaluation = apply_pipeline(
        args.pipeline_dir, args.store, args.out, settings=settings, device=args.device
    )
    print(format_summary(name, evaluation.summary))
    print(f"written to {args.out}")
    return 0
