"""Events/s and peak memory from storage to model-ready tensors: event store vs torch.load.

    python benchmarks/event_stream.py --events 1000 10000
    python benchmarks/event_stream.py --layout            # the store layout study

For each event count, simulated low-pile-up events (``raytrack.data.simulate``, rfactor 0.015:
~1.6k hits each) are written once to an event store and, as the common alternative, to one
``torch.save``d PyG ``Data`` graph per event. Each reader then runs in its own subprocess (so its
peak RSS is its own) and turns every event into the same model-ready tensors: node features
``(r, phi, z)`` float32 ``[N, 3]``, ``particle_id`` int64 ``[N]`` and a layer index int64 ``[N]``:

- ``store, pyarrow``: :meth:`EventStore.iter_rows` (one process, no Ray);
- ``store, Ray Data``: :meth:`EventStore.dataset` + :func:`iter_dataset_rows` (local Ray, 2 CPUs);
- ``PyG torch.load``: ``torch.load`` of each event's file (``weights_only=False``, as PyG needs).

Each reader makes two passes (epochs) over the events; the first includes start-up costs (for Ray
Data: starting read workers). Memory is sampled every 5 ms: the reader's RSS, and the private
memory (RSS minus shared pages) of the reader plus all its child processes (for Ray Data: the
Ray daemons and workers it started; the shared-memory object store is not counted per process).
Files are read warm (just written, in the page cache) for every reader alike.

``--layout`` measures the physical layout choices of the store on ``--layout-events`` events:
row per event (list columns) vs row per hit, row-group sizes, and events per file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HIT_READ_COLUMNS = ["r", "phi", "z", "particle_id", "volume_id", "layer_id"]


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def to_tensors(row: dict[str, Any]) -> dict[str, Any]:
    """One stored row to the model-ready tensors every reader produces."""
    import torch

    x = torch.from_numpy(np.stack([row["r"], row["phi"], row["z"]], axis=1))
    particle_id = torch.from_numpy(np.array(row["particle_id"], dtype=np.int64))
    layer = torch.from_numpy(
        np.asarray(row["volume_id"], dtype=np.int64) * 100 + np.asarray(row["layer_id"])
    )
    return {"x": x, "particle_id": particle_id, "layer": layer}


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


def _simulated_events(n_events: int, seed: int, rfactor: float):
    from raytrack.data.simulate import SimulationSettings, simulate_events

    return simulate_events(n_events, seed, SimulationSettings(rfactor=rfactor))


def ensure_store(path: Path, n_events: int, seed: int, rfactor: float, **write_kwargs: Any):
    """The simulated store at ``path``, generated unless it already holds exactly these events."""
    from raytrack.data.simulate import SimulationSettings, provenance
    from raytrack.data.store import EventStore, write_store

    wanted = provenance(n_events, seed, SimulationSettings(rfactor=rfactor))
    wanted["layout"] = {k: v for k, v in write_kwargs.items() if v is not None}
    if (path / "meta.json").is_file():
        store = EventStore(path)
        if store.metadata["provenance"] == wanted:
            return store, 0.0
    start = time.perf_counter()
    store = write_store(
        path, _simulated_events(n_events, seed, rfactor), provenance=wanted, overwrite=True,
        **write_kwargs,
    )  # fmt: skip
    return store, time.perf_counter() - start


def ensure_pyg_files(store_path: Path, out: Path) -> float:
    """One ``torch.save``d PyG ``Data`` per event of the store (x, particle_id, layer)."""
    import torch
    from torch_geometric.data import Data

    from raytrack.data.store import EventStore

    store = EventStore(store_path)
    stamp = out / "DONE"
    if stamp.is_file() and stamp.read_text() == str(len(store)):
        return 0.0
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    for row in store.iter_rows(columns=HIT_READ_COLUMNS):
        tensors = to_tensors(row)
        torch.save(Data(**tensors, num_nodes=len(tensors["x"])), out / f"event{row['event_id']:09d}.pt")
    stamp.write_text(str(len(store)))
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Readers (each runs in its own subprocess via --measure)
# ---------------------------------------------------------------------------------------------


def _consume(samples: Iterator[dict[str, Any]]) -> tuple[int, int]:
    events = hits = 0
    for sample in samples:
        events += 1
        hits += int(sample["x"].shape[0])
    return events, hits


def read_iter_rows(store_path: str, **_: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    from raytrack.data.store import EventStore

    store = EventStore(store_path)
    return lambda: (to_tensors(row) for row in store.iter_rows(columns=HIT_READ_COLUMNS))


def read_ray_data(
    store_path: str, batch_events: int = 16, datasource_v2: bool = False, **_: Any
) -> Callable[[], Iterator[dict[str, Any]]]:
    from raytrack.data.store import EventStore
    from raytrack.data.stream import iter_dataset_rows

    store = EventStore(store_path)
    ds = store.dataset(columns=HIT_READ_COLUMNS, datasource_v2=datasource_v2)
    return lambda: (to_tensors(row) for row in iter_dataset_rows(ds, batch_events=batch_events))


def read_ray_data_v2(store_path: str, **kwargs: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    return read_ray_data(store_path, datasource_v2=True, **kwargs)


def read_pyg(pyg_dir: str, **_: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    import torch

    files = sorted(Path(pyg_dir).glob("event*.pt"))

    def samples() -> Iterator[dict[str, Any]]:
        for file in files:
            data = torch.load(file, weights_only=False)
            yield {"x": data.x, "particle_id": data.particle_id, "layer": data.layer}

    return samples


READERS: dict[str, Callable[..., Callable[[], Iterator[dict[str, Any]]]]] = {
    "iter_rows": read_iter_rows,
    "ray_data": read_ray_data,
    "ray_data_v2": read_ray_data_v2,
    "pyg": read_pyg,
}
"""Each reader returns a function that yields one epoch of model-ready samples."""

READER_NAMES = {
    "iter_rows": "store, pyarrow `iter_rows`",
    "ray_data": "store, Ray Data `dataset()`",
    "ray_data_v2": "store, Ray Data `dataset(datasource_v2=True)`",
    "pyg": "PyG `torch.load` per event",
}


def measure(reader: str, epochs: int = 2, **kwargs: Any) -> dict[str, Any]:
    """Run inside the measurement subprocess: time ``epochs`` passes, sample the memory."""
    # Imports happen before the clock starts, for every reader alike.
    import torch  # noqa: F401
    import torch_geometric.data  # noqa: F401 - torch.load of a PyG Data needs it

    import raytrack.data.store
    import raytrack.data.stream  # noqa: F401

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


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def benchmark(args: argparse.Namespace) -> None:
    work = Path(args.workdir)
    rows = []
    for n in args.events:
        store_path = work / f"store_{n}"
        store, gen_s = ensure_store(store_path, n, args.seed, args.rfactor)
        pyg_dir = work / f"pyg_{n}"
        pyg_s = ensure_pyg_files(store_path, pyg_dir)
        hits = store.metadata["counts"]["hits"]
        print(
            f"# {n} events, {hits / n:.0f} hits/event: store {_dir_mb(store_path):.0f} MB in "
            f"{len(store.files)} files (generated in {gen_s:.1f} s); PyG files "
            f"{_dir_mb(pyg_dir):.0f} MB (written in {pyg_s:.1f} s)",
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


# ---------------------------------------------------------------------------------------------
# Layout study
# ---------------------------------------------------------------------------------------------


def _write_hit_rows(path: Path, events: list, events_per_file: int, row_group_events: int) -> None:
    """The alternative layout: one Parquet row per hit, ``event_id`` repeated, sorted by event."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raytrack.data.event import HIT_COLUMNS

    path.mkdir(parents=True)
    schema = pa.schema(
        [("event_id", pa.int64())]
        + [(name, pa.from_numpy_dtype(dtype)) for name, dtype in HIT_COLUMNS.items()]
    )
    for f in range(0, len(events), events_per_file):
        with pq.ParquetWriter(path / f"part-{f // events_per_file:05d}.parquet", schema,
                              compression="zstd") as writer:  # fmt: skip
            chunk = events[f : f + events_per_file]
            for g in range(0, len(chunk), row_group_events):
                group = chunk[g : g + row_group_events]
                columns = {"event_id": np.concatenate(
                    [np.full(e.num_hits, e.event_id, dtype=np.int64) for e in group])}  # fmt: skip
                for name, dtype in HIT_COLUMNS.items():
                    columns[name] = np.concatenate([e.hits[name] for e in group]).astype(dtype)
                table = pa.table(columns, schema=schema)
                writer.write_table(table, row_group_size=len(table))


def _hit_rows_pyarrow(path: Path) -> int:
    """Per-event dicts from the row-per-hit layout (row groups are aligned to events)."""
    import pyarrow.parquet as pq

    events = 0
    for file in sorted(path.glob("*.parquet")):
        pf = pq.ParquetFile(file)
        for g in range(pf.num_row_groups):
            table = pf.read_row_group(g, columns=["event_id"] + HIT_READ_COLUMNS)
            cols = {name: table.column(name).to_numpy() for name in table.column_names}
            ids = cols["event_id"]
            bounds = np.flatnonzero(np.diff(ids)) + 1
            starts = np.concatenate([[0], bounds])
            ends = np.concatenate([bounds, [len(ids)]])
            for s, e in zip(starts, ends):
                to_tensors({name: values[s:e] for name, values in cols.items()})
                events += 1
    return events


def _ray_hit_rows(path: Path, rows_per_batch: int) -> int:
    """Ray Data over the row-per-hit layout: hits/s only (regrouping events needs a shuffle)."""
    import ray.data

    ds = ray.data.read_parquet(str(path)).select_columns(["event_id"] + HIT_READ_COLUMNS)
    hits = 0
    for batch in ds.iter_batches(batch_size=rows_per_batch, batch_format="pyarrow"):
        hits += len(batch)
    return hits


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def layout_study(args: argparse.Namespace) -> None:
    import ray

    from raytrack.data.store import EventStore, write_store
    from raytrack.data.stream import iter_dataset_rows

    n = args.layout_events
    work = Path(args.workdir) / "layout"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    events, gen_s = _timed(lambda: list(_simulated_events(n, args.seed, args.rfactor)))
    hits = sum(e.num_hits for e in events)
    print(f"# layout study: {n} events, {hits / n:.0f} hits/event (simulated in {gen_s:.1f} s)")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ray.data.DataContext.get_current().use_datasource_v2 = False  # for the row-per-hit reads

    def ray_events(path: Path, v2: bool = False) -> int:
        store = EventStore(path)
        ds = store.dataset(columns=HIT_READ_COLUMNS, datasource_v2=v2)
        return sum(1 for r in iter_dataset_rows(ds) if to_tensors(r))

    def pa_events(path: Path) -> int:
        store = EventStore(path)
        return sum(1 for r in store.iter_rows(columns=HIT_READ_COLUMNS) if to_tensors(r))

    def one_event_ms(path: Path) -> float:
        store = EventStore(path)
        ids = store.event_ids()
        picks = np.random.default_rng(0).choice(ids, 20, replace=False)
        start = time.perf_counter()
        for event_id in picks:
            store.hits(int(event_id))
        return (time.perf_counter() - start) / len(picks) * 1000

    print("| layout | events/file | events/row group | files | MB | write s | "
          "pyarrow events/s | Ray Data events/s | Ray Data v2 events/s | one event ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    warm = work / "warm"  # the first Ray Data read pays start-up costs: keep it out of the table
    write_store(warm, events[:50], provenance={})
    ray_events(warm)
    ray_events(warm, v2=True)
    configs = [(n, g) for g in (16, 64, 128, 256)] + [(100, 64), (10, 10), (1, 1)]
    configs = list(dict.fromkeys(configs))  # a small --layout-events may repeat one
    for per_file, per_group in configs:
        path = work / f"event_{per_file}_{per_group}"
        _, write_s = _timed(write_store, path, events, provenance={},
                            events_per_file=per_file, row_group_events=per_group)  # fmt: skip
        store = EventStore(path)
        count, pa_s = _timed(pa_events, path)
        assert count == n
        count, ray_s = _timed(ray_events, path)
        assert count == n
        count, ray2_s = _timed(ray_events, path, v2=True)
        assert count == n
        print(
            f"| row per event | {per_file} | {per_group} | {len(store.files)} | "
            f"{_dir_mb(path):.1f} | {write_s:.2f} | {n / pa_s:,.0f} | {n / ray_s:,.0f} | "
            f"{n / ray2_s:,.0f} | {one_event_ms(path):.1f} |",
            flush=True,
        )
        if per_file == 1:
            shutil.rmtree(path)
    for per_group in (16, 64):
        path = work / f"hit_{n}_{per_group}"
        _, write_s = _timed(_write_hit_rows, path, events, n, per_group)
        count, pa_s = _timed(_hit_rows_pyarrow, path)
        assert count == n
        rows, ray_s = _timed(_ray_hit_rows, path, per_group * hits // n)
        assert rows == hits
        print(
            f"| row per hit | {n} | {per_group} | 1 | {_dir_mb(path):.1f} | {write_s:.2f} | "
            f"{n / pa_s:,.0f} | {n / ray_s:,.0f} (hits only, no regrouping) | - | - |",
            flush=True,
        )
    # Ray Data's per-row path over hits (what a per-hit row layout invites): a sample only.
    path = work / f"hit_{n}_64"
    sample = 200_000
    ds = ray.data.read_parquet(str(path)).select_columns(["event_id", *HIT_READ_COLUMNS])
    _, seconds = _timed(lambda: sum(1 for _ in ds.limit(sample).iter_rows()))
    print(f"\nRay Data iter_rows over hit rows: {sample / seconds:,.0f} hits/s "
          f"= {sample / seconds / (hits / n):,.0f} events/s")  # fmt: skip
    ray.shutdown()


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
