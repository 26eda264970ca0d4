"""HyperTrack's progressive transfer learning against training from scratch, at the last step.

    python benchmarks/hypertrack_transfer.py            # ~60 min on the 2-CPU box
    python benchmarks/hypertrack_transfer.py --quick    # a smoke run, written under benchmarks/_work

The steps are those of ``pipelines/hypertrack_transfer.yaml`` (rfactor 0.005 → 0.01 → 0.02,
``ncell`` 256 → 512 → 1024), each trained with ``raytrack train`` at the step file's fixed
learning rate (its search left out, so that both arms train exactly one model per seed):

- transfer: step 1, then step 2 from step 1's best checkpoint, then step 3 from step 2's
  (``train.init_from``, what the pipeline's ``init_from: previous`` resolves to);
- scratch: step 3 alone from a fresh initialisation.

At the last step both arms get the same compute (the step file's epochs on the same events);
the transfer arm has also spent steps 1 and 2, whose cost is reported beside it. Per seed
(``train.seed``: weight initialisation and data order): the step-3 validation edge AUC, cut-
clustering efficiency and TrackML score after each epoch (the run's ``history.csv``), and the
wall time of every step. Writes ``benchmarks/results/hypertrack_transfer{_quick}.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from result_files import machine, write_result  # noqa: E402

STEPS = [ROOT / "pipelines" / "hypertrack_transfer" / f"step{k}.yaml" for k in (1, 2, 3)]
METRICS = ("val_auc", "val_cluster_efficiency", "val_trackml_score")
QUICK = ["data.generate.events=8", "train.max_epochs=2"]


def train(step: Path, run: Path, seed: int, init_from: Path | None, quick: bool) -> float:
    """``raytrack train`` of one step file; its wall time in seconds."""
    sets = [f"storage={run.parent}", f"train.seed={seed}", "search={}",
            f"train.init_from={init_from if init_from else 'null'}", *(QUICK if quick else [])]  # fmt: skip
    if quick:  # its own small stores, so that the full run's stay as they are
        sets.append(f"data.store=~/.cache/raytrack/stores/hypertrack-transfer-quick-{step.stem}")
    command = [sys.executable, "-m", "raytrack.cli", "train", str(step), "--name", run.name,
               "--overwrite", "--verbose", "0", *(a for s in sets for a in ("--set", s))]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def curves(run: Path) -> dict[str, list[float]]:
    """The run's validation metrics after each epoch."""
    history = pd.read_csv(run / "history.csv")
    return {m: [float(v) for v in history[m]] for m in METRICS if m in history}


def one_seed(work: Path, seed: int, quick: bool) -> dict:
    seconds, previous = {}, None
    for k, step in enumerate(STEPS, start=1):
        run = work / f"transfer-seed{seed}-step{k}"
        seconds[f"transfer_step{k}"] = train(step, run, seed, previous, quick)
        previous = run
    scratch = work / f"scratch-seed{seed}-step3"
    seconds["scratch_step3"] = train(STEPS[-1], scratch, seed, None, quick)
    return {"seed": seed, "seconds": seconds, "transfer": curves(previous),
            "scratch": curves(scratch)}  # fmt: skip


def summary(seeds: list[dict]) -> dict:
    """Per arm and metric: the final and best value, mean and spread over seeds."""
    out: dict = {}
    for arm in ("transfer", "scratch"):
        for metric in METRICS:
            final = [s[arm][metric][-1] for s in seeds if metric in s[arm]]
            first = [s[arm][metric][0] for s in seeds if metric in s[arm]]
            out[f"{arm}_{metric}_final"] = [float(np.mean(final)), float(np.std(final))]
            out[f"{arm}_{metric}_first_epoch"] = [float(np.mean(first)), float(np.std(first))]
    for key in seeds[0]["seconds"]:
        out[f"seconds_{key}"] = float(np.mean([s["seconds"][key] for s in seeds]))
    return out


def markdown(result: dict) -> str:
    s = result["summary"]
    lines = [
        f"# HyperTrack: transfer against scratch at step 3{' (quick)' if result['quick'] else ''}",
        "", f"`{result['command']}` on {result['machine']}; seeds {result['seeds']}; mean ± std.", "",
        "| arm | metric | after epoch 1 | final |", "|---|---|---:|---:|",
    ]  # fmt: skip
    for arm in ("transfer", "scratch"):
        for metric in METRICS:
            a, b = s[f"{arm}_{metric}_first_epoch"], s[f"{arm}_{metric}_final"]
            lines.append(
                f"| {arm} | {metric} | {a[0]:.3f} ± {a[1]:.3f} | {b[0]:.3f} ± {b[1]:.3f} |"
            )
    lines += ["", "| wall time (s, mean) | step 1 | step 2 | step 3 |", "|---|---:|---:|---:|",
              f"| transfer | {s['seconds_transfer_step1']:.0f} | {s['seconds_transfer_step2']:.0f} "
              f"| {s['seconds_transfer_step3']:.0f} |",
              f"| scratch | — | — | {s['seconds_scratch_step3']:.0f} |"]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work", type=Path, help="default: benchmarks/_work/transfer[_quick]")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results (--quick: _work)")
    args = parser.parse_args()
    args.out = args.out or ROOT / "benchmarks" / ("_work" if args.quick else "results")
    args.work = args.work or ROOT / "benchmarks" / "_work" / (
        "transfer" + ("_quick" if args.quick else "")
    )
    seeds = [0] if args.quick else args.seeds
    started = time.perf_counter()
    per_seed = [one_seed(args.work, seed, args.quick) for seed in seeds]
    command = "python benchmarks/hypertrack_transfer.py" + (" --quick" if args.quick else "")
    if not args.quick and args.seeds != [0, 1, 2]:
        command += " --seeds " + " ".join(map(str, args.seeds))
    result = {
        "command": command,
        "quick": args.quick,
        "steps": [str(p.relative_to(ROOT)) for p in STEPS],
        "overrides": ["search={}", "train.seed=<seed>", *(QUICK if args.quick else [])],
        "seeds": seeds,
        "machine": machine(),
        "wall_seconds": time.perf_counter() - started,
        "summary": summary(per_seed),
        "per_seed": per_seed,
    }
    write_result(
        args.out, "hypertrack_transfer" + ("_quick" if args.quick else ""), result, markdown(result)
    )


if __name__ == "__main__":
    main()
