"""HyperTrack's voxdyn graph constructor against ncell and pile-up: efficiency, purity, edges/event.

    python benchmarks/hypertrack_voxdyn.py            # ~10-15 min on the 2-CPU box
    python benchmarks/hypertrack_voxdyn.py --quick    # ~1 min, smaller everything

Simulates ``--train-events`` events at rfactor 0.01 (seed 1) into a tracking store under
``benchmarks/_work/hypertrack_voxdyn/``, and builds one constructor per ``ncell`` through the
artifact cache (:func:`~raytrack.families.hypertrack.voxdyn_cache.voxdyn_constructor`, with
``train_from_store``), so the build time includes reading the events, the faiss k-means and ``C``.
Test events come from another seed at rfactor 0.01 and 0.1; for each ``(ncell, rfactor)`` the
node2node (default ``hyper``) true-edge efficiency, the purity and the candidate edges per event
(unordered pairs) are measured with :func:`~raytrack.families.hypertrack.voxdyn_edges.edge_statistics`.
An efficiency's statistical error is given twice: binomial over its true edges (a lower bound:
the edges of one event are not independent) and with events as clusters (the standard error of
the ratio estimator over events; the table shows this one).

Acceptance (issue 9): at every ncell the efficiencies at rfactor 0.01 and 0.1 differ by at most
1 point while the purity falls. Writes ``benchmarks/results/hypertrack_voxdyn[_quick].json`` and
a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from raytrack.families.hypertrack.voxdyn import train_from_store  # noqa: E402
from raytrack.families.hypertrack.voxdyn_cache import read_builds, voxdyn_constructor  # noqa: E402
from raytrack.families.hypertrack.voxdyn_edges import edge_statistics, graph_metrics  # noqa: E402
from raytrack.families.hypertrack.voxdyn_key import VoxdynKey, store_identity  # noqa: E402
from raytrack.families.tracking.sim_settings import SimulationSettings  # noqa: E402
from raytrack.families.tracking.simulate import (  # noqa: E402
    generate_store,
    provenance,
    simulate_events,
)
from raytrack.store.sample_store import SampleStore  # noqa: E402

WORK = ROOT / "benchmarks" / "_work" / "hypertrack_voxdyn"
RESULTS = ROOT / "benchmarks" / "results"
TRAIN_RFACTOR = 0.01
TEST_RFACTORS = (0.01, 0.1)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--train-events", type=int, default=1000)
    parser.add_argument(
        "--test-events",
        type=int,
        nargs=2,
        default=(20, 4),
        metavar=("AT_0.01", "AT_0.1"),
        help="test events per rfactor",
    )
    parser.add_argument("--ncell", type=int, nargs="+", default=(1024, 4096, 16384, 65536))
    parser.add_argument("--node2node", default="hyper", choices=("hyper", "eom", "cricket"))
    parser.add_argument("--niter", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="k-means seed")
    parser.add_argument(
        "--max-points-per-centroid",
        type=int,
        default=None,
        help="faiss fits the centroids on at most ncell x this many training hits (default: all "
        "of them, as the reference); C always uses every training event",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from nothing; by default the training store of the same simulation and the "
        "constructors already built for the same keys are reused (their build time is the one "
        "recorded when they were built)",
    )
    parser.add_argument("--name", default=None, help="result file stem (default from --quick)")
    args = parser.parse_args()
    if args.quick:
        args.train_events, args.test_events, args.ncell = 60, (5, 2), (256, 1024)
    return args


def training_store(path: Path, events: int):
    """The simulated training store at ``path``: reused when it holds exactly this simulation."""
    settings = SimulationSettings(rfactor=TRAIN_RFACTOR)
    with contextlib.suppress(Exception):
        store = SampleStore(path)
        if store.provenance == provenance(events, 1, settings):
            return store
    shutil.rmtree(path, ignore_errors=True)
    return generate_store(path, events, seed=1, settings=settings)


def measure(constructor, events: list) -> dict:
    start = time.perf_counter()
    per_event = np.stack([edge_statistics(constructor, event) for event in events])
    seconds = time.perf_counter() - start
    totals = per_event.sum(axis=0)
    metrics = graph_metrics(totals, len(events))
    eff, true_edges, n = metrics["efficiency"], totals[2], len(events)
    # Events as clusters: the standard error of the ratio estimator sum(tp) / sum(true).
    residual = per_event[:, 0] - eff * per_event[:, 2]
    cluster = np.sqrt((residual**2).sum() / max(n * (n - 1), 1)) / (true_edges / n)
    return {
        **metrics,
        "efficiency_stat_error": float(np.sqrt(eff * (1 - eff) / true_edges)),
        "efficiency_event_error": float(cluster),
        "true_edges_per_event": float(true_edges / len(events)),
        "hits_per_event": float(np.mean([e.num_hits for e in events])),
        "events": len(events),
        "seconds_per_event": seconds / len(events),
    }


def main() -> None:
    args = arguments()
    started, load_before = time.time(), os.getloadavg()
    name = args.name or ("hypertrack_voxdyn_quick" if args.quick else "hypertrack_voxdyn")
    work = WORK / name
    if args.fresh:
        shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    store = training_store(work / "train_store", args.train_events)
    simulate_seconds = time.perf_counter() - t
    tests = {
        rf: list(simulate_events(n, 2, SimulationSettings(rfactor=rf)))
        for rf, n in zip(TEST_RFACTORS, args.test_events)
    }
    storage = work / "voxdyn"
    points = {}
    if args.max_points_per_centroid:
        points["max_points_per_centroid"] = args.max_points_per_centroid
    builds_before = len(read_builds(storage))
    rows = []
    for ncell in args.ncell:
        key = VoxdynKey(
            store=store_identity(store),
            ncell=ncell,
            node2node=args.node2node,
            seed=args.seed,
            events=tuple(store.ids()),
            niter=args.niter,
            **points,
        )
        t = time.perf_counter()
        constructor = voxdyn_constructor(storage, key, functools.partial(train_from_store, store))
        row = {
            **constructor.summary(),
            "kmeans_points": min(constructor.training_hits, ncell * key.max_points_per_centroid),
            "wall_seconds": time.perf_counter() - t,
        }
        for rf, events in tests.items():
            row[f"rfactor_{rf}"] = measure(constructor, events)
        low, high = row[f"rfactor_{TEST_RFACTORS[0]}"], row[f"rfactor_{TEST_RFACTORS[1]}"]
        row["efficiency_difference_points"] = 100 * (high["efficiency"] - low["efficiency"])
        row["accepted"] = bool(
            abs(row["efficiency_difference_points"]) <= 1.0 and high["purity"] < low["purity"]
        )
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items()}, default=float), flush=True)
        # Asking again is a cache hit: the build log keeps one line per ncell.
        voxdyn_constructor(storage, key, functools.partial(train_from_store, store))
    result = {
        "command": " ".join(["python", "benchmarks/hypertrack_voxdyn.py", *sys.argv[1:]]),
        "settings": {
            "train_events": args.train_events,
            "train_rfactor": TRAIN_RFACTOR,
            "train_particle_hits": rows[0]["training_hits"],
            "test_events": dict(zip([str(r) for r in TEST_RFACTORS], args.test_events)),
            "node2node": args.node2node,
            "niter": args.niter,
            "kmeans_seed": args.seed,
            "max_points_per_centroid": args.max_points_per_centroid,
            "simulation_seeds": {"train": 1, "test": 2},
        },
        "train_store_seconds": simulate_seconds,  # simulated and written, or reopened
        "rows": rows,
        "builds_logged": len(read_builds(storage)),
        "builds_this_run": len(read_builds(storage)) - builds_before,
        "all_accepted": all(r["accepted"] for r in rows),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "faiss": __import__("faiss").__version__,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "wall_seconds": time.time() - started,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = [
        f"# voxdyn: efficiency and purity against ncell and pile-up (`{s['node2node']}` truth)",
        "",
        f"`{result['command']}`: built on {s['train_events']} simulated events at rfactor "
        f"{s['train_rfactor']} ({s['train_particle_hits']:,} particle hits), tested on "
        + ", ".join(f"{n} events at rfactor {rf}" for rf, n in s["test_events"].items())
        + " (another seed)"
        + (
            f"; faiss fits the centroids on at most ncell × {s['max_points_per_centroid']} of "
            "the training hits, C uses them all"
            if s.get("max_points_per_centroid")
            else ""
        )
        + f". Load average {result['machine']['load_average_before'][0]:.1f} before, "
        f"{result['machine']['load_average_after'][0]:.1f} after, {result['machine']['cpus']} CPUs.",
        "",
        "| ncell | rfactor | hits/event | efficiency (%) | purity (%) | edges/event | "
        "build (s) | C pairs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        for rf in s["test_events"]:
            m = row[f"rfactor_{rf}"]
            lines.append(
                f"| {row['ncell']:,} | {rf} | {m['hits_per_event']:,.0f} | "
                f"{100 * m['efficiency']:.2f} ± {100 * m['efficiency_event_error']:.2f} | "
                f"{100 * m['purity']:.3f} | {m['edges_per_event']:,.0f} | "
                f"{row['build_seconds']:.0f} | {row['connected_pairs']:,} |"
            )
    lines += [
        "",
        "| ncell | efficiency 0.1 − 0.01 (points) | purity falls | accepted |",
        "|---:|---:|---|---|",
    ]
    for row in result["rows"]:
        rfs = list(s["test_events"])
        falls = row[f"rfactor_{rfs[1]}"]["purity"] < row[f"rfactor_{rfs[0]}"]["purity"]
        lines.append(
            f"| {row['ncell']:,} | {row['efficiency_difference_points']:+.2f} | "
            f"{'yes' if falls else 'no'} | {'yes' if row['accepted'] else 'no'} |"
        )
    lines += [
        "",
        f"Constructors built in this run: {result.get('builds_this_run', result['builds_logged'])}"
        f" (the build log of its storage holds {result['builds_logged']}, earlier runs included; "
        "a constructor already built for the same key is reused and its table row shows the "
        "build time recorded then); a second request for each key was a cache hit. Total wall "
        f"time {result['wall_seconds'] / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
