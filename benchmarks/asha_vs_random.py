"""ASHA against full-budget random search: the same trials, the same seeds, the compute each uses.

    python benchmarks/asha_vs_random.py                    # Exa.TrkX space, seeds 0 1 2
    python benchmarks/asha_vs_random.py --quick            # a smoke run, written under _work

For every seed the space (``--config``, default ``benchmarks/configs/asha_exatrkx.yaml``: 32
trials of up to 16 epochs) is swept twice with ``raytrack tune``: once with random search to the
full budget (``tune.scheduler.name: fifo``) and once with random search under ASHA (the file's
``tune.scheduler``). ``tune.seed`` fixes which configurations random search samples and
``train.seed`` each trial's initialisation and data order, so both arms train the same trials and
a trial ASHA lets finish ends where the full-budget arm's copy ends. Per arm and seed: the
trial-epochs run (the compute), the wall time and the best validation metric; then whether ASHA
reached random's best and with what fraction of random's trial-epochs (the target: <= 25%).
``--set`` passes settings to both arms (e.g. ``--set tune.scheduler.grace_period=2``).
Writes ``benchmarks/results/asha_vs_random[_<space>].json`` / ``.md`` (``--quick``: under
``benchmarks/_work``); ``--config benchmarks/configs/asha_hypertrack.yaml`` runs HyperTrack's
``ncell`` space.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from result_files import machine, write_result  # noqa: E402

CONFIG = ROOT / "benchmarks" / "configs" / "asha_exatrkx.yaml"
QUICK = ["tune.num_samples=3", "train.max_epochs=2", "data.generate.events=8"]
SECONDS = "benchmark_seconds.json"  # an arm's wall time, beside its sweep's result files
TOLERANCE = 1e-6
"""ASHA 'reaches' random's best when within this of it: both arms train the same trial
identically, so a trial that runs to the end reaches the same value (to float noise)."""


def sweep(config: Path, work: Path, arm: str, seed: int, sets: list[str], keep: bool) -> dict:
    """One ``raytrack tune``; the sweep's trials and its wall time (``keep``: an arm that has
    finished in ``work`` before is read, not run again)."""
    run = work / f"{arm}-seed{seed}"
    if keep and (run / "trials.csv").exists() and (run / SECONDS).exists():
        return {**json.loads((run / SECONDS).read_text()), **trials_of(run)}
    arm_sets = [f"storage={work}", f"tune.seed={seed}", f"train.seed={seed}",
                "tune.searcher=random", *sets]  # fmt: skip
    if arm == "random":
        arm_sets.append("tune.scheduler.name=fifo")
    command = [sys.executable, "-m", "raytrack.cli", "tune", str(config), "--name", run.name,
               "--overwrite", "--verbose", "0", *(a for s in arm_sets for a in ("--set", s))]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    (run / SECONDS).write_text(json.dumps({"seconds": seconds}))
    return {"seconds": seconds, **trials_of(run)}


def trials_of(run: Path) -> dict:
    """Per trial (by its sampled configuration): epochs run and best metric."""
    experiment = sweep_experiment(run)
    metric = experiment["tune"]["metric"]
    trials = pd.read_csv(run / "trials.csv")
    searched = sorted(c for c in trials.columns if c.startswith("config/"))
    rows = {}
    for _, row in trials.iterrows():
        key = "; ".join(f"{c}={row[c]}" for c in searched)
        rows[key] = {"epochs": int(row["epochs"]), "best": float(row[f"best_{metric}"])}
    return {"metric": metric, "mode": experiment["tune"]["mode"], "trials": rows}


def earlier_random(work: Path, seed: int) -> dict:
    """The full-budget arm of ``seed`` in an earlier run's work directory, waiting for it when
    that run is still sweeping; its wall time from that run's result file when written."""
    run = work / f"random-seed{seed}"
    while not (run / "trials.csv").exists():
        time.sleep(20)
    time.sleep(5)  # the sweep's other result files are written with it
    seconds = (
        json.loads((run / SECONDS).read_text())["seconds"] if (run / SECONDS).exists() else math.nan
    )
    return {"seconds": seconds, **trials_of(run)}


def sweep_experiment(run: Path) -> dict:
    """The experiment the sweep ran, as ``raytrack tune`` saved it (its ``--set`` applied)."""
    return json.loads((run / "sweep.json").read_text())["experiment"]


def compare(random: dict, asha: dict) -> dict:
    """The figures of one seed: compute, wall time, best metric, and whether ASHA reached it."""
    sign = 1.0 if random["mode"] == "max" else -1.0
    best_random = max((t["best"] for t in random["trials"].values()), key=lambda v: sign * v)
    best_asha = max((t["best"] for t in asha["trials"].values()), key=lambda v: sign * v)
    epochs_random = sum(t["epochs"] for t in random["trials"].values())
    epochs_asha = sum(t["epochs"] for t in asha["trials"].values())
    full = max(t["epochs"] for t in random["trials"].values())
    return {
        "same_trials": sorted(random["trials"]) == sorted(asha["trials"]),
        "trials": len(random["trials"]),
        "trial_epochs_random": epochs_random,
        "trial_epochs_asha": epochs_asha,
        "epoch_fraction": epochs_asha / epochs_random,
        "seconds_random": random["seconds"],
        "seconds_asha": asha["seconds"],
        "wall_fraction": asha["seconds"] / random["seconds"],
        "best_random": best_random,
        "best_asha": best_asha,
        "reached": sign * (best_asha - best_random) >= -TOLERANCE,
        "asha_full_budget_trials": sum(t["epochs"] >= full for t in asha["trials"].values()),
        "asha_stopped_at": sorted(t["epochs"] for t in asha["trials"].values()),
    }


def markdown(result: dict) -> str:
    s, rows = result["summary"], result["seeds"]
    lines = [
        f"# ASHA against full-budget random search{' (quick)' if result['quick'] else ''}", "",
        f"`{result['command']}` on {result['machine']}; load before/after: "
        f"{result['load_before']} / {result['load_after']}.", "",
        f"Space: `{result['config']}` ({rows[0]['trials']} trials, up to {result['max_epochs']} "
        f"epochs), ASHA {result['scheduler']}; metric {result['metric']}.", "",
        "| seed | trial-epochs random | trial-epochs ASHA | ASHA / random | wall s random | "
        "wall s ASHA | best random | best ASHA | reached |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['trial_epochs_random']} | {r['trial_epochs_asha']} | "
            f"{r['epoch_fraction']:.3f} | {r['seconds_random']:.0f} | {r['seconds_asha']:.0f} | "
            f"{r['best_random']:.4f} | {r['best_asha']:.4f} | {'yes' if r['reached'] else 'no'} |"
        )
    lines += ["", f"Mean ASHA / random trial-epochs {s['epoch_fraction'][0]:.3f} ± "
              f"{s['epoch_fraction'][1]:.3f} (wall time {s['wall_fraction'][0]:.3f} ± "
              f"{s['wall_fraction'][1]:.3f}); ASHA reached random's best in {s['reached']} of "
              f"{len(rows)} seeds (target: reached with <= 0.25 of the trial-epochs)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def summarize(rows: list[dict]) -> dict:
    out = {k: [float(np.mean([r[k] for r in rows])), float(np.std([r[k] for r in rows]))]
           for k in ("epoch_fraction", "wall_fraction")}  # fmt: skip
    out["reached"] = sum(r["reached"] for r in rows)
    return out


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG, help="the space (see the configs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--quick", action="store_true", help="a smoke run (about a minute)")
    parser.add_argument(
        "--random-from", type=Path, metavar="WORK",
        help="take the full-budget arm from this earlier run's work directory (it does not "
        "depend on ASHA's settings) and run only ASHA",
    )  # fmt: skip
    parser.add_argument("--keep-finished", action="store_true",
                        help="read the arms that finished in the work directory instead of "
                        "running them again (an interrupted run goes on)")  # fmt: skip
    parser.add_argument("--parallel", type=int, default=1, help="seeds swept at once")
    parser.add_argument("--name", help="result file stem (default asha_vs_random[_quick])")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results (--quick: _work)")
    args = parser.parse_args()
    args.config = args.config.resolve()
    sets = list(args.sets)
    if args.quick:  # its own small store, so that the full run's stays as it is
        store = f"data.store=~/.cache/raytrack/stores/{args.config.stem}-quick-v1"
        sets = [*QUICK, store, *sets]
    space = "" if args.config == CONFIG else "_" + args.config.stem.removeprefix("asha_")
    stem = args.name or f"asha_vs_random{space}{'_quick' if args.quick else ''}"
    work = ROOT / "benchmarks" / "_work" / stem
    before = load()

    def one_seed(seed: int) -> dict:
        if args.random_from:
            random = earlier_random(args.random_from.resolve(), seed)
        else:
            random = sweep(args.config, work, "random", seed, sets, args.keep_finished)
        asha = sweep(args.config, work, "asha", seed, sets, args.keep_finished)
        row = {"seed": seed, **compare(random, asha)}
        print(row, flush=True)
        return row

    with ThreadPoolExecutor(args.parallel) as pool:  # each sweep is its own process
        rows = list(pool.map(one_seed, args.seeds))
    experiment = sweep_experiment(work / f"asha-seed{args.seeds[0]}")
    result = {
        "command": " ".join(["python benchmarks/asha_vs_random.py", *sys.argv[1:]]),
        "random_from": str(args.random_from) if args.random_from else None,
        "machine": machine(), "quick": args.quick, "config": str(args.config.relative_to(ROOT)),
        "metric": experiment["tune"]["metric"], "max_epochs": experiment["train"]["max_epochs"],
        "scheduler": experiment["tune"]["scheduler"], "load_before": before, "load_after": load(),
        "seeds": rows, "summary": summarize(rows),
    }  # fmt: skip
    out = args.out or ROOT / "benchmarks" / ("_work" if args.quick else "results")
    write_result(out, stem, result, markdown(result))


if __name__ == "__main__":
    main()
