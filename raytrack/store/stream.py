"""From a sample store to rows on training workers: splits, Ray Data batches, sharding.

- :func:`split_ids`: a deterministic train/val/test split of row keys (``split_event_ids`` is
  its former name, kept as an alias).
- :func:`iter_dataset_rows`: Ray Data batches (pyarrow tables, one row per sample) turned into
  rows (:mod:`raytrack.store.rows`) by zero-copy list slicing.
- :func:`trial_dataset`: a split's dataset as a DDP trial reads it: blocks sized for sharding,
  read from Parquet once per trial (materialized into Ray's object store), so epochs after the
  first stream from the object store instead of decoding Parquet again.
- :func:`shard_data_config`: the ``ray.train.DataConfig`` under which each row reaches exactly
  one Ray Train worker per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from raytrack.store.rows import check_finite, table_rows

if TYPE_CHECKING:
    import ray.data
    import ray.train

__all__ = [
    "iter_dataset_rows",
    "shard_blocks",
    "shard_data_config",
    "split_event_ids",
    "split_ids",
    "split_materialized",
    "trial_dataset",
]

DEFAULT_BATCH_ROWS = 64
"""Rows per Ray Data batch in :func:`iter_dataset_rows` (~3 MB of hit columns at 1.5k hits;
measured on materialized blocks, 16 was no faster and 256 about as fast)."""

BLOCKS_PER_WORKER = 8
"""Blocks per Ray Train worker of a DDP trial's dataset (:func:`shard_blocks`)."""


def split_ids(
    ids: Iterable[int],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list[int], list[int], list[int]]:
    """Split the row keys ``ids`` into disjoint train, validation and test lists.

    The ids are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut at the rounded
    cumulative fractions, so every id lands in exactly one list, the result does not depend on
    the order of ``ids``, and the same ids and seed always give the same split. Each list is
    returned sorted (store order is the reading order; shuffling is the loop's business).
    """
    ids = [int(e) for e in ids]
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3:
        raise ValueError(
            f"fractions must be three numbers (train, val, test), but got {list(fractions)}"
        )
    if any(f < 0 or not math.isfinite(f) for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be non-negative and sum to 1, but got {list(fractions)}")
    unique = np.unique(np.asarray(ids, dtype=np.int64))
    if len(unique) != len(ids):
        values, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        raise ValueError(f"ids must be distinct, but {int(values[counts > 1][0])} repeats")
    order = np.random.default_rng(seed).permutation(len(unique))
    shuffled = unique[order]
    n = len(shuffled)
    cut1 = round(fractions[0] * n)
    cut2 = round((fractions[0] + fractions[1]) * n)
    cut2 = max(cut1, min(cut2, n))
    parts = (shuffled[:cut1], shuffled[cut1:cut2], shuffled[cut2:])
    train, val, test = (sorted(int(e) for e in part) for part in parts)
    return train, val, test


def split_event_ids(
    event_ids: Iterable[int],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list[int], list[int], list[int]]:
    """The former name of :func:`split_ids` (same split), until the tracking code is switched."""
    return split_ids(event_ids, fractions, seed)


def iter_dataset_rows(
    source: ray.data.Dataset | ray.data.DataIterator,
    *,
    batch_rows: int | None = None,
    key: str | None = None,
    prefetch_batches: int = 2,
    batch_events: int | None = None,
    finite: Iterable[str] = (),
) -> Iterator[dict[str, Any]]:
    """Yield the rows of ``source`` in the row form of :mod:`raytrack.store.rows`.

    Reads pyarrow batches of ``batch_rows`` rows (default :data:`DEFAULT_BATCH_ROWS`;
    ``batch_events`` is its former name) and slices each list column's flat values buffer by its
    offsets, so the arrays are read-only views (no per-item Python work). ``key`` names the key
    column, which becomes an ``int`` (default: found from the batches' schema, see
    :func:`raytrack.store.rows.key_column`). Works on a whole dataset and on a worker's shard
    (``ray.train.get_dataset_shard``). Columns named in ``finite`` (a store's
    ``finite_columns``) are checked for NaN and infinity batch by batch, as the store's own reader
    does, so a corrupted file fails the read instead of training on it.

    Shapes:
        as stored: ``(None, *fixed)`` columns ``[n, *fixed]`` per row (hit columns
        ``[num_hits]``, ``p_*`` columns ``[num_particles]`` in a tracking store), fixed columns
        their fixed shape, nested columns a list of arrays.
    """
    if batch_rows is not None and batch_events is not None:
        raise ValueError("pass batch_rows or its former name batch_events, not both")
    batch = batch_rows if batch_rows is not None else batch_events
    batch = DEFAULT_BATCH_ROWS if batch is None else batch
    if batch < 1:
        raise ValueError(f"batch_rows must be at least 1, but got batch_rows={batch}")
    batches = source.iter_batches(
        batch_size=batch, batch_format="pyarrow", prefetch_batches=prefetch_batches
    )
    finite = sorted(finite)
    for table in batches:
        if finite:
            check_finite(table, finite, where="a batch of the event stream: ")
        yield from table_rows(table, key)


def shard_blocks(rows: int, workers: int, files: int = 1) -> int:
    """Ray Data blocks for a dataset of ``rows`` rows in ``files`` files shared by ``workers``.

    Ray hands whole blocks to workers, each block to whichever worker asks next, so a shard
    is uneven by up to about one block; :data:`BLOCKS_PER_WORKER` blocks per worker keep that
    to an eighth of a worker's share. More, smaller blocks cost more than they balance: each
    block is a round trip (a task, an object, a fetch): 128 blocks of 8 events streamed
    2-3x slower than 16 (``benchmarks/results/event_stream_profile.json``). A file is at least
    one read task, hence one block.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, but got workers={workers}")
    return max(1, files, min(rows, BLOCKS_PER_WORKER * workers))


def trial_dataset(
    store: Any,
    ids: Iterable[int],
    workers: int,
    *,
    materialize: bool = True,
    columns: Sequence[str] | None = None,
) -> ray.data.Dataset:
    """The dataset of one split of a DDP trial, read from ``store`` (a ``SampleStore``).

    Blocks are sized by :func:`shard_blocks`. With ``materialize`` (the default) the Parquet
    files are read and decoded once, here, into Ray's object store (which spills to disk when
    full, so memory stays bounded), and every epoch streams those blocks: measured on the
    event layout, epochs 2 and 3 ran 2-5x faster than re-reading the Parquet files each epoch
    (``benchmarks/event_stream.md``). Without it, each epoch re-reads the files.
    """
    ids = list(ids)
    blocks = shard_blocks(len(store), workers, len(store.files))
    dataset = store.dataset(ids=ids, columns=columns, override_num_blocks=blocks)
    return dataset.materialize() if materialize and ids else dataset


def _is_materialized(dataset: Any) -> bool:
    from ray.data.dataset import MaterializedDataset

    return isinstance(dataset, MaterializedDataset)


def split_materialized(dataset: ray.data.Dataset, world_size: int) -> list[ray.data.DataIterator]:
    """One iterator per worker over a materialized dataset: every row in exactly one shard,
    shard sizes within one row of each other, the same shards every epoch.

    Iterating a materialized shard reads its blocks from the object store with no executor or
    coordinator per epoch; ``streaming_split`` routes every block through a coordinator actor
    and starts a new execution each epoch (its first epoch measured ~0.1k events/s;
    later epochs within noise of these shards, ``benchmarks/event_stream.md``). The rows of a shard stay with its worker across epochs;
    the loop shuffles within it.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, but got world_size={world_size}")
    if world_size == 1:
        return [dataset.iterator()]
    rows = dataset.count()
    cuts = [rows * rank // world_size for rank in range(1, world_size)]
    return [part.iterator() for part in dataset.split_at_indices(cuts)]


def _data_config_class() -> type:
    from ray.train import DataConfig

    class ExactlyOnceDataConfig(DataConfig):
        """``ray.train.DataConfig`` whose shards hold every row exactly once per epoch.

        Ray Train's default splits with ``streaming_split(..., equal=True)``, which may drop
        rows to give each worker the same count. This one splits a materialized dataset
        (:func:`trial_dataset`) with :func:`split_materialized`: fixed shards whose sizes differ
        by at most one row. Any other dataset it splits with ``streaming_split(equal=False)``:
        rows are handed out dynamically, so each row reaches exactly one worker per epoch and
        workers may get different numbers of rows (the loop tolerates uneven shards).
        """

        def configure(
            self,
            datasets: dict[str, ray.data.Dataset],
            world_size: int,
            worker_handles: Any,
            worker_node_ids: Any,
            **kwargs: Any,
        ) -> list[dict[str, ray.data.DataIterator]]:
            output: list[dict[str, Any]] = [{} for _ in range(world_size)]
            for name, dataset in datasets.items():
                if dataset.name is None:
                    dataset.set_name(name)
            to_split = (
                set(datasets) if self._datasets_to_split == "all" else set(self._datasets_to_split)
            )
            hints = worker_node_ids if getattr(self, "_enable_shard_locality", True) else None
            for name, dataset in datasets.items():
                if name in to_split and _is_materialized(dataset):
                    for rank, split in enumerate(split_materialized(dataset, world_size)):
                        output[rank][name] = split
                    continue
                dataset = dataset.copy(dataset)
                dataset.context.execution_options = self._options_for(name)
                if name in to_split:
                    splits = dataset.streaming_split(world_size, equal=False, locality_hints=hints)
                    for rank, split in enumerate(splits):
                        output[rank][name] = split
                else:
                    for rank in range(world_size):
                        output[rank][name] = dataset.iterator()
            return output

        def _options_for(self, name: str) -> Any:
            resolve = getattr(super(), "_resolve_execution_options", None)
            if resolve is not None:  # Ray >= 2.5x: per-dataset options
                return resolve(name)
            import copy

            return copy.deepcopy(
                getattr(self, "_execution_options", None) or self.default_ingest_options()
            )

    # Importable (and so picklable by reference) as raytrack.store.stream.ExactlyOnceDataConfig.
    ExactlyOnceDataConfig.__module__ = __name__
    ExactlyOnceDataConfig.__qualname__ = "ExactlyOnceDataConfig"
    return ExactlyOnceDataConfig


def _exactly_once_class() -> type:
    cls = globals().get("ExactlyOnceDataConfig")
    if cls is None:
        cls = globals()["ExactlyOnceDataConfig"] = _data_config_class()
    return cls


def __getattr__(name: str) -> Any:
    # ``ExactlyOnceDataConfig`` subclasses a Ray class: it is built on first use, not at import
    # (``import ray.train`` takes ~1 s), and stays importable by name so it pickles by reference.
    if name == "ExactlyOnceDataConfig":
        return _exactly_once_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shard_data_config(
    datasets_to_split: str | list[str] = "all", **kwargs: Any
) -> ray.train.DataConfig:
    """A ``ray.train.DataConfig`` for ``TorchTrainer`` that shards each dataset exactly once.

    Every dataset named in ``datasets_to_split`` (default: all) is split across the workers so
    that each row is delivered to exactly one worker per epoch; datasets not split are read
    whole by every worker. ``kwargs`` go to ``ray.train.DataConfig`` (``execution_options``,
    ``enable_shard_locality``).
    """
    return _exactly_once_class()(datasets_to_split=datasets_to_split, **kwargs)
