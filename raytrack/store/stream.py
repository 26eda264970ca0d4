"""From an event store to per-event rows on training workers: splits, Ray Data batches, sharding.

- :func:`split_event_ids`: a deterministic train/val/test split of event ids.
- :func:`iter_dataset_rows`: Ray Data batches (pyarrow tables, one row per event) turned into
  per-event dicts of numpy arrays by zero-copy list flattening.
- :func:`shard_data_config`: the ``ray.train.DataConfig`` under which each event reaches exactly
  one Ray Train worker per epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from raytrack.store.reader import table_rows

if TYPE_CHECKING:
    import ray.data
    import ray.train

__all__ = ["iter_dataset_rows", "shard_data_config", "split_event_ids"]

DEFAULT_BATCH_EVENTS = 16
"""Events per Ray Data batch in :func:`iter_dataset_rows` (~0.8 MB of hit columns at 1.5k hits)."""


def split_event_ids(
    event_ids: Iterable[int],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list[int], list[int], list[int]]:
    """Split ``event_ids`` into disjoint train, validation and test lists.

    The ids are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut at the rounded
    cumulative fractions, so every id lands in exactly one list, the result does not depend on
    the order of ``event_ids``, and the same ids and seed always give the same split. Each list
    is returned sorted (store order is the reading order; shuffling is the loop's business).
    """
    ids = [int(e) for e in event_ids]
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3:
        raise ValueError(
            f"fractions must be three numbers (train, val, test), but got {list(fractions)}"
        )
    if any(f < 0 or not math.isfinite(f) for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"fractions must be non-negative and sum to 1, but got {list(fractions)}"
        )
    unique = np.unique(np.asarray(ids, dtype=np.int64))
    if len(unique) != len(ids):
        values, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        raise ValueError(f"event ids must be distinct, but {int(values[counts > 1][0])} repeats")
    order = np.random.default_rng(seed).permutation(len(unique))
    shuffled = unique[order]
    n = len(shuffled)
    cut1 = round(fractions[0] * n)
    cut2 = round((fractions[0] + fractions[1]) * n)
    cut2 = max(cut1, min(cut2, n))
    parts = (shuffled[:cut1], shuffled[cut1:cut2], shuffled[cut2:])
    train, val, test = (sorted(int(e) for e in part) for part in parts)
    return train, val, test


def iter_dataset_rows(
    source: "ray.data.Dataset | ray.data.DataIterator",
    *,
    batch_events: int = DEFAULT_BATCH_EVENTS,
    prefetch_batches: int = 2,
) -> Iterator[dict[str, Any]]:
    """Yield the events of ``source`` as dicts: ``event_id`` (int) and one numpy array per column.

    Reads pyarrow batches of ``batch_events`` events and slices each list column's flat values
    buffer by its offsets, so the arrays are read-only views (no per-hit Python work). Works on a
    whole dataset and on a worker's shard (``ray.train.get_dataset_shard``).

    Shapes:
        hit columns ``[num_hits]``, particle columns (``p_*``) ``[num_particles]``, in the
        stored dtypes (:data:`~raytrack.families.tracking.event.HIT_COLUMNS`, ...).
    """
    if batch_events < 1:
        raise ValueError(f"batch_events must be at least 1, but got batch_events={batch_events}")
    batches = source.iter_batches(
        batch_size=batch_events, batch_format="pyarrow", prefetch_batches=prefetch_batches
    )
    for table in batches:
        yield from table_rows(table)


def _data_config_class() -> type:
    from ray.train import DataConfig

    class ExactlyOnceDataConfig(DataConfig):
        """``ray.train.DataConfig`` whose shards hold every row exactly once per epoch.

        Ray Train's default splits with ``streaming_split(..., equal=True)``, which may drop
        rows to give each worker the same count. This one splits with ``equal=False``: rows are
        handed out dynamically, so each event reaches exactly one worker per epoch and workers
        may get different numbers of events (the training loop must tolerate uneven shards).
        """

        def configure(
            self,
            datasets: dict[str, "ray.data.Dataset"],
            world_size: int,
            worker_handles: Any,
            worker_node_ids: Any,
            **kwargs: Any,
        ) -> list[dict[str, "ray.data.DataIterator"]]:
            output: list[dict[str, Any]] = [{} for _ in range(world_size)]
            for name, dataset in datasets.items():
                if dataset.name is None:
                    dataset.set_name(name)
            to_split = (
                set(datasets) if self._datasets_to_split == "all" else set(self._datasets_to_split)
            )
            hints = worker_node_ids if getattr(self, "_enable_shard_locality", True) else None
            for name, dataset in datasets.items():
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


def shard_data_config(datasets_to_split: str | list[str] = "all", **kwargs: Any) -> "ray.train.DataConfig":
    """A ``ray.train.DataConfig`` for ``TorchTrainer`` that shards each dataset exactly once.

    Every dataset named in ``datasets_to_split`` (default: all) is split across the workers so
    that each event is delivered to exactly one worker per epoch; datasets not split are read
    whole by every worker. ``kwargs`` go to ``ray.train.DataConfig`` (``execution_options``,
    ``enable_shard_locality``).
    """
    return _exactly_once_class()(datasets_to_split=datasets_to_split, **kwargs)
