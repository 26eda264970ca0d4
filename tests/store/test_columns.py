"""Store schemas: declared columns, their JSON and Arrow forms, row checks and inference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from raytrack.store.columns import KEY_METADATA, Column, StoreError, StoreSchema

HITS = (Column("x", "float32", (None,), "hit"), Column("layer", "int32", (None,), "hit"))
SCHEMA = StoreSchema("event_id", HITS + (
    Column("label", "uint8"),
    Column("stem", "str"),
    Column("spectrum", "float32", (4,)),
    Column("crops", "uint8", (None, 2, 2, 3)),
    Column("ids", "int64", (None, None)),
))  # fmt: skip


def good_row(key: int = 12, n: int = 3) -> dict:
    return {
        "event_id": key, "x": np.arange(n, dtype=np.float64), "layer": list(range(n)),
        "label": 7, "stem": "run1", "spectrum": np.ones(4, np.float32),
        "crops": np.zeros((2, 2, 2, 3), np.uint8), "ids": [np.arange(2), np.arange(0)],
    }  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "", "dtype": "float32"}, "column name must be a non-empty string, but got ''"),
        ({"name": "a", "dtype": "complex64"}, "dtype must be a numeric or bool .* but got 'complex64'"),
        ({"name": "a", "dtype": "object"}, "but got 'object'"),
        ({"name": "a", "dtype": "int8", "shape": (3, None)}, r"only leading dims may be None .* \(3, None\)"),
        ({"name": "a", "dtype": "int8", "shape": (0,)}, "positive ints and None, but got"),
        ({"name": "a", "dtype": "int8", "shape": 3}, "shape must be a tuple"),
        ({"name": "a", "dtype": "int8", "shape": (3,), "group": "hit"},
         r"group 'hit', so its shape must start with None .* but got \(3,\)"),
        ({"name": "a", "dtype": "int8", "shape": (None,), "group": ""}, "group must be a non-empty"),
    ],
)  # fmt: skip
def test_column_rules_name_the_column_and_value(kwargs, message) -> None:
    with pytest.raises(StoreError, match=message):
        Column(**kwargs)


def test_column_normalises_dtype_and_shape() -> None:
    column = Column("a", np.float32, [None, np.int64(4)])
    assert (column.dtype, column.shape) == ("float32", (None, 4))
    assert Column("s", str).dtype == "str" and Column("f", "float").dtype == "float64"


def test_schema_rules() -> None:
    with pytest.raises(StoreError, match=r"distinct, but \['x'\] repeat"):
        StoreSchema("k", (Column("x", "int8"), Column("x", "int8")))
    with pytest.raises(StoreError, match="'k' is the key"):
        StoreSchema("k", (Column("k", "int64"),))
    with pytest.raises(StoreError, match="key must be a non-empty column name"):
        StoreSchema("", ())


def test_json_round_trip_and_accessors() -> None:
    data = SCHEMA.to_json()
    assert data["columns"][0] == {"name": "x", "dtype": "float32", "shape": [None], "group": "hit"}
    assert StoreSchema.from_json(data) == SCHEMA
    assert SCHEMA.names[:3] == ("x", "layer", "label")
    assert SCHEMA.groups == {"hit": ("x", "layer")}
    assert SCHEMA.column("ids").shape == (None, None)
    with pytest.raises(KeyError, match="no column 'nope'; declared columns"):
        SCHEMA.column("nope")
    with pytest.raises(StoreError, match="unknown field"):
        StoreSchema.from_json({"key": "k", "columns": [{"name": "a", "dtype": "int8", "size": 3}]})
    with pytest.raises(StoreError, match="mapping of 'key' and 'columns'"):
        StoreSchema.from_json({"columns": []})


def test_arrow_schema_types() -> None:
    schema = SCHEMA.arrow_schema()
    assert schema.field("event_id").type == pa.int64() and not schema.field("event_id").nullable
    assert schema.metadata[KEY_METADATA] == b"event_id"
    assert schema.field("x").type == pa.list_(pa.float32())
    assert schema.field("stem").type == pa.string()
    assert schema.field("spectrum").type == pa.list_(pa.float32(), 4)
    assert schema.field("crops").type == pa.list_(pa.list_(pa.list_(pa.list_(pa.uint8(), 3), 2), 2))
    assert schema.field("ids").type == pa.list_(pa.list_(pa.int64()))


def test_check_casts_to_declared_dtypes() -> None:
    row = SCHEMA.check(good_row())
    assert row["event_id"] == 12 and type(row["event_id"]) is int
    assert row["x"].dtype == np.float32 and row["layer"].dtype == np.int32
    assert row["label"] == 7 and row["label"].dtype == np.uint8  # a Python int that fits
    assert row["stem"] == "run1"
    assert [a.dtype for a in row["ids"]] == [np.int64, np.int64]
    empty = SCHEMA.check({**good_row(n=0), "layer": []})  # [] is float64 to numpy
    assert empty["layer"].dtype == np.int32 and len(empty["layer"]) == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"x": None}, r"row event_id=12: missing column\(s\) \['x'\]"),
        ({"extra": 1}, r"row event_id=12: undeclared column\(s\) \['extra'\]"),
        ({"layer": np.linspace(0, 1, 3)},
         "row event_id=12: column 'layer' has dtype float64, which cannot be stored as int32"),
        ({"label": 300}, r"row event_id=12: column 'label' has values in \[300, 300\], which do not fit uint8"),
        ({"stem": 3}, "row event_id=12: column 'stem' has type int, but the store declares str"),
        ({"x": np.zeros((3, 2))},
         r"row event_id=12: column 'x' has shape \(3, 2\), but the store declares \(None,\)"),
        ({"spectrum": np.zeros(5)}, r"column 'spectrum' has shape \(5,\), but the store declares \(4,\)"),
        ({"crops": np.zeros((2, 2, 3, 3))}, r"column 'crops' has shape \(2, 2, 3, 3\)"),
        ({"ids": [np.arange(2), np.zeros((2, 2), int)]},
         r"column 'ids' item 1 has shape \(2, 2\), but the store declares \(None,\) for each item"),
        ({"x": [[1, 2], [3]]}, "row event_id=12: column 'x' is not a regular array"),
        ({"ids": 5}, r"column 'ids' must be a list of arrays \(shape \(None, None\)\), but got int"),
        ({"layer": [0, 1]},
         r"row event_id=12: columns of group 'hit' differ in length: \{'x': 3, 'layer': 2\}"),
        ({"event_id": 1.5}, "row event_id=1.5: the key must be an integer, but got float"),
        ({"event_id": True}, "the key must be an integer, but got bool"),
        ({"event_id": None}, "a row has no key column 'event_id'"),
    ],
)  # fmt: skip
def test_check_errors_name_the_row_and_the_column(change, message) -> None:
    row = good_row()
    for name, value in change.items():
        if value is None:
            row.pop(name)
        else:
            row[name] = value
    with pytest.raises(StoreError, match=message):
        SCHEMA.check(row)


def test_infer_without_declared_columns() -> None:
    row = {
        "sample_id": 3, "n": 4, "e": 1.5, "ok": True, "stem": "a.dat",
        "spectrum": np.zeros(100), "crops": np.zeros((2, 8, 8, 3), np.uint8),
        "frames": [np.arange(3), np.arange(1)], "boxes": [np.zeros((2, 4), np.float32)],
    }  # fmt: skip
    schema = StoreSchema.infer(row, key="sample_id")
    assert schema.key == "sample_id"
    assert [(c.name, c.dtype, c.shape) for c in schema.columns] == [
        ("n", "int64", ()), ("e", "float64", ()), ("ok", "bool", ()), ("stem", "str", ()),
        ("spectrum", "float64", (None,)), ("crops", "uint8", (None, 8, 8, 3)),
        ("frames", "int64", (None, None)), ("boxes", "float32", (None, None, 4)),
    ]  # fmt: skip
    assert schema.check(row)["frames"][1].tolist() == [0]
    assert (
        StoreSchema.infer(row, key="sample_id", float64_as_float32=True).column("e").dtype
        == "float32"
    )


def test_infer_takes_declared_columns_as_given() -> None:
    declared = [Column("spectrum", "float32", (100,)), Column("later", "int8")]
    row = {"sample_id": 1, "spectrum": np.zeros(100), "n": 2}
    schema = StoreSchema.infer(row, key="sample_id", declared=declared)
    assert schema.columns == (declared[0], Column("n", "int64"), declared[1])
    with pytest.raises(StoreError, match=r"row sample_id=1: missing column\(s\) \['later'\]"):
        schema.check(row)


@pytest.mark.parametrize(
    "value, message",
    [
        ([], "column 'v' is an empty list in the first row, .* declare the column"),
        (np.zeros(2, complex), "column 'v' has dtype complex128 .* cannot hold"),
        (np.array([None, 1]), "column 'v' has dtype object in the first row"),
    ],
)
def test_infer_errors(value, message) -> None:
    with pytest.raises(StoreError, match=message):
        StoreSchema.infer({"k": 1, "v": value}, key="k")
