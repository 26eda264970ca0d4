"""Where the Ray Data path of a DDP trial loses time: one knob at a time, on one store.

    python benchmarks/event_stream_profile.py --events 1000

Runs in one process with local Ray (2 CPUs), on the store ``event_stream.py`` writes
(``benchmarks/_work/store_<events>``), one consumer reading the shards as DDP workers read theirs. Each variant changes one thing against raytrack's current DDP path
(``trial_dataset``: read once, ``shard_blocks`` blocks, 2 shards by ``split_materialized`` read
in turn, batches of ``DEFAULT_BATCH_ROWS``): re-reading the Parquet files every epoch (streamed
through ``streaming_split``), 128 blocks (the former ``shard_blocks`` at 1k events, 2 workers),
batch sizes, ``streaming_split`` (the former split), no split. Events/s of epochs 2 and 3
into the benchmark's tensors (``to_tensors``) go to ``benchmarks/results/event_stream_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from event_stream_readers import to_tensors  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "current (read once, shard_blocks, batch 64)": {},
    "re-read Parquet every epoch": {"materialize": False},
    "128 blocks (former shard_blocks)": {"blocks": 128},
    "batch 16 (former default)": {"batch": 16},
    "batch 256": {"batch": 256},
    "streaming_split (former DDP split)": {"split": "streaming"},
    "no split (one reader)": {"split": "none"},
}


def run_variant(store: Any, materialize: bool = True, blocks: int | None = None,
                batch: int | None = None, split: str = "materialized") -> dict[str, Any]:  # fmt: skip
    from raytrack.store.stream import (
        DEFAULT_BATCH_ROWS,
        iter_dataset_rows,
        split_materialized,
        trial_dataset,
    )

    ids = store.ids()
    if blocks is None:
        dataset = trial_dataset(store, ids, workers=2, materialize=materialize)
    else:
        dataset = store.dataset(ids=ids, override_num_blocks=blocks)
        dataset = dataset.materialize() if materialize else dataset
    if split == "materialized" and materialize:  # both shards, read in turn
        sources = split_materialized(dataset, 2)
    elif split == "none":
        sources = [dataset]
    else:
        sources = dataset.streaming_split(1, equal=False)
    result: dict[str, Any] = {"blocks": dataset.num_blocks() if materialize else blocks}
    for epoch in (1, 2, 3):
        start, events = time.perf_counter(), 0
        for source in sources:
            rows = iter_dataset_rows(source, batch_rows=batch or DEFAULT_BATCH_ROWS,
                                     key=store.key, finite=store.finite_columns)  # fmt: skip
            for row in rows:
                to_tensors(row)
                events += 1
        result[f"events_per_s_{epoch}"] = events / (time.perf_counter() - start)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "_work"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/event_stream_profile.json"))
    args = parser.parse_args()
    import ray

    from raytrack.store.sample_store import SampleStore

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report: dict[str, Any] = {"command": " ".join(["python", *sys.argv]), "uptime_before": uptime}
    store = SampleStore(Path(args.workdir) / f"store_{args.events}")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        report["variants"] = {}
        for name, kwargs in VARIANTS.items():
            report["variants"][name] = run_variant(store, **kwargs)
            print(name, json.dumps(report["variants"][name]), flush=True)
    finally:
        ray.shutdown()
    report["uptime_after"] = subprocess.run(
        ["uptime"], capture_output=True, text=True
    ).stdout.strip()
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
