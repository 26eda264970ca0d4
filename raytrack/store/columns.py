"""The columns of a sample store: what one row holds, how it is checked, how Arrow stores it.

A store's :class:`StoreSchema` belongs to whoever writes the store (a family's data source) and
is recorded in the store's ``meta.json``: an int64 row key (``sample_id``, ``event_id``, ...),
unique across the store, plus declared :class:`Column`\\ s, each with a numpy dtype name (or
``"str"``), the shape of its value in one row, and an optional group. The store itself requires
no column but the key. :meth:`StoreSchema.check` validates one row and casts it to the declared
dtypes; :meth:`StoreSchema.infer` builds a schema from a first row. Every error is a
:class:`StoreError` naming the row's key and the column.

Shapes (of one row's value):
    ``()`` scalar (numeric, bool or str); ``(k,)``, ``(k, m)``, ...: fixed-shape arrays;
    ``(None,)``: a variable-length list; ``(None, *fixed)``: a variable number of fixed-shape items
    (``(None, 64, 64, 3)`` per-instance crops); ``(None, None, ...)``: nested variable lists
    (per-frame lists of ids). Only leading dims may be None. Columns of one group have the same
    leading length in every row (all hit columns of an event).

In Arrow, fixed dims are ``fixed_size_list``, variable dims ``list`` (int32 offsets) and ``str``
is ``string``; the key is a non-nullable ``int64``, the only non-nullable field of a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from raytrack.store.errors import StoreError
from raytrack.store.values import cast_value, check_finite, infer_value

__all__ = ["KEY_METADATA", "Column", "StoreError", "StoreSchema"]

KEY_METADATA = b"raytrack.key"
"""Arrow schema metadata entry naming the key column of a store's Parquet files."""

_INT64 = np.iinfo(np.int64)


def _dtype_name(name: str, dtype: Any) -> str:
    if dtype is str or (isinstance(dtype, str) and dtype == "str"):
        return "str"
    try:
        numpy_dtype = None if dtype is None else np.dtype(dtype)
    except TypeError:
        numpy_dtype = None
    if numpy_dtype is None or numpy_dtype.kind not in "biuf":
        raise StoreError(
            f"column {name!r}: dtype must be a numeric or bool numpy dtype name (e.g. 'float32') "
            f"or 'str', but got {dtype!r}"
        )
    return numpy_dtype.name


@dataclass(frozen=True)
class Column:
    """One declared column: its name, dtype, the shape of its value in one row, and its group.

    ``finite``: a float column's values must be finite (checked when rows are written and when
    they are read); a column where NaN means something (e.g. a hit without cells) declares
    ``finite=False``.

    Shapes:
        ``shape`` is one row's value: ``()``, ``(k, ...)``, ``(None,)``, ``(None, *fixed)`` or
        ``(None, None, *fixed)``; a grouped column's shape starts with None.
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...] = ()
    group: str | None = None
    finite: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StoreError(f"a column name must be a non-empty string, but got {self.name!r}")
        object.__setattr__(self, "dtype", _dtype_name(self.name, self.dtype))
        shape = tuple(self.shape) if isinstance(self.shape, (tuple, list)) else None
        if shape is None or not all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1)
            for d in shape
        ):
            raise StoreError(
                f"column {self.name!r}: shape must be a tuple of positive ints and None, "
                f"but got {self.shape!r}"
            )
        shape = tuple(None if d is None else int(d) for d in shape)
        leading = next((i for i, d in enumerate(shape) if d is not None), len(shape))
        if None in shape[leading:]:
            raise StoreError(
                f"column {self.name!r}: only leading dims may be None (variable), but got shape "
                f"{shape}"
            )
        object.__setattr__(self, "shape", shape)
        if self.group is not None:
            if not isinstance(self.group, str) or not self.group:
                raise StoreError(
                    f"column {self.name!r}: group must be a non-empty string or None, "
                    f"but got {self.group!r}"
                )
            if not shape or shape[0] is not None:
                raise StoreError(
                    f"column {self.name!r} is in group {self.group!r}, so its shape must start "
                    f"with None (a variable length), but got {shape}"
                )

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype of the values (``object`` for ``str``)."""
        return np.dtype(object) if self.dtype == "str" else np.dtype(self.dtype)

    def arrow_type(self) -> pa.DataType:
        """Fixed dims as ``fixed_size_list``, variable dims as ``list``, ``str`` as ``string``."""
        arrow = pa.string() if self.dtype == "str" else pa.from_numpy_dtype(np.dtype(self.dtype))
        for dim in reversed(self.shape):
            arrow = pa.list_(arrow) if dim is None else pa.list_(arrow, dim)
        return arrow

    def to_json(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "group": self.group,
        }
        if not self.finite:
            data["finite"] = False
        return data

    @property
    def checks_finite(self) -> bool:
        """Whether this column's values are checked to be finite (finite float columns)."""
        return self.finite and self.dtype.startswith("float")

    @classmethod
    def from_json(cls, data: Any) -> Column:
        if not isinstance(data, Mapping) or not {"name", "dtype"} <= set(data):
            raise StoreError(
                f"a column must be a mapping with 'name' and 'dtype', but got {data!r}"
            )
        unknown = sorted(set(data) - {"name", "dtype", "shape", "group", "finite"})
        if unknown:
            raise StoreError(
                f"column {data['name']!r}: unknown field(s) {unknown}; a column has "
                "name, dtype, shape, group and finite"
            )
        shape = tuple(data.get("shape", ()))
        return cls(
            data["name"], data["dtype"], shape, data.get("group"), bool(data.get("finite", True))
        )


@dataclass(frozen=True)
class StoreSchema:
    """The key and the declared columns of a store (stored order: key, then ``columns``)."""

    key: str
    columns: tuple[Column, ...]
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)
    _groups: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise StoreError(f"the key must be a non-empty column name, but got {self.key!r}")
        columns = tuple(self.columns)
        bad = [c for c in columns if not isinstance(c, Column)]
        if bad:
            raise StoreError(f"columns must be Column objects, but got {bad[0]!r}")
        names = [c.name for c in columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise StoreError(f"column names must be distinct, but {repeated} repeat")
        if self.key in names:
            raise StoreError(
                f"column {self.key!r} is the key (an int64 scalar the store adds); "
                "it must not be declared as a column"
            )
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "_by_name", {c.name: c for c in columns})
        groups: dict[str, tuple[str, ...]] = {}
        for c in columns:
            if c.group is not None:
                groups[c.group] = groups.get(c.group, ()) + (c.name,)
        object.__setattr__(self, "_groups", groups)

    @property
    def names(self) -> tuple[str, ...]:
        """The declared column names, in stored order (without the key)."""
        return tuple(self._by_name)

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Each group's column names, in stored order."""
        return dict(self._groups)

    def column(self, name: str) -> Column:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; declared columns: {list(self._by_name)}") from None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "columns": [c.to_json() for c in self.columns]}

    @classmethod
    def from_json(cls, data: Any) -> StoreSchema:
        if not isinstance(data, Mapping) or set(data) != {"key", "columns"}:
            raise StoreError(
                f"a store schema must be a mapping of 'key' and 'columns', but got {data!r}"
            )
        if not isinstance(data["columns"], list):
            raise StoreError(f"schema columns must be a list, but got {data['columns']!r}")
        return cls(data["key"], tuple(Column.from_json(c) for c in data["columns"]))

    def arrow_schema(self) -> pa.Schema:
        """The Parquet files' Arrow schema: the key (int64, not null), then the columns."""
        fields = [pa.field(self.key, pa.int64(), nullable=False)]
        fields += [pa.field(c.name, c.arrow_type()) for c in self.columns]
        return pa.schema(fields, metadata={KEY_METADATA: self.key.encode()})

    def check(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one row; return it with the key as ``int`` and values in the declared dtypes.

        Dtypes must cast with ``numpy.can_cast(..., casting="same_kind")``; integers may also
        change width or sign when every value fits. Empty arrays cast to any numeric dtype.
        """
        key = self._check_key(row)
        where = f"row {self.key}={key}"
        missing = [name for name in self._by_name if name not in row]
        if missing:
            raise StoreError(f"{where}: missing column(s) {missing}")
        extra = [name for name in row if name != self.key and name not in self._by_name]
        if extra:
            raise StoreError(
                f"{where}: undeclared column(s) {extra}; the store declares {list(self._by_name)}"
            )
        out: dict[str, Any] = {self.key: key}
        for c in self.columns:
            out[c.name] = cast_value(where, f"column {c.name!r}", c, row[c.name], c.shape)
            if c.checks_finite:
                check_finite(where, c.name, out[c.name])
        for group, names in self._groups.items():
            lengths = {name: len(out[name]) for name in names}
            if len(set(lengths.values())) > 1:
                raise StoreError(f"{where}: columns of group {group!r} differ in length: {lengths}")
        return out

    def _check_key(self, row: Mapping[str, Any]) -> int:
        if not isinstance(row, Mapping):
            raise StoreError(
                f"a row must be a mapping of column names to values, but got {type(row).__name__}"
            )
        if self.key not in row:
            raise StoreError(f"a row has no key column {self.key!r}; its columns: {list(row)}")
        value = row[self.key]
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise StoreError(
                f"row {self.key}={value!r}: the key must be an integer, but got {type(value).__name__}"
            )
        if not _INT64.min <= int(value) <= _INT64.max:
            raise StoreError(f"row {self.key}={value}: the key must fit int64")
        return int(value)

    @classmethod
    def infer(
        cls,
        row: Mapping[str, Any],
        *,
        key: str,
        declared: Sequence[Column] = (),
        float64_as_float32: bool = False,
    ) -> StoreSchema:
        """The schema of a first row: ``declared`` columns as given, the others inferred.

        A 0-d value is a scalar, a 1-d array ``(None,)``, an n-d array ``(None, *rest)``, a
        ``str`` a str scalar, and a list of arrays a nested list ``(None, *item shape)``.
        Inferred ``float64`` columns become ``float32`` when ``float64_as_float32``. Declared
        columns missing from ``row`` are kept (:meth:`check` then reports them).
        """
        if not isinstance(row, Mapping):
            raise StoreError(
                f"a row must be a mapping of column names to values, but got {type(row).__name__}"
            )
        given = {c.name: c for c in declared}
        columns = [
            given.pop(name) if name in given else _infer_column(name, value, float64_as_float32)
            for name, value in row.items()
            if name != key
        ]
        return cls(key, tuple(columns + list(given.values())))


def _infer_column(name: str, value: Any, float64_as_float32: bool) -> Column:
    dtype, shape = infer_value(name, value)
    if float64_as_float32 and dtype == "float64":
        dtype = "float32"
    return Column(name, dtype, shape)
