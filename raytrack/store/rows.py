"""Arrow tables and record batches as rows: per-row dicts of numpy views, without copying.

Every reader of a sample store yields this row form (:meth:`SampleStore.iter_rows
<raytrack.store.sample_store.SampleStore.iter_rows>`, :meth:`~raytrack.store.sample_store.SampleStore.row`,
:func:`raytrack.store.stream.iter_dataset_rows`), and :func:`~raytrack.store.writing.write_store`
takes it:

- the key: a Python ``int``;
- a scalar: a numpy scalar of the stored dtype (a ``str`` for strings);
- a fixed array ``(k, ...)``: a numpy array of that shape;
- a variable list ``(None, *fixed)``: a numpy array of shape ``(n, *fixed)``;
- a nested list ``(None, None, ...)``: a Python list of such arrays.

Arrays are read-only views into the Arrow buffers wherever Arrow allows (every numeric dtype but
bool; strings are copied to Python objects): each column's flat values buffer is read once per
table and sliced by its list offsets, so a row costs a few Python objects whatever its size. This
is what keeps the store's read path as fast as a per-sample ``torch.load`` (see
``benchmarks/event_stream.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from raytrack.store.columns import KEY_METADATA, StoreError

__all__ = ["check_finite", "column_values", "key_column", "table_rows"]


def _is_variable(arrow_type: pa.DataType) -> bool:
    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)


def _dense(array: pa.Array) -> np.ndarray:
    """The values of a primitive or (nested) fixed-size-list array as one numpy array.

    Shapes:
        ``array`` of length ``n`` and type ``fixed_size_list<...>[k][m]`` → ``(n, k, m)``.
    """
    n, dims = len(array), []
    while pa.types.is_fixed_size_list(array.type):
        dims.append(array.type.list_size)
        array = array.flatten()  # zero-copy, honours the array's offset
    if _is_variable(array.type):
        raise StoreError(
            f"a variable-length list inside a fixed-size list cannot be read as rows "
            f"(type {array.type}); only leading dims may be variable"
        )
    values = array.to_numpy(zero_copy_only=False)
    return values.reshape(n, *dims) if dims else values


def column_values(array: pa.Array) -> list[Any]:
    """The values of one column, one per row, in the row form (see the module docstring).

    Shapes:
        ``list<fixed_size_list<T>[k]>`` → one ``(n_i, k)`` view per row;
        ``list<list<T>>`` → one Python list of 1-D views per row.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not _is_variable(array.type):
        return list(_dense(array))
    # ``offsets`` honours the array's own offset; ``values`` is the whole child array.
    offsets = array.offsets.to_numpy().tolist()
    child = array.values
    items: Any = column_values(child) if _is_variable(child.type) else _dense(child)
    return [items[start:stop] for start, stop in pairwise(offsets)]


def key_column(schema: pa.Schema, key: str | None = None) -> str | None:
    """The name of the key column of tables with ``schema`` (None if they have none).

    ``key`` when given (it must be in ``schema``); else the column named by the schema metadata
    (:data:`~raytrack.store.columns.KEY_METADATA`, written into every Parquet file of the store);
    else the only non-nullable ``int64`` column (the key of both store formats; Ray Data's
    newer Parquet datasource drops schema metadata but keeps nullability).
    """
    if key is not None:
        if key not in schema.names:
            raise KeyError(f"key column {key!r} is not in the table; its columns: {schema.names}")
        return key
    named = (schema.metadata or {}).get(KEY_METADATA)
    if named is not None and named.decode() in schema.names:
        return named.decode()
    keys = [f.name for f in schema if not f.nullable and f.type == pa.int64()]
    return keys[0] if len(keys) == 1 else None


def table_rows(
    table: pa.Table | pa.RecordBatch, key: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the rows of ``table`` as dicts in the row form (zero-copy views of ``table``).

    ``key`` names the key column, which becomes an ``int`` (default: :func:`key_column`).
    A table's chunks are read one record batch at a time, without concatenating them.
    """
    key = key_column(table.schema, key)
    batches = table.to_batches() if isinstance(table, pa.Table) else [table]
    for batch in batches:
        names = batch.schema.names
        values = [
            batch.column(i).to_numpy(zero_copy_only=False).tolist()
            if name == key
            else column_values(batch.column(i))
            for i, name in enumerate(names)
        ]
        for row in zip(*values):
            yield dict(zip(names, row))


def check_finite(
    table: pa.Table | pa.RecordBatch, names: list[str] | frozenset[str], where: str = ""
) -> None:
    """Raise :class:`StoreError` when a column of ``names`` holds a NaN or an infinity.

    The flat values of each column are checked at once (Arrow compute, no Python per row), so a
    corrupted or hand-edited file is not read as data. ``where`` names the file in the message.
    """
    key = key_column(table.schema)
    for name in names:
        if name not in table.schema.names:
            continue
        values = table.column(name)
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        for chunk in chunks:
            flat = chunk
            while (
                pa.types.is_list(flat.type)
                or pa.types.is_large_list(flat.type)
                or pa.types.is_fixed_size_list(flat.type)
            ):
                flat = flat.flatten()
            if len(flat) and not pc.all(pc.is_finite(flat)).as_py():
                rows = f" ({_key_range(table, key)})" if key else ""
                raise StoreError(
                    f"{where}column {name!r} holds non-finite values{rows}, which the store never "
                    "writes: the file is corrupt or was changed outside raytrack"
                )


def _key_range(table: pa.Table | pa.RecordBatch, key: str) -> str:
    ids = table.column(key)
    low, high = pc.min(ids).as_py(), pc.max(ids).as_py()
    return f"the row with {key} {low}" if low == high else f"rows with {key} in [{low}, {high}]"
