"""The Parquet event store: round trips, layout, validation and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raytrack.families.tracking.event import CELL_COLUMNS, HIT_COLUMNS, PARTICLE_COLUMNS, Event
from raytrack.store.reader import META_FILE, EventStore, EventStoreError, write_store


def make_event(event_id: int, n_hits: int = 50, n_particles: int = 7, seed: int | None = None,
               cells: bool = False) -> Event:
    """A small hand-made event with every contract column (values need not be physical)."""
    rng = np.random.default_rng(event_id if seed is None else seed)
    pids = np.arange(1, n_particles + 1, dtype=np.int64) * 1000
    hit_pid = np.where(rng.random(n_hits) < 0.2, 0, rng.choice(pids, n_hits))
    x, y, z = rng.normal(0, 300, (3, n_hits))
    r = np.hypot(x, y)
    hits = {
        "hit_id": np.arange(1, n_hits + 1),
        "x": x, "y": y, "z": z,
        "volume_id": rng.integers(7, 18, n_hits),
        "layer_id": rng.integers(2, 14, n_hits),
        "module_id": rng.integers(1, 3000, n_hits),
        "particle_id": hit_pid,
        "weight": rng.random(n_hits),
        "r": r, "phi": np.arctan2(y, x), "eta": np.arcsinh(z / r),
    }  # fmt: skip
    if cells:
        hits.update({name: rng.random(n_hits) for name in CELL_COLUMNS})
    px, py, pz = rng.normal(0, 2, (3, n_particles))
    particles = {
        "particle_id": pids,
        "vx": rng.normal(size=n_particles), "vy": rng.normal(size=n_particles),
        "vz": rng.normal(size=n_particles),
        "px": px, "py": py, "pz": pz,
        "q": rng.choice([-1, 1], n_particles),
        "nhits": np.array([(hit_pid == p).sum() for p in pids]),
        "pt": np.hypot(px, py), "eta": np.arcsinh(pz / np.hypot(px, py)),
    }  # fmt: skip
    return Event(event_id=event_id, hits=hits, particles=particles)


def _events(ids, **kwargs):
    return [make_event(i, n_hits=20 + 3 * (i % 5), **kwargs) for i in ids]


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return write_store(
        tmp_path / "store", _events(range(10, 30)), provenance={"test": True},
        events_per_file=8, row_group_events=3,
    )  # fmt: skip


def test_round_trip_keeps_every_column_with_contract_dtypes(store: EventStore) -> None:
    events = {e.event_id: e for e in _events(range(10, 30))}
    assert len(store) == 20
    assert store.event_ids() == list(range(10, 30))
    for event_id in (10, 17, 29):
        original = events[event_id]
        hits = store.hits(event_id)
        assert list(hits.columns) == list(HIT_COLUMNS)
        for name, dtype in HIT_COLUMNS.items():
            assert hits[name].dtype == dtype, name
            np.testing.assert_array_equal(hits[name], original.hits[name].astype(dtype))
        particles = store.particles(event_id)
        assert list(particles.columns) == list(PARTICLE_COLUMNS)
        for name, dtype in PARTICLE_COLUMNS.items():
            assert particles[name].dtype == dtype, name
            np.testing.assert_array_equal(particles[name], original.particles[name].astype(dtype))
        event = store.event(event_id)
        assert event.event_id == event_id and event.num_hits == original.num_hits
        assert set(event.to_row()) == set(store.columns)


def test_layout_files_row_groups_and_metadata(store: EventStore) -> None:
    import pyarrow.parquet as pq

    meta = store.metadata
    assert meta["schema_version"] == 1
    assert meta["provenance"] == {"test": True}
    assert meta["counts"]["events"] == 20
    assert meta["counts"]["hits"] == sum(e.num_hits for e in _events(range(10, 30)))
    assert meta["counts"]["particles"] == 20 * 7
    assert meta["columns"][0] == "event_id" and "p_pt" in meta["columns"]
    assert [f["events"] for f in meta["files"]] == [8, 8, 4]
    assert sorted(p.name for p in store.path.iterdir()) == [
        "meta.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet",
    ]  # fmt: skip
    first = pq.ParquetFile(store.files[0])
    assert first.num_row_groups == 3  # 3 + 3 + 2 events
    assert first.schema_arrow.field("x").type.value_type == "float"


def test_iter_rows_streams_subsets_and_columns(store: EventStore) -> None:
    rows = list(store.iter_rows())
    assert [r["event_id"] for r in rows] == list(range(10, 30))
    assert isinstance(rows[0]["event_id"], int)
    assert rows[3]["x"].dtype == np.float32
    some = list(store.iter_rows(event_ids=[28, 11, 19], columns=["x", "p_pt"]))
    assert [r["event_id"] for r in some] == [11, 19, 28]
    assert set(some[0]) == {"event_id", "x", "p_pt"}
    np.testing.assert_array_equal(some[2]["x"], store.hits(28)["x"])
    with pytest.raises(KeyError, match="not in event store"):
        list(store.iter_rows(event_ids=[999]))
    with pytest.raises(KeyError, match="unknown column"):
        list(store.iter_rows(columns=["nope"]))


def test_cell_and_extra_columns_are_kept(tmp_path: Path) -> None:
    events = _events(range(3), cells=True)
    for e in events:
        e.hits["layer_order"] = np.arange(e.num_hits, dtype=np.int16)  # type: ignore[index]
    store = write_store(tmp_path / "s", events, provenance={})
    hits = store.hits(1)
    assert list(hits.columns) == list(HIT_COLUMNS) + list(CELL_COLUMNS) + ["layer_order"]
    assert hits["leta"].dtype == np.float32 and hits["layer_order"].dtype == np.int16


def test_missing_store_and_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        EventStore(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(EventStoreError, match="no meta.json"):
        EventStore(tmp_path / "plain")


def test_corrupt_or_missing_parquet_file_is_named(store: EventStore) -> None:
    victim = store.files[1]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(EventStoreError, match="part-00001.parquet"):
        EventStore(store.path)
    victim.unlink()
    with pytest.raises(EventStoreError, match="missing its Parquet file .*part-00001.parquet"):
        EventStore(store.path)


def test_corrupt_data_pages_are_named_when_read(store: EventStore) -> None:
    victim = store.files[0]
    data = bytearray(victim.read_bytes())
    data[4:600] = b"\xff" * 596  # inside the first row group's pages; the footer survives
    victim.write_bytes(bytes(data))
    reopened = EventStore(store.path)
    with pytest.raises(EventStoreError, match="part-00000.parquet"):
        list(reopened.iter_rows())


def test_refuses_to_overwrite_unless_asked(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_store(store.path, _events([1]), provenance={})
    replaced = write_store(store.path, _events([1, 2]), provenance={"v": 2}, overwrite=True)
    assert len(replaced) == 2 and replaced.metadata["provenance"] == {"v": 2}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left
    other = tmp_path / "not_a_store"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(EventStoreError, match="not an event store"):
        write_store(other, _events([1]), provenance={}, overwrite=True)


def test_interrupted_write_leaves_nothing_that_looks_like_a_store(tmp_path: Path) -> None:
    def events():
        yield from _events(range(5))
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError, match="generator died"):
        write_store(tmp_path / "s", events(), provenance={}, row_group_events=2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.hits.pop("x"), r"event 3: missing hit column\(s\) \['x'\]"),
        (lambda e: e.particles.pop("nhits"), r"event 3: missing particle column\(s\) \['nhits'\]"),
        (lambda e: e.hits.__setitem__("volume_id", e.hits["volume_id"] + 0.5),
         r"event 3: hit column 'volume_id' has dtype float64, which cannot be stored as int32"),
        (lambda e: e.hits.__setitem__("y", e.hits["y"][:-1]),
         r"event 3: hit columns differ in length"),
        (lambda e: e.hits.__setitem__("extra", np.zeros(e.num_hits)),
         r"event 3: unexpected hit column\(s\) \['extra'\]"),
    ],
)  # fmt: skip
def test_invalid_events_are_named(tmp_path: Path, mutate, message) -> None:
    events = _events(range(5))
    mutate(events[3])
    with pytest.raises(EventStoreError, match=message):
        write_store(tmp_path / "s", events, provenance={})
    assert not (tmp_path / "s").exists()


def test_duplicate_ids_and_empty_input_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EventStoreError, match="event 2: duplicate event_id"):
        write_store(tmp_path / "s", _events([1, 2, 2]), provenance={})
    with pytest.raises(EventStoreError, match="no events"):
        write_store(tmp_path / "s", [], provenance={})
    with pytest.raises(EventStoreError, match="JSON-serialisable"):
        write_store(tmp_path / "s", _events([1]), provenance={"f": object()})


def test_newer_schema_version_is_refused(store: EventStore) -> None:
    meta = json.loads((store.path / META_FILE).read_text())
    meta["schema_version"] = 99
    (store.path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(EventStoreError, match="schema_version 99"):
        EventStore(store.path)


def test_missing_event_id_message(store: EventStore) -> None:
    with pytest.raises(KeyError, match=r"event 5 is not in event store .*ids 10\.\.29"):
        store.hits(5)


def test_frames_are_pandas(store: EventStore) -> None:
    assert isinstance(store.hits(10), pd.DataFrame)
    assert isinstance(store.particles(10), pd.DataFrame)


def _with_graph(event: Event, src, dst) -> Event:
    score = np.linspace(0, 1, len(src), dtype=np.float32)
    return Event(event.event_id, event.hits, event.particles, edges={"src": np.asarray(src), "dst": np.asarray(dst), "score": score})


def test_stage_graphs_round_trip(tmp_path: Path) -> None:
    events = [_with_graph(make_event(i, seed=i), [0, 1, 2], [1, 2, 3 + i]) for i in range(3)]
    store = write_store(tmp_path / "graphs", events, provenance={"stage": "test"})
    assert store.edge_columns == ["src", "dst", "score"]
    assert store.metadata["counts"]["edges"] == 9
    back = store.event(2)
    assert back.edge_index.tolist() == [[0, 1, 2], [1, 2, 5]]
    assert back.edges["score"].dtype == np.float32
    assert store.event(0).num_hits == events[0].num_hits  # hits untouched by the graph


def test_graph_edges_must_point_at_hits(tmp_path: Path) -> None:
    event = _with_graph(make_event(0, n_hits=5, seed=0), [0], [5])
    with pytest.raises(EventStoreError, match=r"edge ends must be hit positions in \[0, 5\)"):
        write_store(tmp_path / "bad", [event], provenance={})
