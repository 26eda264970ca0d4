"""A DDP trial's datasets (``trial_dataset``): blocks for sharding, read once, same samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.registry import get_model
from raytrack.store.sample_store import SampleStore
from raytrack.store.stream import (
    BLOCKS_PER_WORKER,
    iter_dataset_rows,
    shard_blocks,
    split_ids,
    split_materialized,
    trial_dataset,
)


def test_shard_blocks_gives_each_worker_a_few_blocks_and_each_file_one() -> None:
    assert shard_blocks(1000, 2) == 2 * BLOCKS_PER_WORKER
    assert shard_blocks(10_000, 2, files=10) == max(10, 2 * BLOCKS_PER_WORKER)
    assert shard_blocks(10_000, 1, files=10) == 10  # one read task per file at least
    assert shard_blocks(5, 4) == 5  # never more blocks than rows
    assert shard_blocks(0, 3) == 1
    with pytest.raises(ValueError, match="workers must be at least 1, but got workers=0"):
        shard_blocks(10, 0)


def _embedding_task():
    hparams = {"emb_hidden": 16, "nb_layer": 2, "emb_dim": 4, "regime": ["rp", "hnm", "norm"]}
    _, task = get_model("exatrkx_embedding").build(hparams, {})
    return task


@pytest.mark.ray
@pytest.mark.timeout(180)
@pytest.mark.parametrize("materialize", [True, False])
def test_ray_data_samples_equal_the_single_worker_samples(
    ray_session, simulated_store, materialize: bool
) -> None:
    """The DDP path's rows, prepared by a tracking task, equal those the single-worker path
    (pyarrow ``iter_rows``) prepares, and every training event arrives exactly once."""
    store = SampleStore(simulated_store(12, seed=5))
    train, _, _ = split_ids(store.ids(), (0.75, 0.25, 0.0), seed=1)
    task = _embedding_task()
    dataset = trial_dataset(store, train, workers=2, materialize=materialize)
    if materialize:
        # blocks of the whole store's rows, less those the split's filter emptied
        assert 1 < dataset.num_blocks() <= shard_blocks(len(store), 2, len(store.files))
    streamed = {}
    for epoch in range(2):  # the second epoch reads the materialized blocks again
        rows = list(iter_dataset_rows(dataset, key=store.key, finite=store.finite_columns))
        assert sorted(row[store.key] for row in rows) == train, f"epoch {epoch}"
        streamed = {row[store.key]: task.prepare(row) for row in rows}
    single = {row[store.key]: task.prepare(row) for row in store.iter_rows(ids=train)}
    assert sorted(single) == sorted(streamed) == train
    for key in train:
        assert single[key].keys() == streamed[key].keys()
        for name, value in single[key].items():
            np.testing.assert_array_equal(streamed[key][name], value, err_msg=f"{key} {name}")
    batch_single = task.collate([single[k] for k in train])
    batch_streamed = task.collate([streamed[k] for k in train])
    for name, value in batch_single.items():
        assert torch.equal(batch_streamed[name], value), name


@pytest.mark.ray
@pytest.mark.timeout(120)
def test_an_empty_split_gives_an_empty_dataset(ray_session, simulated_store) -> None:
    store = SampleStore(simulated_store(12, seed=5))
    assert list(iter_dataset_rows(trial_dataset(store, [], workers=2))) == []


@pytest.mark.ray
@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_materialized_shards_hold_each_row_once_and_differ_by_at_most_one(
    ray_session, simulated_store, workers: int
) -> None:
    store = SampleStore(simulated_store(12, seed=5))
    train, _, _ = split_ids(store.ids(), (0.75, 0.25, 0.0), seed=1)
    shards = split_materialized(trial_dataset(store, train, workers=workers), workers)
    assert len(shards) == workers
    for epoch in range(2):  # the same shards every epoch
        seen = [[row[store.key] for row in iter_dataset_rows(shard)] for shard in shards]
        together = [key for keys in seen for key in keys]
        assert sorted(together) == train and len(set(together)) == len(train), f"epoch {epoch}"
        sizes = [len(keys) for keys in seen]
        assert max(sizes) - min(sizes) <= 1, sizes
    with pytest.raises(ValueError, match="world_size must be at least 1, but got world_size=0"):
        split_materialized(trial_dataset(store, train, workers=1), 0)
