"""Float columns hold finite values: refused at write, and a changed file is caught at read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from raytrack.store.columns import Column, StoreSchema
from raytrack.store.errors import StoreError
from raytrack.store.sample_store import SampleStore
from raytrack.store.stream import iter_dataset_rows
from raytrack.store.writing import write_store

SCHEMA = StoreSchema(
    "event_id",
    (Column("x", "float32", (None,), "hit"), Column("cell", "float32", (None,), "hit", finite=False),
     Column("layer_id", "int32", (None,), "hit")),
)  # fmt: skip


def _row(i: int, x: float = 1.0, cell: float = 0.5) -> dict:
    return {"event_id": i, "x": np.array([x, 2.0]), "cell": np.array([cell, 1.0]),
            "layer_id": np.array([1, 2])}  # fmt: skip


def _write(path: Path, rows) -> SampleStore:
    return write_store(path, rows, schema=SCHEMA, provenance={}, rows_per_file=2)


def test_non_finite_values_are_refused_at_write_and_nothing_is_left(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        target = tmp_path / f"s{bad}"
        with pytest.raises(StoreError, match="row event_id=2: column 'x' has 1 non-finite value"):
            _write(target, [_row(1), _row(2, x=bad), _row(3)])
        assert not target.exists()
        assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_column_declared_finite_false_keeps_its_nans(tmp_path: Path) -> None:
    store = _write(tmp_path / "s", [_row(1, cell=np.nan), _row(2)])
    assert store.finite_columns == frozenset({"x"})
    assert np.isnan(store.row(1)["cell"][0])
    again = SampleStore(store.path)
    assert [c.finite for c in again.schema.columns] == [True, False, True]


def _poison(store: SampleStore) -> Path:
    """Rewrite the first file with a NaN in column x, as a hand edit outside raytrack would."""
    victim = store.files[0]
    table = pq.read_table(victim)
    x = table.column("x").to_pylist()
    x[1][0] = float("nan")
    index = table.schema.get_field_index("x")
    table = table.set_column(
        index, table.schema.field(index), pa.array(x, table.schema.field(index).type)
    )
    pq.write_table(table, victim)
    return victim


def test_a_hand_edited_nan_is_named_when_read(tmp_path: Path) -> None:
    store = _write(tmp_path / "s", [_row(i) for i in range(1, 6)])
    victim = _poison(store)
    opened = SampleStore(store.path)
    with pytest.raises(StoreError, match=f"{victim.name}: column 'x' holds non-finite values"):
        list(opened.iter_rows())
    with pytest.raises(StoreError, match="the row with event_id 2\\)"):
        opened.row(2)
    assert opened.row(4)["x"][0] == 1.0  # the other files still read


def test_the_event_stream_checks_the_same_columns(ray_session, tmp_path: Path) -> None:
    store = _write(tmp_path / "s", [_row(i) for i in range(1, 6)])
    _poison(store)
    opened = SampleStore(store.path)
    assert len(list(iter_dataset_rows(opened.dataset()))) == 5  # unchecked: the NaN passes
    with pytest.raises(StoreError, match="column 'x' holds non-finite values"):
        list(iter_dataset_rows(opened.dataset(), finite=opened.finite_columns))
