"""Sweep overhead: a raytrack sweep against bare Optuna on the same trials, and where the time goes.

Three sweeps of the same file (the quickstart scaled down: its model settings and search space,
fewer events; Optuna TPE + ASHA, ``--concurrency`` trials at a time), each in its own process,
interleaved in every repeat so the machine's load hits them alike:

- ``raytrack``: ``raytrack tune`` with its loggers off;
- ``raytrack+loggers``: the same with W&B (offline) and MLflow (SQLite) on;
- ``optuna``: bare Optuna, TPE + ``SuccessiveHalvingPruner`` (min resource = ASHA's grace
  period, same reduction factor), ``--concurrency`` worker processes on one journal file, each
  running raytrack's training loop (``LocalSession``) and reporting every epoch.

Each side's wall time counts from the process start to its exit (Ray's start and shutdown
included); core use = the CPU seconds of the whole process tree (sampled with psutil) / (wall
time x ``--concurrency``). The raytrack sweeps run with the probe hook
(``RAYTRACK_PROBE=raytrack.probe:write_jsonl``, :mod:`raytrack.probe`), whose events give each
phase's cost per sweep and per trial. Writes ``benchmarks/results/sweep_overhead[_quick].json``
and its table page ``.md``::

    python benchmarks/sweep_overhead.py           # 10 trials, <= 6 epochs, 48 events, best of 3
    python benchmarks/sweep_overhead.py --quick   # 4 trials, <= 2 epochs, 16 events, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "sweep_overhead"
RESULTS = ROOT / "benchmarks" / "results"
SIDES = ("raytrack", "raytrack+loggers", "optuna")
MODEL = {"hidden": 16, "nb_node_layer": 2, "nb_edge_layer": 2, "n_graph_iters": 2,
         "layernorm": True, "edge_cut": 0.5}  # fmt: skip


def experiment(store: Path, storage: Path, args: argparse.Namespace, loggers: bool) -> dict:
    """The quickstart scaled down: its model settings, store options and search, fewer events."""
    return {
        "name": "sweep-bench",
        "model": {"name": "exatrkx_gnn", "hparams": MODEL},
        "data": {"store": str(store), "split": [0.75, 0.25, 0.0],
                 "options": {"pt_signal_cut": 1.0, "noise": False, "true_edges": "layerwise"}},
        "train": {"max_epochs": args.epochs, "batch_size": 2, "warmup": 5, "cpus_per_worker": 1,
                  "optimizer": {"name": "adamw", "lr": 0.003}},
        "search": {"train.optimizer.lr": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
                   "hidden": {"choices": [8, 16, 32]}, "n_graph_iters": {"low": 1, "high": 4},
                   "aggregation": {"choices": ["sum", "max", "sum_max"]}},
        "tune": {"metric": "val_auc", "mode": "max", "num_samples": args.trials,
                 "searcher": "optuna", "seed": 7, "max_concurrent_trials": args.concurrency,
                 "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2}},
        "logging": {"wandb": {"enabled": loggers, "project": "sweep-bench", "mode": "offline"},
                    "mlflow": {"enabled": loggers}},
        "storage": str(storage),
    }  # fmt: skip


# ---- the children: one sweep each ----------------------------------------------------------


def child_raytrack(file: str) -> int:
    from raytrack.cli import main

    return main(["tune", file, "--name", "bench", "--verbose", "0"])


def child_optuna(file: str, journal: str, concurrency: int) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="bench", storage=_journal(journal), direction="maximize")
    workers = [subprocess.Popen([sys.executable, __file__, "--child", "optuna-worker", file,
                                 journal, str(i)]) for i in range(concurrency)]  # fmt: skip
    codes = [worker.wait() for worker in workers]
    study = optuna.load_study(study_name="bench", storage=_journal(journal))
    epochs = [t for trial in study.trials for t in trial.user_attrs.get("epoch_time_s", [])]
    values = [v for trial in study.trials for v in trial.intermediate_values.values()]
    Path(journal).with_suffix(".json").write_text(json.dumps({
        "trials": len(study.trials), "epochs": len(epochs), "epoch_time_s": sum(epochs),
        "best": max(values) if values else None,
        "pruned": sum(t.state.name == "PRUNED" for t in study.trials)}))  # fmt: skip
    return max(codes)


def _journal(path: str) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path))


def child_optuna_worker(file: str, journal: str, index: int) -> int:
    import optuna

    from raytrack.config import apply_trial_config, load_experiment
    from raytrack.config.search import encode_choice, searched
    from raytrack.data.build import open_store, splits_of
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exp = load_experiment(file)
    store = open_store(exp)
    source = store_row_source(str(store.path), splits_of(exp.data, store).as_dict())
    specs = [(target.canonical, spec) for _, target, spec in searched(exp)]

    def suggest(trial: Any, name: str, spec: Any) -> Any:  # as Ray's OptunaSearch translates them
        if spec.kind == "choice":
            return trial.suggest_categorical(name, [encode_choice(v) for v in spec.values])
        if spec.kind == "float":
            return trial.suggest_float(name, spec.low, spec.high, log=spec.log, step=spec.step)
        return trial.suggest_int(name, spec.low, spec.high, log=spec.log, step=spec.step or 1)

    class PruningSession(LocalSession):
        def report(self, metrics: dict, checkpoint_dir: str | None) -> None:
            super().report(metrics, checkpoint_dir)
            self.trial.set_user_attr("epoch_time_s", [r["epoch_time_s"] for r in self.reports])
            self.trial.report(float(metrics["val_auc"]), step=int(metrics["epoch"]))
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: Any) -> float:
        session = PruningSession(source, Path(journal).parent / f"trial_{trial.number:03d}")
        session.trial = trial
        values = {name: suggest(trial, name, spec) for name, spec in specs}
        return float(run_training(apply_trial_config(exp, values), session)["val_auc"])

    sched = exp.tune.scheduler
    study = optuna.load_study(
        study_name="bench", storage=_journal(journal),
        sampler=optuna.samplers.TPESampler(  # raytrack's startup choice, a seed per worker
            seed=exp.tune.seed + index, n_startup_trials=min(10, max(2, exp.tune.num_samples // 3))),
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=sched.grace_period, reduction_factor=int(sched.reduction_factor)))  # fmt: skip
    study.optimize(
        objective, callbacks=[optuna.study.MaxTrialsCallback(exp.tune.num_samples, states=None)]
    )
    return 0


# ---- the parent: run, sample, analyse --------------------------------------------------------


def run_side(command: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run one child; its wall time and the CPU seconds of its whole process tree."""
    import psutil

    started = time.time()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    root, cpu = psutil.Process(process.pid), {}
    while process.poll() is None:
        try:
            for member in [root, *root.children(recursive=True)]:
                with member.oneshot():
                    times = member.cpu_times()
                    cpu[member.pid] = times.user + times.system
        except psutil.Error:
            pass
        if time.time() - started > timeout:  # the whole tree: Ray's and Optuna's workers too
            for member in [*root.children(recursive=True), root]:
                try:
                    member.kill()
                except psutil.Error:
                    pass
            process.wait()
            raise RuntimeError(f"{command} ran past {timeout} s")
        time.sleep(0.2)
    if process.returncode:
        raise RuntimeError(f"{command} failed with exit code {process.returncode}")
    return {"started": started, "wall_s": time.time() - started, "cpu_s": sum(cpu.values())}


def phases(events: list[dict], started: float, ended: float) -> dict[str, Any]:
    """Each phase's seconds (per sweep, and per trial as the median) from the probe's events."""
    first = {}
    for event in events:
        first.setdefault(event["event"], event["time"])
    trials: dict[str, dict[str, list]] = {}
    for event in events:
        if event.get("trial"):
            trials.setdefault(event["trial"], {}).setdefault(event["event"], []).append(
                event["time"]
            )
    by_pid: dict[int, list[dict]] = {}
    for event in events:
        by_pid.setdefault(event["pid"], []).append(event)
    epoch_s = [end["time"] - start["time"] for pid_events in by_pid.values()
               for start, end in zip(pid_events, pid_events[1:])
               if start["event"] == "epoch_start" and end["event"] == "epoch_end"]  # fmt: skip
    setup_s = [nxt["time"] - begin["time"] for pid_events in by_pid.values()
               for begin, nxt in zip(pid_events, pid_events[1:])
               if begin["event"] == "trial_begin" and nxt["event"] == "epoch_start"]  # fmt: skip
    callbacks: dict[str, float] = {}
    for event in events:
        if event["event"] == "callback":
            callbacks[event["name"]] = callbacks.get(event["name"], 0.0) + event["seconds"]
    reports = [e["seconds"] for e in events if e["event"] == "report_end"]
    actor = [t["trial_begin"][0] - t["trial_start"][0] for t in trials.values()
             if "trial_begin" in t and "trial_start" in t]  # fmt: skip
    ends = [t["trial_end"][0] - max(t["trial_result"]) for t in trials.values()
            if "trial_end" in t and "trial_result" in t]  # fmt: skip
    med = lambda xs: round(statistics.median(xs), 3) if xs else None  # noqa: E731
    return {
        "per_sweep_s": {
            "imports and parsing": first["sweep_start"] - started,
            "preflight": first["preflight_end"] - first["sweep_start"],
            "store and sweep directory": first["sweep_prepared"] - first["preflight_end"],
            "Ray start": first["ray_ready"] - first["sweep_prepared"],
            "tuner build": first["tuner_built"] - first["ray_ready"],
            "until the first trial runs": first["trial_begin"] - first["tuner_built"],
            "result writing": first["results_written"] - first["fit_end"],
            "Ray shutdown and exit": ended - first["sweep_end"],
            **{f"{name} callback (driver)": seconds for name, seconds in callbacks.items()},
        },
        "per_trial_s": {
            "actor start or reuse (median)": med(actor),
            "trial setup before epoch 1 (median)": med(setup_s),
            "report latency (median)": med(reports),
            "last result to trial end (median)": med(ends),
        },
        "trials": len(trials),
        "epochs": len(epoch_s),
        "epoch_time_s": sum(epoch_s),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    store = WORK / "store"
    generate_store(store, args.events, seed=7, settings=SimulationSettings(rfactor=0.015))
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    repeats: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        row: dict[str, Any] = {}
        for side in SIDES:
            work = WORK / f"{side}-{repeat}"
            work.mkdir()
            file = work / "sweep.yaml"
            loggers = side == "raytrack+loggers"
            file.write_text(yaml.safe_dump(experiment(store, work / "results", args, loggers)))
            env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}
            env.pop("WANDB_API_KEY", None)
            if side == "optuna":
                journal = work / "journal.log"
                command = ["optuna", str(file), str(journal), str(args.concurrency)]
            else:
                env.update(RAYTRACK_PROBE="raytrack.probe:write_jsonl",
                           RAYTRACK_PROBE_FILE=str(work / "events.jsonl"))  # fmt: skip
                command = ["raytrack", str(file)]
            run = run_side([sys.executable, __file__, "--child", *command], env, args.timeout)
            run["core_use"] = run["cpu_s"] / (run["wall_s"] * args.concurrency)
            if side == "optuna":
                run.update(json.loads(journal.with_suffix(".json").read_text()))
            else:
                lines = (work / "events.jsonl").read_text().splitlines()
                events = [json.loads(line) for line in lines]
                run.update(phases(events, run["started"], run["started"] + run["wall_s"]))
                trials = (work / "results" / "bench" / "trials.csv").read_text()
                run["best"] = _best(work / "results" / "bench")
                run["trials_csv_rows"] = len(trials.splitlines()) - 1
            row[side] = run
            print(f"repeat {repeat} {side}: {run['wall_s']:.1f} s, core use {run['core_use']:.2f}")
        repeats.append(row)
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return summarize(args, repeats, uptime_before, uptime_after)


def _best(sweep: Path) -> float | None:
    best = sweep / "best.json"
    return json.loads(best.read_text()).get("value") if best.is_file() else None


def summarize(args: argparse.Namespace, repeats: list[dict], before: str, after: str) -> dict:
    from result_files import machine

    wall = {side: [r[side]["wall_s"] for r in repeats] for side in SIDES}
    per_repeat = [r["raytrack"]["wall_s"] / r["optuna"]["wall_s"] for r in repeats]
    loggers = [(r["raytrack+loggers"]["wall_s"] - r["raytrack"]["wall_s"])
               / r["raytrack+loggers"]["wall_s"] for r in repeats]  # fmt: skip
    return {
        "command": "python benchmarks/sweep_overhead.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "uptime_before": before,
        "uptime_after": after,
        "settings": {k: getattr(args, k) for k in ("trials", "epochs", "events", "concurrency")},
        "ratio_best": min(wall["raytrack"]) / min(wall["optuna"]),
        "ratio_per_repeat": per_repeat,
        "loggers_share_per_repeat": loggers,
        "repeats": repeats,
    }


def markdown(result: dict) -> str:
    f = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
    best = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    reps = result["repeats"]
    lines = [
        f"`{result['command']}` ({result['machine']}; `uptime` before: "
        f"`{result['uptime_before']}`, after: `{result['uptime_after']}`)",
        "",
        "| sweep | wall s (best) | wall s (each repeat) | core use (each repeat) | trials "
        "| epochs | Σ epoch s | best val_auc |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for side in SIDES:
        runs = [r[side] for r in reps]
        lines.append(
            f"| {side} | {min(r['wall_s'] for r in runs):.2f} "
            f"| {', '.join(f(r['wall_s']) for r in runs)} "
            f"| {', '.join(f(r['core_use']) for r in runs)} | {runs[0]['trials']} "
            f"| {', '.join(str(r['epochs']) for r in runs)} "
            f"| {', '.join(f(r['epoch_time_s']) for r in runs)} "
            f"| {', '.join(best(r['best']) for r in runs)} |"
        )
    ratios = result["ratio_per_repeat"]
    shares = result["loggers_share_per_repeat"]
    lines += [
        "",
        f"raytrack / bare Optuna wall time: **{result['ratio_best']:.2f}×** best against best "
        f"({min(ratios):.2f}–{max(ratios):.2f}× per repeat). W&B + MLflow: "
        f"{min(shares):+.1%} to {max(shares):+.1%} of the sweep's wall time per repeat "
        "((with − without) / with).",
        "",
        "| phase (raytrack+loggers sweeps) | seconds, each repeat |",
        "|---|---|",
    ]
    keyed = [r["raytrack+loggers"] for r in reps]
    for group in ("per_sweep_s", "per_trial_s"):
        for name in keyed[0][group]:
            values = [run[group].get(name) for run in keyed]
            scope = "per sweep" if group == "per_sweep_s" else "per trial"
            lines.append(f"| {name} ({scope}) | {', '.join(f(v) for v in values)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 trials, 2 epochs, 16 events, once")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--events", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=420, help="seconds per sweep")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the result files go")
    parser.add_argument("--keep", action="store_true", help="keep benchmarks/_work/sweep_overhead")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "raytrack":
            return child_raytrack(*rest)
        if kind == "optuna":
            return child_optuna(rest[0], rest[1], int(rest[2]))
        return child_optuna_worker(rest[0], rest[1], int(rest[2]))
    if args.quick:
        args.repeats, args.trials, args.epochs, args.events = 1, 4, 2, 16
    result = measure(args)
    from result_files import write_result

    write_result(args.out, "sweep_overhead" + ("_quick" if args.quick else ""), result,
                 markdown(result))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
