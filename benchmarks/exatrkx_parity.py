"""Exa.TrkX before and after a platform change: fixed runs to the last digit, sweeps within noise.

    python benchmarks/exatrkx_parity.py --label after
    git worktree add /tmp/before <commit>
    python benchmarks/exatrkx_parity.py --label before --tree /tmp/before
    python benchmarks/exatrkx_parity.py --compare benchmarks/results/exatrkx_parity_before.json \
        benchmarks/results/exatrkx_parity_after.json

Runs only the command line (``python -m raytrack.cli``), so the same script measures any
version of raytrack: ``--tree`` puts that checkout first on ``PYTHONPATH``. Three measurements:

1. **Fixed runs** (``benchmarks/parity/*.yaml``, ``raytrack train``, one worker, fixed seeds):
   the interaction GNN, the metric-learning embedding, and the filter on the graphs that
   ``raytrack infer`` writes with the embedding's checkpoint. Every reported metric of every
   epoch is recorded; ``--compare`` demands equality to the last digit.
2. **The quickstart sweep** (``search_spaces/quickstart.yaml``, 8 Optuna trials with ASHA): best
   and worst ``val_auc`` and the trials ASHA stopped (``--quickstart``).
3. **The smoke pipeline** (``pipelines/exatrkx_smoke.yaml``): track efficiency, fake rates and
   TrackML score on its test events (``--pipeline``).

Each tree simulates its own stores under ``--workdir/<label>``, so the simulator is compared too.
The results go to ``benchmarks/results/exatrkx_parity_<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PARITY = ROOT / "benchmarks" / "parity"
RESULTS = ROOT / "benchmarks" / "results"
REPORTED = ("epoch", "train_loss", "lr", "train_items")


def raytrack(args: list[str], *, tree: Path | None, cwd: Path) -> float:
    """Run ``raytrack ARGS`` with ``tree`` first on the path; its wall time in seconds."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline"}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "raytrack.cli", *args], cwd=cwd, env=env, text=True,
        capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(
            f"raytrack {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return time.perf_counter() - start


def placed(template: Path, work: Path, out: Path) -> Path:
    """``template`` with its STORE_ROOT and RESULTS placeholders set, written into ``work``."""
    text = template.read_text().replace("STORE_ROOT", str(work / "stores"))
    out.write_text(text.replace("RESULTS", str(work / "results")))
    return out


def history(sweep: Path) -> list[dict[str, Any]]:
    """Every reported epoch of the single trial of ``sweep``: the loop's metrics only."""
    frame = pd.read_csv(sweep / "history.csv")
    columns = [c for c in frame.columns if c in REPORTED or c.startswith("val_")]
    return frame[columns].sort_values("epoch").to_dict("records")


def fixed_runs(tree: Path | None, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("gnn", "embedding"):
        file = placed(PARITY / f"{name}_fixed.yaml", work, work / f"{name}_fixed.yaml")
        seconds = raytrack(
            ["train", str(file), "--name", f"parity_{name}", "--verbose", "0"], tree=tree, cwd=work
        )
        out[name] = {
            "wall_s": round(seconds, 1),
            "history": history(work / "results" / f"parity_{name}"),
        }
    graphs = work / "stores" / "parity-embedding-graphs"
    seconds = raytrack(
        ["infer", str(work / "results" / "parity_embedding"), str(work / "stores" / "parity-embedding"),
         str(graphs), "--overwrite"],
        tree=tree, cwd=work,
    )  # fmt: skip
    meta = json.loads((graphs / "meta.json").read_text())
    out["embedding_infer"] = {"wall_s": round(seconds, 1), "counts": meta["counts"]}
    file = placed(PARITY / "filter_fixed.yaml", work, work / "filter_fixed.yaml")
    seconds = raytrack(
        ["train", str(file), "--name", "parity_filter", "--verbose", "0"], tree=tree, cwd=work
    )
    out["filter"] = {
        "wall_s": round(seconds, 1),
        "history": history(work / "results" / "parity_filter"),
    }
    return out


def quickstart(tree: Path | None, work: Path) -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "search_spaces" / "quickstart.yaml").read_text())
    spec["data"]["store"] = str(work / "stores" / "quickstart")
    spec["storage"] = str(work / "results")
    file = work / "quickstart.yaml"
    file.write_text(yaml.safe_dump(spec, sort_keys=False))
    seconds = raytrack(
        ["tune", str(file), "--name", "quickstart", "--verbose", "0"], tree=tree, cwd=work
    )
    trials = pd.read_csv(work / "results" / "quickstart" / "trials.csv")
    return {
        "wall_s": round(seconds, 1),
        "best_val_auc": float(trials["best_val_auc"].max()),
        "worst_val_auc": float(trials["best_val_auc"].min()),
        "stopped_early": int((trials["status"] == "stopped early").sum()),
        "trial_epochs": int(trials["epochs"].sum()),
    }


def pipeline(tree: Path | None, work: Path, file: Path) -> dict[str, Any]:
    spec = yaml.safe_load(file.read_text())
    spec["stages"] = [str((file.parent / stage).resolve()) for stage in spec["stages"]]
    first = yaml.safe_load(Path(spec["stages"][0]).read_text())
    spec["data"] = {**spec.get("data", {}), "store": str(work / "stores" / f"{spec['name']}-first")}
    if "generate" not in spec["data"] and first["data"].get("generate"):
        spec["data"]["generate"] = first["data"]["generate"]
    spec["storage"] = str(work / "results")
    placed_file = work / f"{spec['name']}.yaml"
    placed_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    seconds = raytrack(["pipeline", str(placed_file), "--verbose", "0"], tree=tree, cwd=work)
    runs = sorted((work / "results").glob(f"{spec['name']}-*/pipeline.json"))
    record = json.loads(runs[-1].read_text())
    evaluation = record.get("evaluation", record.get("tracks"))
    summary = evaluation.get("summary", evaluation) if isinstance(evaluation, dict) else evaluation
    return {
        "wall_s": round(seconds, 1),
        "stages": {s["stage"]: s["best_value"] for s in record["stages"]},
        "tracks": summary,
    }


def compare(before_file: Path, after_file: Path) -> int:
    before, after = (json.loads(Path(f).read_text()) for f in (before_file, after_file))
    status = 0
    for name in ("gnn", "embedding", "filter"):
        b, a = before["fixed"][name]["history"], after["fixed"][name]["history"]
        same = b == a
        status |= not same
        print(f"fixed {name}: {len(a)} epochs, every metric {'identical' if same else 'DIFFERENT'}")
        if not same:
            for eb, ea in zip(b, a):
                diff = {
                    k: (eb.get(k), ea.get(k)) for k in set(eb) | set(ea) if eb.get(k) != ea.get(k)
                }
                print(f"  epoch {ea.get('epoch')}: {diff}")
    for part in ("quickstart", "pipeline"):
        if part in before and part in after:
            print(f"{part}: before {before[part]}\n{' ' * len(part)}  after  {after[part]}")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", help="name of this measurement (results file suffix)")
    parser.add_argument(
        "--tree", type=Path, help="raytrack checkout to measure (default: this one)"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_work" / "parity")
    parser.add_argument("--no-fixed", action="store_true", help="skip the fixed runs")
    parser.add_argument("--quickstart", action="store_true", help="also run the quickstart sweep")
    parser.add_argument("--pipeline", type=Path, help="also run this pipeline file")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if not args.label:
        parser.error("--label is required to measure")
    work = (args.workdir / args.label).resolve()
    work.mkdir(parents=True, exist_ok=True)
    tree = args.tree.resolve() if args.tree else None
    commit = subprocess.run(
        ["git", "-C", str(tree or ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    out_file = RESULTS / f"exatrkx_parity_{args.label}.json"
    record: dict[str, Any] = json.loads(out_file.read_text()) if out_file.is_file() else {}
    record.update({"label": args.label, "commit": commit, "date": time.strftime("%Y-%m-%d")})
    if not args.no_fixed:
        record["fixed"] = fixed_runs(tree, work)
    if args.quickstart:
        record["quickstart"] = quickstart(tree, work)
    if args.pipeline:
        record["pipeline"] = pipeline(tree, work, args.pipeline.resolve())
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
