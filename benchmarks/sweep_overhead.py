"""Per-trial overhead of raytrack's two trial paths, and a sweep against bare Optuna, in one run.

    python benchmarks/sweep_overhead.py                 # the full run: ~8-10 min on 2 busy cores
    python benchmarks/sweep_overhead.py --repeats 1 --ddp-repeats 1 --sweep-repeats 1  # smoke

Part 1, per-trial overhead (``raytrack tune`` of a fixed lr grid, FIFO, one trial at a time, tiny
Exa.TrkX GNN: hidden 8, 1 graph iteration, 1-layer MLPs, on 8 simulated events of ~0.5k hits):
path (i) ``train.workers: 1`` (the loop runs inside the Tune trial) and path (ii)
``train.workers: 2`` (the trial drives a TorchTrainer with 2 DDP workers, gloo, 0.5 CPU each).
Each ``raytrack tune`` runs in a fresh process (its own local Ray, as a user would) through
``raytrack.cli.main``, with timing probes patched in from outside (raytrack is not edited):
a Tune callback in the driver; in the trial and Train worker processes, wrappers around
``run_trial``, ``_worker_loop``, ``run_training``, ``get_model``/``build``, ``build_optimizer``,
``save_checkpoint``, the sessions' ``rows``/``report`` and ``TorchTrainer.fit``, appending
``time.time()`` stamps to a JSON-lines file. Trials run back to back, so trial *k* occupies the
slot from the end of trial *k-1* (for the first: from the start of ``Tuner.fit``) to its own end
as the driver sees it. Overhead = slot - sum of the loop's ``epoch_time_s``. Two more runs of
path (ii) measure possible raytrack changes, patched in the same way: Ray Train's controller
polling every 0.25 s instead of 2 s with no preemption-watcher actor (``TRAIN_KNOBS``, set in the
environment), and on top of that each DDP worker reading its slice of the events straight from
the store with pyarrow instead of a Ray Data shard (``--direct-rows``).

Part 2, sweep wall time: the same sweep file (the quickstart scaled down: its model, store
settings and search on 48 events; 10 trials of at most 6 epochs; Optuna TPE + ASHA with grace
period 1 and reduction factor 2; 2 concurrent trials of 1 CPU) through ``python -m raytrack.cli tune`` (no probes), against bare Optuna: two worker processes
running ``study.optimize`` on one ``JournalStorage`` file with TPE and
``SuccessiveHalvingPruner`` (min_resource = grace_period, same reduction factor), each trial
running raytrack's loop through ``LocalSession`` (rows from ``store_row_source``) and reporting
the tuned metric every epoch with ``trial.report`` / ``should_prune``. Both sides are timed from
process spawn to exit; their CPU seconds are those of the whole process tree, sampled with
psutil every 0.25 s (and, as a cross-check, the reaped children's rusage).

Everything is written under ``benchmarks/_work/`` (git-ignored) and removed at the end except
the results JSON; Ray's session files go to a short temp dir (Unix socket paths are limited to
107 bytes) that is removed too.

This file holds the command line and the two parts; the rest is in sibling modules:
``sweep_overhead_probes.py`` (the timing probes), ``sweep_overhead_optuna.py`` (the bare-Optuna
side), ``sweep_overhead_experiments.py`` (the experiment files and trial paths),
``sweep_overhead_processes.py`` (monitored child processes), ``sweep_overhead_analysis.py``
(events to per-trial figures) and ``sweep_overhead_report.py`` (the tables).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The sibling modules below import raytrack only inside their functions.
from sweep_overhead_analysis import driver_phases, ray_process_starts, trial_breakdowns
from sweep_overhead_experiments import (
    SWEEP_CONCURRENCY,
    overhead_experiment,
    sweep_experiment,
    variants,
)
from sweep_overhead_optuna import child_optuna, child_optuna_worker
from sweep_overhead_probes import child_probed_tune
from sweep_overhead_processes import CORES, ROOT, child_env, keep_failure, run_child, uptime
from sweep_overhead_report import report

sys.path.insert(0, str(ROOT))


def part_overhead(args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    import yaml

    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    store = work / "overhead-store"
    generate_store(store, 8, seed=5, settings=SimulationSettings(rfactor=0.005))
    chosen = variants(args)
    runs: dict[str, list[dict[str, Any]]] = {v["key"]: [] for v in chosen}
    for repeat in range(max(v["repeats"] for v in chosen)):
        for variant in chosen:  # interleaved, so that load drift hits every path alike
            if repeat >= variant["repeats"]:
                continue
            name = f"{variant['key']}-r{repeat}"
            file = work / f"{name}.yaml"
            file.write_text(
                yaml.safe_dump(
                    overhead_experiment(
                        store, work / "results", variant["workers"], variant["trials"], args.epochs
                    )
                )
            )
            events = work / f"{name}.events.jsonl"
            print(
                f"part 1: {variant['label']}, repeat {repeat + 1}: {variant['trials']} trials ...",
                flush=True,
            )
            command = [
                sys.executable,
                __file__,
                "--child",
                "probed-tune",
                "--experiment",
                str(file),
                "--events",
                str(events),
                "--name",
                name,
            ]
            if variant.get("direct"):
                command.append("--direct-rows")
            proc = run_child(
                command, work / f"{name}.log", args.timeout, {**env, **variant.get("env", {})}
            )
            run: dict[str, Any] = {"repeat": repeat, **proc}
            try:
                parsed = [
                    json.loads(line) for line in events.read_text().splitlines() if line.strip()
                ]
                run["trials"] = trial_breakdowns(parsed)
                run["driver"] = driver_phases(parsed)
                run["ray_processes"] = ray_process_starts(parsed)
            except (OSError, ValueError, KeyError, IndexError, statistics.StatisticsError) as error:
                run["analysis_error"] = repr(error)
            failed = [t for t in run.get("trials", []) if "failed" in t]
            if proc["code"] != 0 or failed or "analysis_error" in run:
                keep_failure(work, name, run)
            print(
                f"  {proc['wall_s']:.1f} s; trial slots "
                + ", ".join(
                    f"{t['slot_s']:.1f}" if "slot_s" in t else "FAILED"
                    for t in run.get("trials", [])
                )
                + f" s {run.get('analysis_error', '')}",
                flush=True,
            )
            runs[variant["key"]].append(run)
    return {"labels": {v["key"]: v["label"] for v in chosen}, "runs": runs}


def part_sweep(args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    import pandas as pd
    import yaml

    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    store = work / "sweep-store"
    generate_store(store, args.sweep_events, seed=7, settings=SimulationSettings(rfactor=0.015))
    file = work / "sweep.yaml"
    file.write_text(yaml.safe_dump(sweep_experiment(store, work / "sweep-results", args)))
    runs: dict[str, list[dict[str, Any]]] = {"raytrack": [], "optuna": []}
    for repeat in range(args.sweep_repeats):
        for method in ("raytrack", "optuna") if repeat % 2 == 0 else ("optuna", "raytrack"):
            print(f"part 2: {method}, repeat {repeat + 1} ...", flush=True)
            if method == "raytrack":
                name = f"sweep-r{repeat}"
                command = [
                    sys.executable,
                    "-m",
                    "raytrack.cli",
                    "tune",
                    str(file),
                    "--name",
                    name,
                    "--verbose",
                    "0",
                ]
            else:
                folder = work / f"optuna-r{repeat}"
                folder.mkdir()
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    "optuna",
                    "--experiment",
                    str(file),
                    "--journal",
                    str(folder / "journal.log"),
                    "--work",
                    str(folder),
                    "--summary",
                    str(folder / "summary.json"),
                    "--concurrency",
                    str(SWEEP_CONCURRENCY),
                ]
            run: dict[str, Any] = {
                "repeat": repeat,
                **run_child(command, work / f"{method}-r{repeat}.log", args.timeout, env),
            }
            if run["code"] == 0 and method == "raytrack":
                trials = pd.read_csv(work / "sweep-results" / name / "trials.csv")
                history = pd.read_parquet(work / "sweep-results" / name / "history.parquet")
                status = trials["status"].value_counts().to_dict()
                run.update(
                    {
                        "trials": len(trials),
                        "completed": int(status.get("completed", 0)),
                        "pruned": int(status.get("stopped early", 0)),
                        "failed": int(status.get("error", 0)),
                        "best": float(trials["best_val_auc"].max()),
                        "epochs": len(history),
                        "epoch_time_s": float(history["epoch_time_s"].sum()),
                    }
                )
            elif run["code"] == 0:
                run.update(json.loads((folder / "summary.json").read_text()))
            if run["code"] != 0 or run.get("failed"):
                keep_failure(work, f"{method}-r{repeat}", run)
            run["utilisation"] = run["cpu_s"] / (run["wall_s"] * CORES)
            if "epoch_time_s" in run:  # the wall not explained by training in the 2 trial slots
                run["non_training_s"] = run["wall_s"] - run["epoch_time_s"] / SWEEP_CONCURRENCY
            print(
                f"  {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} CPU s, best {run.get('best')}",
                flush=True,
            )
            runs[method].append(run)
    return runs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="sweeps of path (i) (default 3)")
    parser.add_argument(
        "--trials", type=int, default=4, help="trials per path (i) sweep (default 4)"
    )
    parser.add_argument(
        "--ddp-repeats", type=int, default=2, help="sweeps of path (ii) (default 2)"
    )
    parser.add_argument(
        "--ddp-trials", type=int, default=3, help="trials per path (ii) sweep (default 3)"
    )
    parser.add_argument(
        "--variant-repeats",
        type=int,
        default=1,
        help="sweeps of each path (ii) variant with a possible raytrack change (default 1; 0: none)",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per part-1 trial (default 3)")
    parser.add_argument(
        "--sweep-repeats", type=int, default=3, help="part-2 runs of each side (default 3)"
    )
    parser.add_argument(
        "--sweep-trials", type=int, default=10, help="trials per part-2 sweep (default 10)"
    )
    parser.add_argument(
        "--sweep-epochs", type=int, default=6, help="max epochs per part-2 trial (default 6)"
    )
    parser.add_argument(
        "--sweep-events", type=int, default=48, help="events in the part-2 store (default 48)"
    )
    parser.add_argument(
        "--timeout", type=float, default=420, help="seconds per child process (default 420)"
    )
    parser.add_argument("--skip", choices=("overhead", "sweep"), help="leave one part out")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    for name in ("--experiment", "--events", "--name", "--journal", "--work", "--summary"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--direct-rows", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=2, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    children = {
        "probed-tune": child_probed_tune,
        "optuna": child_optuna,
        "optuna-worker": child_optuna_worker,
    }
    if args.child:
        return children[args.child](args)
    base = ROOT / "benchmarks" / "_work"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sweep_overhead-", dir=base))
    ray_tmp = Path(tempfile.mkdtemp(prefix="rtb-"))  # short: Ray's socket paths must fit 107 bytes
    env = child_env(ray_tmp)
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cores": CORES,
        "uptime_before": uptime(),
        "overhead": {},
        "sweep": {"raytrack": [], "optuna": []},
    }
    started = time.perf_counter()
    try:
        if args.skip != "overhead":
            results["overhead"] = part_overhead(args, work, env)
        results["uptime_between"] = uptime()
        if args.skip != "sweep":
            results["sweep"] = part_sweep(args, work, env)
    finally:
        results["uptime_after"] = uptime()
        results["total_s"] = time.perf_counter() - started
        (base / "sweep_overhead-last.json").write_text(json.dumps(results, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    text = report(results)
    (base / "sweep_overhead-last.md").write_text(text + "\n")
    print(
        f"\n{text}\n\ntotal {results['total_s']:.0f} s; results in {base}/sweep_overhead-last.{{json,md}}"
    )
    return 0


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt  # a SIGTERM kills the children's process trees and cleans up too


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())
