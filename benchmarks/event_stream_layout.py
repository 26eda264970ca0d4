"""The store layout study of ``benchmarks/event_stream.py --layout``.

Measures the physical layout choices of the event store on ``--layout-events`` simulated events:
row per event (list columns, the store's layout) with several events per file and per row group,
vs row per hit (``event_id`` repeated, sorted by event). For each: files, size, write time,
events/s through pyarrow, Ray Data (v1 and v2 datasource) and the time to read one event.
Results: ``benchmarks/event_stream.md``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from event_stream_readers import HIT_READ_COLUMNS, dir_mb, simulated_events, to_tensors


def _write_hit_rows(path: Path, events: list, events_per_file: int, row_group_events: int) -> None:
    """The alternative layout: one Parquet row per hit, ``event_id`` repeated, sorted by event."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raytrack.families.tracking.event import HIT_COLUMNS

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

    from raytrack.families.tracking.event_store import read_event
    from raytrack.families.tracking.event_store import write_events as write_store
    from raytrack.store.sample_store import SampleStore as EventStore
    from raytrack.store.stream import iter_dataset_rows

    n = args.layout_events
    work = Path(args.workdir) / "layout"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    events, gen_s = _timed(lambda: list(simulated_events(n, args.seed, args.rfactor)))
    hits = sum(e.num_hits for e in events)
    print(f"# layout study: {n} events, {hits / n:.0f} hits/event (simulated in {gen_s:.1f} s)")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ray.data.DataContext.get_current().use_datasource_v2 = False  # for the row-per-hit reads

    def ray_events(path: Path, v2: bool = False) -> int:
        store = EventStore(path)
        ds = store.dataset(columns=HIT_READ_COLUMNS, datasource_v2=v2)
        return sum(1 for r in iter_dataset_rows(ds, key=store.key) if to_tensors(r))

    def pa_events(path: Path) -> int:
        store = EventStore(path)
        return sum(1 for r in store.iter_rows(columns=HIT_READ_COLUMNS) if to_tensors(r))

    def one_event_ms(path: Path) -> float:
        store = EventStore(path)
        ids = store.ids()
        picks = np.random.default_rng(0).choice(ids, 20, replace=False)
        start = time.perf_counter()
        for event_id in picks:
            read_event(store, int(event_id))
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
            f"{dir_mb(path):.1f} | {write_s:.2f} | {n / pa_s:,.0f} | {n / ray_s:,.0f} | "
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
            f"| row per hit | {n} | {per_group} | 1 | {dir_mb(path):.1f} | {write_s:.2f} | "
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
