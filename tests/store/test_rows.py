"""Arrow tables to rows: every column kind, zero-copy views, slices, chunks and the key."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from raytrack.store.columns import Column, StoreError, StoreSchema
from raytrack.store.rows import column_values, key_column, table_rows
from raytrack.store.writing import column_array

SCHEMA = StoreSchema("sample_id", (
    Column("label", "int16"), Column("ok", "bool"), Column("stem", "str"),
    Column("vec", "float32", (3,)), Column("mat", "int8", (2, 2)),
    Column("hits", "float32", (None,), "hit"), Column("crops", "uint8", (None, 2, 2, 3), "hit"),
    Column("frames", "int64", (None, None)), Column("tags", "str", (None,)),
))  # fmt: skip


def make_row(i: int) -> dict:
    n = i % 3  # 0, 1 or 2 hits
    return {
        "sample_id": 10 + i, "label": i - 2, "ok": i % 2 == 1, "stem": f"s{i}",
        "vec": np.arange(3) + i, "mat": np.full((2, 2), i),
        "hits": np.arange(n) * 0.5, "crops": np.full((n, 2, 2, 3), i, np.uint8),
        "frames": [np.arange(j + i) for j in range(i % 2 + 1)], "tags": ["t"] * n,
    }  # fmt: skip


def make_table(ids) -> pa.Table:
    rows = [SCHEMA.check(make_row(i)) for i in ids]
    arrays = [pa.array([r["sample_id"] for r in rows], pa.int64())]
    arrays += [column_array(c, [r[c.name] for r in rows]) for c in SCHEMA.columns]
    return pa.Table.from_arrays(arrays, schema=SCHEMA.arrow_schema())


def assert_row(row: dict, i: int) -> None:
    want = SCHEMA.check(make_row(i))
    assert row.keys() == want.keys()
    assert row["sample_id"] == 10 + i and type(row["sample_id"]) is int
    assert row["stem"] == f"s{i}" and isinstance(row["stem"], str)
    assert row["label"] == i - 2 and row["label"].dtype == np.int16
    assert bool(row["ok"]) == (i % 2 == 1)
    for name in ("vec", "mat", "hits", "crops", "tags"):
        assert row[name].shape == np.shape(want[name]), name
        np.testing.assert_array_equal(row[name], want[name])
    assert row["crops"].dtype == np.uint8 and row["vec"].dtype == np.float32
    assert isinstance(row["frames"], list) and len(row["frames"]) == len(want["frames"])
    for got, expected in zip(row["frames"], want["frames"]):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)


def test_every_column_kind_becomes_the_row_form() -> None:
    rows = list(table_rows(make_table(range(6))))
    assert len(rows) == 6
    for i, row in enumerate(rows):
        assert_row(row, i)


def test_arrays_are_read_only_views_of_the_arrow_buffers() -> None:
    table = make_table(range(4))
    hits = table.column("hits").chunk(0).values
    crops = table.column("crops").chunk(0).values.flatten().flatten().flatten()
    rows = list(table_rows(table))
    row = rows[2]  # two hits, after 0 + 1 hits of rows 0 and 1
    assert not row["hits"].flags.writeable
    assert row["hits"].ctypes.data == hits.buffers()[1].address + 1 * 4
    assert row["crops"].ctypes.data == crops.buffers()[1].address + 1 * 12
    assert row["vec"].base is not None and not row["vec"].flags.writeable


def test_slices_and_chunked_tables_give_the_right_rows() -> None:
    table = make_table(range(6))
    assert [r["sample_id"] for r in table_rows(table.slice(2, 3))] == [12, 13, 14]
    for row, i in zip(table_rows(table.slice(2, 3)), range(2, 5)):
        assert_row(row, i)
    chunked = pa.concat_tables([make_table(range(3)), make_table(range(3, 6))])
    assert chunked.column("hits").num_chunks == 2
    for i, row in enumerate(table_rows(chunked)):
        assert_row(row, i)
    assert [len(v) for v in column_values(chunked.column("frames"))] == [1, 2, 1, 2, 1, 2]
    assert list(table_rows(table.slice(0, 0))) == []


def test_the_key_column_is_found_or_named() -> None:
    table = make_table(range(2))
    assert key_column(table.schema) == "sample_id"  # from the schema metadata
    bare = table.replace_schema_metadata(None)
    assert key_column(bare.schema) == "sample_id"  # the only non-nullable int64 column
    loose = pa.table({"sample_id": [1, 2], "n": [3, 4]})  # no metadata, all nullable
    assert key_column(loose.schema) is None
    row = next(table_rows(loose))
    assert isinstance(row["sample_id"], np.int64) and isinstance(row["n"], np.int64)
    assert type(next(table_rows(loose, key="n"))["n"]) is int
    with pytest.raises(KeyError, match="key column 'nope' is not in the table"):
        next(table_rows(loose, key="nope"))


def test_a_variable_list_inside_a_fixed_one_is_refused() -> None:
    array = pa.array([[[1], [2, 3]]], type=pa.list_(pa.list_(pa.int32()), 2))
    with pytest.raises(StoreError, match="only leading dims may be variable"):
        column_values(array)
