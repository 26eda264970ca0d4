"""Events in the sample store: the tracking schema, contract dtypes, groups, graphs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from raytrack.families.tracking.event import CELL_COLUMNS, HIT_COLUMNS, PARTICLE_COLUMNS, Event
from raytrack.families.tracking.event_store import (
    GRAPH_COLUMNS,
    columns_of,
    event_counts,
    read_event,
    write_events,
)
from raytrack.store.columns import StoreError
from raytrack.store.sample_store import SampleStore


def make_event(
    event_id: int,
    n_hits: int = 50,
    n_particles: int = 7,
    seed: int | None = None,
    cells: bool = False,
) -> Event:
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
def store(tmp_path: Path) -> SampleStore:
    return write_events(
        tmp_path / "store", _events(range(10, 30)), provenance={"test": True}, source="unit",
        events_per_file=8, row_group_events=3,
    )  # fmt: skip


def test_round_trip_keeps_every_column_with_contract_dtypes(store: SampleStore) -> None:
    events = {e.event_id: e for e in _events(range(10, 30))}
    assert len(store) == 20 and store.key == "event_id" and store.source == "unit"
    assert store.ids() == list(range(10, 30))
    assert columns_of(store, "hit") == list(HIT_COLUMNS)
    assert columns_of(store, "particle") == list(PARTICLE_COLUMNS)
    for event_id in (10, 17, 29):
        original, back = events[event_id], read_event(store, event_id)
        for name, dtype in HIT_COLUMNS.items():
            assert back.hits[name].dtype == dtype, name
            np.testing.assert_array_equal(back.hits[name], original.hits[name].astype(dtype))
        for name, dtype in PARTICLE_COLUMNS.items():
            assert back.particles[name].dtype == dtype, name
            np.testing.assert_array_equal(
                back.particles[name], original.particles[name].astype(dtype)
            )
        assert back.event_id == event_id and back.num_hits == original.num_hits
        assert set(back.to_row()) == set(store.columns)


def test_counts_and_groups(store: SampleStore) -> None:
    counts = event_counts(store)
    assert counts == {
        "events": 20, "hits": sum(e.num_hits for e in _events(range(10, 30))),
        "particles": 20 * 7, "edges": 0,
    }  # fmt: skip
    assert {c.group for c in store.schema.columns} == {"hit", "particle"}
    assert [len(f.name) > 0 for f in store.files] == [True, True, True]


def test_cell_and_extra_columns_are_kept(tmp_path: Path) -> None:
    events = _events(range(3), cells=True)
    for e in events:
        e.hits["layer_order"] = np.arange(e.num_hits, dtype=np.int16)  # type: ignore[index]
        e.hits["emb_0"] = np.linspace(0, 1, e.num_hits)  # type: ignore[index]  float64 extra
    store = write_events(tmp_path / "s", events, provenance={})
    assert columns_of(store, "hit") == list(HIT_COLUMNS) + list(CELL_COLUMNS) + [
        "emb_0",
        "layer_order",
    ]
    hits = read_event(store, 1).hits
    assert hits["leta"].dtype == np.float32 and hits["layer_order"].dtype == np.int16
    assert hits["emb_0"].dtype == np.float32  # float64 extras are stored as float32


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.hits.pop("x"), r"row event_id=3: .*'x'"),
        (lambda e: e.particles.pop("nhits"), r"row event_id=3: .*'p_nhits'"),
        (lambda e: e.hits.__setitem__("volume_id", e.hits["volume_id"] + 0.5),
         r"row event_id=3: column 'volume_id'.*float64.*int32"),
        (lambda e: e.hits.__setitem__("y", e.hits["y"][:-1]), r"row event_id=3: .*group 'hit'"),
        (lambda e: e.hits.__setitem__("extra", np.zeros(e.num_hits)), r"row event_id=3: .*'extra'"),
    ],
)  # fmt: skip
def test_invalid_events_are_named(tmp_path: Path, mutate, message) -> None:
    events = _events(range(5))
    mutate(events[3])
    with pytest.raises(StoreError, match=message):
        write_events(tmp_path / "s", events, provenance={})
    assert not (tmp_path / "s").exists()


def test_the_first_event_must_have_the_contract_columns(tmp_path: Path) -> None:
    event = make_event(0)
    event.particles.pop("q")  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match=r"event 0: missing particle column\(s\) \['q'\]"):
        write_events(tmp_path / "s", [event], provenance={})


def _with_graph(event: Event, src, dst) -> Event:
    score = np.linspace(0, 1, len(src), dtype=np.float32)
    edges = {"src": np.asarray(src), "dst": np.asarray(dst), "score": score}
    return Event(event.event_id, event.hits, event.particles, edges=edges)


def test_stage_graphs_round_trip(tmp_path: Path) -> None:
    events = [_with_graph(make_event(i, seed=i), [0, 1, 2], [1, 2, 3 + i]) for i in range(3)]
    store = write_events(tmp_path / "graphs", events, provenance={"stage": "test"})
    assert columns_of(store, "edge") == ["src", "dst", "score"]
    assert [c for c in store.schema.columns if c.group == "edge"] == list(GRAPH_COLUMNS)
    assert event_counts(store)["edges"] == 9
    back = read_event(store, 2)
    assert back.edge_index.tolist() == [[0, 1, 2], [1, 2, 5]]
    assert back.edges["score"].dtype == np.float32
    assert read_event(store, 0).num_hits == events[0].num_hits  # hits untouched by the graph


def test_graph_edges_must_point_at_hits(tmp_path: Path) -> None:
    event = _with_graph(make_event(0, n_hits=5, seed=0), [0], [5])
    with pytest.raises(StoreError, match=r"edge ends must be hit positions in \[0, 5\)"):
        write_events(tmp_path / "bad", [event], provenance={})


def test_a_v1_store_reads_as_events() -> None:
    """Stores written by raytrack 0.1 need no regeneration: their events read as before."""
    v1 = SampleStore(Path(__file__).parents[2] / "store" / "files" / "v1_graph")
    event = read_event(v1, v1.ids()[0])
    assert event.num_hits > 0 and event.edge_index is not None
    assert event_counts(v1)["edges"] == v1.counts["edge"]
