"""Slot utilisation of a raytrack sweep on a simulated 4-node Ray cluster (issue 16, item 7).

Starts ``ray.cluster_utils.Cluster``: a head that offers no CPU to trials and ``--nodes`` worker
nodes, each with ``--cpus-per-node`` CPUs and one unit of the custom resource ``accel`` (a
"GPU-like" slot). Then runs ``python -m raytrack.cli tune FILE --address ADDR`` (the real CLI, its
own process, as a user would against a cluster): ``--trials`` trials of a tiny Exa.TrkX GNN on a
tiny simulated store, ``--epochs`` epochs each, FIFO, each trial asking for
``train.resources_per_worker: {accel: 1}``, so at most one trial runs per node. From the trial
directories Tune wrote (:mod:`multinode_timeline`) it computes busy slot-seconds / (slots × wall
time from the first trial start to the last trial end), in all and per 10-s bin, over
``--repeats`` sweeps. It also times Optuna TPE's suggestion against the number of finished trials
(the searcher's cost per suggestion at scale) when Optuna is installed.

    python benchmarks/multinode_utilisation.py            # 32 trials × 3 repeats
    python benchmarks/multinode_utilisation.py --quick    # 8 trials, 1 repeat, 2 epochs

Writes ``benchmarks/results/multinode_utilisation[_quick].json`` and its table page ``.md``; works
under ``benchmarks/_work/multinode_utilisation/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from multinode_timeline import checkpoint_bytes, trial_spans, utilisation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "multinode_utilisation"
RESULTS = ROOT / "benchmarks" / "results"
RESOURCE = "accel"
TINY_MODEL = {"hidden": 8, "nb_node_layer": 1, "nb_edge_layer": 1, "n_graph_iters": 1}


def experiment(store: Path, storage: Path, args: argparse.Namespace) -> dict:
    return {
        "name": "multinode",
        "model": {"name": "exatrkx_gnn", "hparams": TINY_MODEL},
        "data": {"store": str(store), "split": [0.5, 0.5, 0.0], "options": {"noise": False}},
        "train": {
            "max_epochs": args.epochs,
            "batch_size": 2,
            "cpus_per_worker": args.cpus_per_trial,
            "num_threads": 1,
            "resources_per_worker": {RESOURCE: 1},
        },
        "search": {"train.optimizer.lr": {"low": 1e-4, "high": 3e-2, "log": True}},
        "tune": {
            "metric": "val_auc",
            "mode": "max",
            "num_samples": args.trials,
            "searcher": "random",
            "seed": 0,
            "scheduler": {"name": "fifo"},
        },
        "storage": str(storage),
    }


@contextlib.contextmanager
def address_file_kept():
    """Leave ``/tmp/ray/ray_current_cluster`` as it was: ``Cluster`` writes its address there (and
    removes the file on shutdown), which points every plain ``ray.init()`` on this machine, other
    users' included, at the simulated cluster. The sweep here passes ``--address`` instead."""
    from ray._common.utils import get_ray_address_file

    file = Path(get_ray_address_file(None))
    before = file.read_text() if file.is_file() else None
    try:
        yield
    finally:
        if before is None:
            file.unlink(missing_ok=True)
        else:
            file.write_text(before)


def start_cluster(args: argparse.Namespace):
    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 80 * 2**20, "include_dashboard": False}
    with address_file_kept():
        head = {"num_cpus": args.head_cpus, **small}
        cluster = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=args.cpus_per_node, resources={RESOURCE: 1}, **small)
    cluster.wait_for_nodes()
    return cluster


def run_sweep(file: Path, address: str, name: str) -> float:
    """Run the sweep through the CLI; its driver's wall time in seconds."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "raytrack.cli", "tune", str(file), "--address", address,
               "--name", name]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def tpe_suggestion_ms(finished: list[int], asks: int = 5) -> dict[str, float]:
    """Mean milliseconds of one Optuna TPE suggestion (2 parameters) after ``n`` finished trials."""
    try:
        import optuna
    except ImportError:
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timings = {}
    for n in finished:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
        distributions = {
            "lr": optuna.distributions.FloatDistribution(1e-4, 3e-2, log=True),
            "hidden": optuna.distributions.CategoricalDistribution([8, 16, 32]),
        }
        for i in range(n):
            params = {"lr": 1e-4 * (300 ** (i / max(1, n))), "hidden": [8, 16, 32][i % 3]}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions,
                                                      value=float(i % 7)))  # fmt: skip
        started = time.perf_counter()
        for _ in range(asks):
            trial = study.ask(distributions)
            study.tell(trial, 0.0)
        timings[str(n)] = round(1000 * (time.perf_counter() - started) / asks, 2)
    return timings


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(args: argparse.Namespace) -> dict:
    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    store = WORK / "store"
    generate_store(store, args.events, seed=5, settings=SimulationSettings(rfactor=0.005))
    file = WORK / "multinode.yaml"
    file.write_text(yaml.safe_dump(experiment(store, WORK / "results", args)))
    load_before = load_average()
    cluster = start_cluster(args)
    repeats = []
    try:
        for repeat in range(args.repeats):
            name = f"repeat-{repeat}"
            driver_s = run_sweep(file, cluster.address, name)
            sweep = WORK / "results" / name
            measured = utilisation(trial_spans(sweep), args.nodes, args.bin_s)
            repeats.append({"driver_wall_s": round(driver_s, 1), **measured,
                            **checkpoint_bytes(sweep), "load_average": load_average()})  # fmt: skip
    finally:
        with address_file_kept():
            cluster.shutdown()
    ratios = [r["utilisation"] for r in repeats]
    return {
        "command": "python benchmarks/multinode_utilisation.py"
        + (" --quick" if args.quick else ""),
        "machine": {"cpus": os.cpu_count(), "load_average_before": load_before},
        "cluster": {
            "nodes": args.nodes,
            "cpus_per_node": args.cpus_per_node,
            "head_cpus": args.head_cpus,
            "custom_resource": {RESOURCE: 1},
        },
        "sweep": {
            "trials": args.trials,
            "epochs": args.epochs,
            "events": args.events,
            "cpus_per_trial": args.cpus_per_trial,
            "searcher": "random",
            "scheduler": "fifo",
        },
        "repeats": repeats,
        "utilisation_mean": round(statistics.mean(ratios), 4),
        "utilisation_min": min(ratios),
        "utilisation_max": max(ratios),
        "tpe_suggestion_ms": tpe_suggestion_ms(args.tpe_trials),
    }


def full_bins(repeat: dict) -> list[float]:
    """The utilisation of the whole bins (the last, shorter one is the sweep's tail)."""
    bins = repeat["utilisation_per_bin"]
    return bins[:-1] if repeat["last_bin_s"] < repeat["bin_s"] and len(bins) > 1 else bins


def markdown(result: dict) -> str:
    rows = [
        f"| {i} | {r['trials']} | {r['trial_s_mean']} | {r['wall_s']} | {r['utilisation']:.3f} | "
        f"{min(full_bins(r)):.2f}–{max(full_bins(r)):.2f} | "
        f"{r['most_trials_at_once']} | {r['handover_s_median']} | {r['results_per_s']} | "
        f"{r.get('checkpoint_bytes_mean', '–')} | "
        f"{' / '.join(str(x) for x in r['load_average'])} |"
        for i, r in enumerate(result["repeats"])
    ]
    tpe = ", ".join(f"{n} trials: {ms} ms" for n, ms in result["tpe_suggestion_ms"].items())
    return "\n".join([
        f"`{result['command']}` ({result['machine']['cpus']} CPUs, load average before "
        f"{' / '.join(str(x) for x in result['machine']['load_average_before'])})",
        "",
        "| repeat | trials | trial s (mean) | wall s | utilisation | per whole 10-s bin | most at once "
        "| hand-over s (median) | results/s | checkpoint bytes | load after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Utilisation {result['utilisation_mean']:.3f} (mean; {result['utilisation_min']:.3f}–"
        f"{result['utilisation_max']:.3f} over {len(result['repeats'])} repeats). "
        f"Optuna TPE, one suggestion: {tpe or 'not measured'}.",
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="8 trials, 2 epochs, 32 events, 1 repeat"
    )
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--events", type=int, default=64, help="events in the simulated store")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--cpus-per-node", type=float, default=1)
    parser.add_argument("--cpus-per-trial", type=float, default=1)
    parser.add_argument("--head-cpus", type=float, default=0)
    parser.add_argument("--bin-s", type=float, default=10.0)
    parser.add_argument("--tpe-trials", type=int, nargs="*", default=[100, 300, 1000])
    parser.add_argument("--out", type=Path, help="default: benchmarks/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs, args.repeats, args.events, args.tpe_trials = 8, 2, 1, 32, [100]
    result = measure(args)
    stem = "multinode_utilisation" + ("_quick" if args.quick else "")
    out = args.out or RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
