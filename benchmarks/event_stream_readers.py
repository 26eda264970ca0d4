"""The event stream benchmark's data and readers (used by ``benchmarks/event_stream.py``).

The data: simulated events written once to an event store (:func:`ensure_store`) and, as the
common alternative, to one ``torch.save``d PyG ``Data`` graph per event
(:func:`ensure_pyg_files`). The readers (:data:`READERS`): each returns a function that yields
one epoch of the same model-ready tensors (:func:`to_tensors`): node features ``(r, phi, z)``
float32 ``[N, 3]``, ``particle_id`` int64 ``[N]`` and a layer index int64 ``[N]``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HIT_READ_COLUMNS = ["r", "phi", "z", "particle_id", "volume_id", "layer_id"]


def to_tensors(row: dict[str, Any]) -> dict[str, Any]:
    """One stored row to the model-ready tensors every reader produces."""
    import torch

    x = torch.from_numpy(np.stack([row["r"], row["phi"], row["z"]], axis=1))
    particle_id = torch.from_numpy(np.array(row["particle_id"], dtype=np.int64))
    layer = torch.from_numpy(
        np.asarray(row["volume_id"], dtype=np.int64) * 100 + np.asarray(row["layer_id"])
    )
    return {"x": x, "particle_id": particle_id, "layer": layer}


def simulated_events(n_events: int, seed: int, rfactor: float):
    """``n_events`` simulated events (``raytrack.families.tracking.simulate``) with this seed and rfactor."""
    from raytrack.families.tracking.simulate import SimulationSettings, simulate_events

    return simulate_events(n_events, seed, SimulationSettings(rfactor=rfactor))


def ensure_store(path: Path, n_events: int, seed: int, rfactor: float, **write_kwargs: Any):
    """The simulated store at ``path``, generated unless it already holds exactly these events."""
    from raytrack.families.tracking.event_store import write_events
    from raytrack.families.tracking.simulate import SimulationSettings, provenance
    from raytrack.store.sample_store import SampleStore

    wanted = provenance(n_events, seed, SimulationSettings(rfactor=rfactor))
    wanted["layout"] = {k: v for k, v in write_kwargs.items() if v is not None}
    if (path / "meta.json").is_file():
        store = SampleStore(path)
        if store.provenance == wanted:
            return store, 0.0
    start = time.perf_counter()
    store = write_events(
        path, simulated_events(n_events, seed, rfactor), provenance=wanted, overwrite=True,
        **write_kwargs,
    )  # fmt: skip
    return store, time.perf_counter() - start


def ensure_pyg_files(store_path: Path, out: Path) -> float:
    """One ``torch.save``d PyG ``Data`` per event of the store (x, particle_id, layer)."""
    import torch
    from torch_geometric.data import Data

    from raytrack.store.sample_store import SampleStore

    store = SampleStore(store_path)
    stamp = out / "DONE"
    if stamp.is_file() and stamp.read_text() == str(len(store)):
        return 0.0
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    for row in store.iter_rows(columns=HIT_READ_COLUMNS):
        tensors = to_tensors(row)
        torch.save(
            Data(**tensors, num_nodes=len(tensors["x"])), out / f"event{row['event_id']:09d}.pt"
        )
    stamp.write_text(str(len(store)))
    return time.perf_counter() - start


def read_iter_rows(store_path: str, **_: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    from raytrack.store.sample_store import SampleStore

    store = SampleStore(store_path)
    return lambda: (to_tensors(row) for row in store.iter_rows(columns=HIT_READ_COLUMNS))


def read_ray_data(
    store_path: str, batch_events: int = 16, datasource_v2: bool = False, **_: Any
) -> Callable[[], Iterator[dict[str, Any]]]:
    from raytrack.store.sample_store import SampleStore
    from raytrack.store.stream import iter_dataset_rows

    store = SampleStore(store_path)
    ds = store.dataset(columns=HIT_READ_COLUMNS, datasource_v2=datasource_v2)
    return lambda: (
        to_tensors(row) for row in iter_dataset_rows(ds, batch_rows=batch_events, key=store.key)
    )


def read_trial_pyarrow(store_path: str, **_: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    """A single-worker trial's path as raytrack runs it: every stored column, pyarrow."""
    from raytrack.store.sample_store import SampleStore
    from raytrack.tune.trainable import store_row_source

    ids = SampleStore(store_path).ids()
    source = store_row_source(store_path, {"train": ids})
    return lambda: (to_tensors(row) for row in source("train", 0))


def read_ray_data_ddp(
    store_path: str, workers: int = 2, split: bool = True, **_: Any
) -> Callable[[], Iterator[dict[str, Any]]]:
    """The DDP workers' path as raytrack runs it, all shards consumed here in turn: the trial's
    dataset (:func:`trial_dataset`: every column, blocks for ``workers``, read once), split as
    ``ExactlyOnceDataConfig`` splits it (:func:`split_materialized`), rows as ``_worker_loop``
    makes them. The dataset is built and read on the first epoch, so epoch 1 includes the read.
    ``split=False``: the dataset iterated whole, as a single-worker trial streaming through Ray
    Data would."""
    from raytrack.store.sample_store import SampleStore
    from raytrack.store.stream import iter_dataset_rows, split_materialized, trial_dataset

    store = SampleStore(store_path)
    shards: list[Any] = []

    def epoch() -> Iterator[dict[str, Any]]:
        if not shards:
            dataset = trial_dataset(store, store.ids(), workers)
            shards.extend(split_materialized(dataset, workers) if split else [dataset])
        for shard in shards:
            for row in iter_dataset_rows(shard, key=store.key, finite=store.finite_columns):
                yield to_tensors(row)

    return epoch


def read_ray_data_trial(store_path: str, **_: Any) -> Callable[[], Iterator[dict[str, Any]]]:
    return read_ray_data_ddp(store_path, workers=1, split=False)


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
    "trial_pyarrow": read_trial_pyarrow,
    "ray_data_ddp": read_ray_data_ddp,
    "ray_data_trial": read_ray_data_trial,
    "ray_data": read_ray_data,
    "ray_data_v2": read_ray_data_v2,
    "pyg": read_pyg,
}
"""Each reader returns a function that yields one epoch of model-ready samples."""

READER_NAMES = {
    "iter_rows": "store, pyarrow `iter_rows` (hit columns)",
    "trial_pyarrow": "single-worker trial path: pyarrow `iter_rows`, all columns",
    "ray_data_ddp": "DDP path: `trial_dataset` (read once) + `split_materialized`, 2 shards",
    "ray_data_trial": "single-worker via Ray Data: `trial_dataset`, no split, all columns",
    "ray_data": "store, Ray Data `dataset()` re-read per epoch (hit columns)",
    "ray_data_v2": "store, Ray Data `dataset(datasource_v2=True)`",
    "pyg": "PyG `torch.load` per event",
}


def dir_mb(path: Path) -> float:
    """Size in MB of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
