"""Splits, Ray Data rows and exactly-once sharding across Ray Train workers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raytrack.store.columns import Column, StoreSchema
from raytrack.store.sample_store import SampleStore
from raytrack.store.stream import iter_dataset_rows, shard_data_config, split_ids, trial_dataset
from raytrack.store.writing import write_store

SCHEMA = StoreSchema(
    "event_id",
    (Column("x", "float32", (None,), "hit"), Column("layer_id", "int32", (None,), "hit"),
     Column("p_q", "int32", (None,), "particle")),
)  # fmt: skip


def _row(i: int) -> dict:
    rng = np.random.default_rng(i)
    n = 10 + i % 7
    return {"event_id": i, "x": rng.normal(size=n), "layer_id": rng.integers(0, 9, n),
            "p_q": rng.choice([-1, 1], 3)}  # fmt: skip


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> SampleStore:
    return write_store(
        tmp_path_factory.mktemp("stream") / "store", (_row(i) for i in range(100, 137)),
        schema=SCHEMA, provenance={}, rows_per_file=10, row_group_rows=4,
    )  # fmt: skip


def test_split_is_deterministic_disjoint_and_complete() -> None:
    ids = list(range(1000, 1100))
    train, val, test = split_ids(ids, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(train + val + test) == ids
    assert split_ids(reversed(ids), (0.8, 0.1, 0.1), seed=3) == (train, val, test)
    assert split_ids(ids, (0.8, 0.1, 0.1), seed=4) != (train, val, test)
    for n in range(12):
        train, val, test = split_ids(range(n), (0.5, 0.3, 0.2), seed=0)
        assert sorted(train + val + test) == list(range(n))
    assert split_ids([7], (1.0, 0.0, 0.0)) == ([7], [], [])


@pytest.mark.parametrize(
    "ids, fractions, message",
    [
        ([1, 2], (0.5, 0.5), "three numbers"),
        ([1, 2], (0.5, 0.6, 0.1), "sum to 1"),
        ([1, 2], (1.2, -0.1, -0.1), "non-negative"),
        ([1, 2, 2], (0.8, 0.1, 0.1), "2 repeats"),
    ],
)
def test_split_rejects_bad_input(ids, fractions, message) -> None:
    with pytest.raises(ValueError, match=message):
        split_ids(ids, fractions)


@pytest.mark.ray
def test_dataset_rows_match_the_store(ray_session, small_store: SampleStore) -> None:
    rows = {r["event_id"]: r for r in iter_dataset_rows(small_store.dataset(), batch_rows=5)}
    assert sorted(rows) == small_store.ids()
    for event_id in (100, 123, 136):
        stored = small_store.row(event_id)
        np.testing.assert_array_equal(rows[event_id]["x"], stored["x"])
        np.testing.assert_array_equal(rows[event_id]["p_q"], stored["p_q"])
        assert rows[event_id]["layer_id"].dtype == np.int32
    wanted = [101, 117, 130, 131]
    some = list(iter_dataset_rows(small_store.dataset(ids=wanted, columns=["x", "p_q"])))
    assert sorted(r["event_id"] for r in some) == wanted
    assert set(some[0]) == {"event_id", "x", "p_q"}
    assert list(iter_dataset_rows(small_store.dataset(ids=[]))) == []


def _train_loop(config: dict) -> None:
    import ray.train

    from raytrack.store.stream import iter_dataset_rows

    context = ray.train.get_context()
    shard = ray.train.get_dataset_shard("train")
    for epoch in range(config["epochs"]):
        seen = [row["event_id"] for row in iter_dataset_rows(shard, batch_rows=3)]
        out = Path(config["out"]) / f"rank{context.get_world_rank()}-epoch{epoch}.json"
        out.write_text(json.dumps(seen))
        ray.train.report({"epoch": epoch, "events": len(seen)})


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_workers_see_each_event_exactly_once_per_epoch(
    ray_session, small_store: SampleStore, tmp_path: Path
) -> None:
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    train_ids, _, _ = split_ids(small_store.ids(), (0.8, 0.1, 0.1), seed=0)
    out = tmp_path / "seen"
    out.mkdir()
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={"epochs": 2, "out": str(out)},
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        # as a DDP trial reads it: materialized once, 16 blocks over 4 files
        datasets={"train": trial_dataset(small_store, train_ids, workers=2)},
        dataset_config=shard_data_config(),
        run_config=RunConfig(
            name="exactly_once", storage_path=str(tmp_path / "results"),
            failure_config=FailureConfig(max_failures=0),
        ),
    )  # fmt: skip
    trainer.fit()
    for epoch in range(2):
        seen = [json.loads((out / f"rank{r}-epoch{epoch}.json").read_text()) for r in range(2)]
        together = seen[0] + seen[1]
        assert sorted(together) == sorted(train_ids), f"epoch {epoch}: {seen}"
        assert len(together) == len(set(together))
