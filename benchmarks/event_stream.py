"""Events/s and peak memory from storage to model-ready tensors: event store vs torch.load.

    python benchmarks/event_stream.py --events 1000 10000
    python benchmarks/event_stream.py --layout            # the store layout study

For each event count, simulated low-pile-up events (``raytrack.families.tracking.simulate``, rfactor 0.015:
~1.6k hits each) are written once to an event store and, as the common alternative, to one
``torch.save``d PyG ``Data`` graph per event. Each reader then runs in its own subprocess (so its
peak RSS is its own) and turns every event into the same model-ready tensors: node features
``(r, phi, z)`` float32 ``[N, 3]``, ``particle_id`` int64 ``[N]`` and a layer index int64 ``[N]``:

- ``store, pyarrow``: :meth:`SampleStore.iter_rows` (one process, no Ray);
- ``store, Ray Data``: :meth:`SampleStore.dataset` + :func:`iter_dataset_rows` (local Ray, 2 CPUs);
- ``PyG torch.load``: ``torch.load`` of each event's file (``weights_only=False``, as PyG needs).

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


class PeakRSS:
    """Peak memory of this process and of it plus its children, sampled every ``interval`` s.

    ``self_peak``: resident set size (RSS) of this process. ``tree_private_peak``: the sum over
    this process and its children of RSS minus shared pages, so that shared libraries and Ray's
    shared-memory object store, which every process maps, are not counted once per process.
    """

    def __init__(self, interval: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self.self_peak = 0
        self.tree_private_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        info = self._proc.memory_info()
        private = info.rss - info.shared
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
        result["baseline_tree_private_mb"] = rss.tree_private_peak / 2**20
        epoch = READERS[reader](**kwargs)
        for e in range(1, epochs + 1):
            start = time.perf_counter()
            events, hits = _consume(epoch())
            seconds = time.perf_counter() - start
            result.update({"events": events, "hits": hits, f"seconds_{e}": seconds,
                           f"events_per_s_{e}": events / seconds})  # fmt: skip
    result["peak_rss_mb"] = rss.self_peak / 2**20
    result["peak_tree_private_mb"] = rss.tree_private_peak / 2**20
    return result


def run_measurement(reader: str, **kwargs: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", reader, "--kwargs", json.dumps(kwargs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{reader} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def benchmark(args: argparse.Namespace) -> None:
    work = Path(args.workdir)
    rows = []
    for n in args.events:
        store_path = work / f"store_{n}"
        store, gen_s = ensure_store(store_path, n, args.seed, args.rfactor)
        pyg_dir = work / f"pyg_{n}"
        pyg_s = ensure_pyg_files(store_path, pyg_dir)
        hits = store.counts["hit"]
        print(
            f"# {n} events, {hits / n:.0f} hits/event: store {dir_mb(store_path):.0f} MB in "
            f"{len(store.files)} files (generated in {gen_s:.1f} s); PyG files "
            f"{dir_mb(pyg_dir):.0f} MB (written in {pyg_s:.1f} s)",
            flush=True,
        )
        results = {}
        for reader in args.readers:
            kwargs = {"store_path": str(store_path), "pyg_dir": str(pyg_dir)}
            best = None
            for _ in range(args.repeat):
                result = run_measurement(reader, **kwargs)
                assert result["events"] == n, result
                if best is None or result["events_per_s_2"] > best["events_per_s_2"]:
                    best = result
            results[reader] = best
            print(json.dumps(best), flush=True)
        for reader, result in results.items():
            rows.append((n, reader, result, results.get("pyg")))
    print()
    print("| events | reader | events/s, epoch 1 | events/s, epoch 2 | epoch 2 vs torch.load | "
          "reader RSS, before → peak (MB) | reader + child processes, private (MB) |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, reader, result, pyg in rows:
        ratio = f"{result['events_per_s_2'] / pyg['events_per_s_2']:.2f}x" if pyg else "-"
        print(
            f"| {n:,} | {READER_NAMES[reader]} | {result['events_per_s_1']:,.0f} | "
            f"{result['events_per_s_2']:,.0f} | {ratio} | "
            f"{result['baseline_rss_mb']:,.0f} → {result['peak_rss_mb']:,.0f} | "
            f"{result['baseline_tree_private_mb']:,.0f} → {result['peak_tree_private_mb']:,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=list(READERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rfactor", type=float, default=0.015)
    parser.add_argument("--repeat", type=int, default=1, help="runs per reader (best is kept)")
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
        benchmark(args)


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
