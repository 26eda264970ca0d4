"""Events/s and peak memory from storage to model-ready tensors: event store vs torch.load.

    python benchmarks/event_stream.py --repeat 3          # 1k and 10k events, the result file
    python benchmarks/event_stream.py --quick             # 100 and 300 events, < 1 min (CI)
    python benchmarks/event_stream.py --layout            # the store layout study

For each event count, simulated low-pile-up events (``raytrack.families.tracking.simulate``, rfactor 0.015:
~1.6k hits each) are written once to an event store and, as the common alternative, to one
``torch.save``d PyG ``Data`` graph per event. Each reader then runs in its own subprocess (so its
peak RSS is its own) and turns every event into the same model-ready tensors: node features
``(r, phi, z)`` float32 ``[N, 3]``, ``particle_id`` int64 ``[N]`` and a layer index int64 ``[N]``:

- ``pyg``: ``torch.load`` of each event's file (``weights_only=False``, as PyG needs): the
  baseline;
- ``trial_pyarrow``: a single-worker trial's path (``store_row_source``: pyarrow, no Ray);
- ``ray_data_ddp``: a DDP worker's path (``trial_dataset``, read once per trial, then
  ``streaming_split`` and ``iter_dataset_rows`` as ``_worker_loop`` reads it; one consumer);
- ``ray_data_trial``: the same dataset iterated without a split (a single-worker trial that
  streamed through Ray Data);
- ``ray_data``, ``ray_data_v2``, ``iter_rows``: the store's plain readers of the hit columns
  (``dataset()`` re-read every epoch, its v2 datasource, ``iter_rows``).

The result (every run, best epoch-2 events/s, the ratio to ``pyg`` per round with its median and
spread, memory growth from the smallest to the largest size) goes to
``benchmarks/results/event_stream[_quick].json`` and a ``.md`` beside it.

Each reader makes two passes (epochs) over the events; the first includes start-up costs (for Ray
Data: starting read workers). Memory is sampled every 5 ms: the reader's RSS, and the private
memory (RSS minus shared pages) of the reader plus all its child processes (for Ray Data: the
Ray daemons and workers it started; the shared-memory object store is not counted per process).
Files are read warm (just written, in the page cache) for every reader alike.

``--layout`` measures the physical layout choices of the store on ``--layout-events`` events:
row per event (list columns) vs row per hit, row-group sizes, and events per file.

The readers and the data they read are in ``event_stream_readers.py``; the layout study
(``--layout``) is in ``event_stream_layout.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The sibling modules below import raytrack only inside their functions.
from event_stream_layout import layout_study  # noqa: E402
from event_stream_readers import (  # noqa: E402
    READER_NAMES,
    READERS,
    dir_mb,
    ensure_pyg_files,
    ensure_store,
    to_tensors,
)

DEFAULT_EVENTS = [1000, 10000]
DEFAULT_READERS = ["pyg", "trial_pyarrow", "ray_data_ddp", "ray_data_trial", "ray_data"]
QUICK_EVENTS = [100, 300]
QUICK_READERS = ["pyg", "trial_pyarrow", "ray_data_ddp"]


class PeakRSS:
    """Peak memory of this process and of it plus its children, sampled every ``interval`` s.

    ``self_peak``: resident set size (RSS) of this process (it counts the pages of Ray's
    shared-memory object store this process has touched). ``self_private_peak``: its RSS minus
    shared pages. ``tree_private_peak``: the sum over
    this process and its children of RSS minus shared pages, so that shared libraries and Ray's
    shared-memory object store, which every process maps, are not counted once per process.
    """

    def __init__(self, interval: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self.self_peak = 0
        self.self_private_peak = 0
        self.tree_private_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        info = self._proc.memory_info()
        private = info.rss - info.shared
        self.self_private_peak = max(self.self_private_peak, private)
        for child in self._proc.children(recursive=True):
            try:
                child_info = child.memory_info()
            except psutil.Error:
                continue
            private += child_info.rss - child_info.shared
        self.self_peak = max(self.self_peak, info.rss)
        self.tree_private_peak = max(self.tree_private_peak, private)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self._interval)

    def __enter__(self) -> PeakRSS:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def _consume(samples: Iterator[dict[str, Any]]) -> tuple[int, int]:
    events = hits = 0
    for sample in samples:
        events += 1
        hits += int(sample["x"].shape[0])
    return events, hits


def measure(reader: str, epochs: int = 2, **kwargs: Any) -> dict[str, Any]:
    """Run inside the measurement subprocess: time ``epochs`` passes, sample the memory."""
    # Imports happen before the clock starts, for every reader alike.
    import torch  # noqa: F401
    import torch_geometric.data  # noqa: F401 - torch.load of a PyG Data needs it

    import raytrack.store.sample_store
    import raytrack.store.stream  # noqa: F401

    to_tensors({"r": np.zeros(1, np.float32), "phi": np.zeros(1, np.float32),
                "z": np.zeros(1, np.float32), "particle_id": np.zeros(1, np.int64),
                "volume_id": np.zeros(1, np.int32), "layer_id": np.zeros(1, np.int32)})  # fmt: skip

    if reader.startswith("ray_data"):
        import ray

        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
                 log_to_driver=False)  # fmt: skip
        from ray.data import DataContext

        DataContext.get_current().enable_progress_bars = False
    result: dict[str, Any] = {"reader": reader}
    with PeakRSS() as rss:
        result["baseline_rss_mb"] = rss.self_peak / 2**20
        result["baseline_private_mb"] = rss.self_private_peak / 2**20
        result["baseline_tree_private_mb"] = rss.tree_private_peak / 2**20
        epoch = READERS[reader](**kwargs)
        for e in range(1, epochs + 1):
            start = time.perf_counter()
            events, hits = _consume(epoch())
            seconds = time.perf_counter() - start
            result.update({"events": events, "hits": hits, f"seconds_{e}": seconds,
                           f"events_per_s_{e}": events / seconds})  # fmt: skip
    result["peak_rss_mb"] = rss.self_peak / 2**20
    result["peak_private_mb"] = rss.self_private_peak / 2**20
    result["peak_tree_private_mb"] = rss.tree_private_peak / 2**20
    return result


def run_measurement(reader: str, **kwargs: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", reader, "--kwargs", json.dumps(kwargs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{reader} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Every reader at every size, ``--repeat`` rounds interleaved (each round runs every reader
    once, so a ratio compares runs made minutes apart, under the same load)."""
    work = Path(args.workdir)
    report: dict[str, Any] = {
        "command": "python benchmarks/event_stream.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "uptime_before": _uptime(), "sizes": {},
    }  # fmt: skip
    for n in args.events:
        store_path = work / f"store_{n}"
        store, gen_s = ensure_store(store_path, n, args.seed, args.rfactor)
        pyg_dir = work / f"pyg_{n}"
        pyg_s = ensure_pyg_files(store_path, pyg_dir)
        print(f"# {n} events, {store.counts['hit'] / n:.0f} hits/event: store "
              f"{dir_mb(store_path):.0f} MB in {len(store.files)} files (generated in "
              f"{gen_s:.1f} s); PyG files {dir_mb(pyg_dir):.0f} MB ({pyg_s:.1f} s)", flush=True)  # fmt: skip
        runs: dict[str, list[dict[str, Any]]] = {reader: [] for reader in args.readers}
        for _ in range(args.repeat):
            for reader in args.readers:
                kwargs = {"store_path": str(store_path), "pyg_dir": str(pyg_dir)}
                result = run_measurement(reader, **kwargs)
                assert result["events"] == n, result
                runs[reader].append(result)
                print(json.dumps(result), flush=True)
        report["sizes"][str(n)] = summarize(runs)
    report["uptime_after"] = _uptime()
    report["memory_growth"] = memory_growth(report["sizes"])
    return report


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per reader: every run, the best epoch-2 events/s, and its ratio to ``pyg`` per round."""
    out: dict[str, Any] = {}
    base = runs.get("pyg")
    for reader, results in runs.items():
        best = max(results, key=lambda r: r["events_per_s_2"])
        entry = {"runs": results, "best": best}
        if base:
            ratios = [r["events_per_s_2"] / b["events_per_s_2"] for r, b in zip(results, base)]
            entry["ratio_per_round"] = ratios
            entry["ratio_median"] = float(np.median(ratios))
            entry["ratio_min"], entry["ratio_max"] = min(ratios), max(ratios)
        out[reader] = entry
    return out


def memory_growth(sizes: dict[str, Any]) -> dict[str, Any]:
    """Per reader, peak memory at the largest size over the smallest (max over runs)."""
    if len(sizes) < 2:
        return {}
    small, large = sizes[min(sizes, key=int)], sizes[max(sizes, key=int)]
    growth = {}
    for reader in small:
        peak = {key: [max(r[key] for r in size[reader]["runs"]) for size in (small, large)]
                for key in ("peak_rss_mb", "peak_private_mb", "peak_tree_private_mb")}  # fmt: skip
        growth[reader] = {key: {"small": a, "large": b, "ratio": b / a}
                          for key, (a, b) in peak.items()}  # fmt: skip
    return growth


def markdown(report: dict[str, Any]) -> str:
    lines = [f"`{report['command']}`", "", f"Machine: {report['machine']}.",
             f"Load before: `{report['uptime_before']}`; after: `{report['uptime_after']}`.", "",
             "| events | reader | events/s epoch 1 (best) | events/s epoch 2 (best) | epoch 2 vs "
             "torch.load: median [min, max] over rounds | reader RSS peak (MB) | reader private "
             "peak (MB) | reader + children private peak (MB) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for n, readers in report["sizes"].items():
        for reader, entry in readers.items():
            best, runs = entry["best"], entry["runs"]
            ratio = (f"{entry['ratio_median']:.2f}x [{entry['ratio_min']:.2f}, "
                     f"{entry['ratio_max']:.2f}]" if "ratio_median" in entry else "-")  # fmt: skip
            lines.append(
                f"| {int(n):,} | {READER_NAMES[reader]} | {best['events_per_s_1']:,.0f} | "
                f"{best['events_per_s_2']:,.0f} | {ratio} | "
                f"{max(r['peak_rss_mb'] for r in runs):,.0f} | "
                f"{max(r['peak_private_mb'] for r in runs):,.0f} | "
                f"{max(r['peak_tree_private_mb'] for r in runs):,.0f} |"
            )
    if report["memory_growth"]:
        lines += ["", "Peak memory, largest size over smallest (max over rounds):", "",
                  "| reader | RSS | private | + children private |", "|---|---:|---:|---:|"]  # fmt: skip
        for reader, growth in report["memory_growth"].items():
            cells = [f"{g['small']:,.0f} → {g['large']:,.0f} MB ({g['ratio']:.2f}x)"
                     for g in growth.values()]  # fmt: skip
            lines.append(f"| {READER_NAMES[reader]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=None)
    parser.add_argument("--readers", nargs="+", default=None, choices=list(READERS))
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_EVENTS} events, readers {QUICK_READERS} (< 1 min)",
    )
    parser.add_argument("--out", default=None, help="result JSON (a .md beside it); default "
                        "benchmarks/results/event_stream[_quick].json")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rfactor", type=float, default=0.015)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every reader")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "_work"))
    parser.add_argument("--layout", action="store_true", help="run the layout study instead")
    parser.add_argument("--layout-events", type=int, default=2000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, **json.loads(args.kwargs))))
    elif args.layout:
        layout_study(args)
    else:
        args.events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
        args.readers = args.readers or (QUICK_READERS if args.quick else DEFAULT_READERS)
        report = benchmark(args)
        name = "event_stream_quick" if args.quick else "event_stream"
        out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        out.with_suffix(".md").write_text(markdown(report))
        print(markdown(report))


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
