"""Writing a sample store (see :mod:`raytrack.store.sample_store` for the layout and the reader).

:func:`write_store` streams rows into Parquet row groups: it holds one row group of rows at a time
(plus the set of keys seen). The schema comes from the caller (a family's data source), from a
function of the first row, or is inferred from the first row; every row is checked against it
(:meth:`~raytrack.store.columns.StoreSchema.check`), and errors name the row's key and the column.

The store is built in a hidden temporary directory beside its destination (``.NAME.tmp-*``) and
renamed into place once ``meta.json`` is written, so a crash never leaves a directory that opens
as a store; with ``overwrite`` the old store is removed only after the new one is complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from raytrack.store.columns import Column, StoreError, StoreSchema

if TYPE_CHECKING:
    from raytrack.store.sample_store import SampleStore

__all__ = ["SCHEMA_VERSION", "STORE_FORMAT", "column_array", "write_store"]

STORE_FORMAT = "raytrack-sample-store"
SCHEMA_VERSION = 2
"""Version of the on-disk layout (1 was the ``raytrack-event-store``); readers refuse newer ones."""
META_FILE = "meta.json"
PART_TEMPLATE = "part-{:05d}.parquet"
DEFAULT_KEY = "sample_id"
DEFAULT_ROWS_PER_FILE = 1000
"""Rows per Parquet file (measured on events: see ``benchmarks/event_stream.md``)."""
DEFAULT_ROW_GROUP_ROWS = 64
"""Rows per Parquet row group: the unit a reader holds in memory (~3 MB of 1.5k-hit events)."""
COMPRESSION = "zstd"
_MAX_OFFSET = np.iinfo(np.int32).max

SchemaSpec = StoreSchema | Callable[[Mapping[str, Any]], StoreSchema] | None


def _fixed_array(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """``values`` of shape ``(n, *fixed)`` as a (nested) ``fixed_size_list`` array of length n."""
    types = [arrow_type]
    while pa.types.is_fixed_size_list(types[-1]):
        types.append(types[-1].value_type)
    flat = values.reshape(-1)
    if pa.types.is_string(types[-1]):
        array = pa.array(flat.tolist(), type=types[-1])
    else:
        array = pa.array(flat, type=types[-1])
    for fixed_type in reversed(types[:-1]):
        array = pa.FixedSizeListArray.from_arrays(array, type=fixed_type)
    return array


def _array(
    name: str, values: list, shape: tuple, arrow_type: pa.DataType, dtype: np.dtype
) -> pa.Array:
    if not shape or shape[0] is not None:
        stacked = np.stack(values) if shape else np.array(values, dtype=dtype)
        return _fixed_array(stacked, arrow_type)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    if lengths.sum() > _MAX_OFFSET:
        raise StoreError(
            f"column {name!r}: {lengths.sum()} list items in one row group exceed Parquet list "
            "offsets (2^31 - 1); write fewer rows per row group (row_group_rows)"
        )
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    if len(shape) > 1 and shape[1] is None:  # nested: the items are lists themselves
        items = [item for value in values for item in value]
        child = _array(name, items, shape[1:], arrow_type.value_type, dtype)
    else:
        flat = np.concatenate(values) if values else np.zeros((0, *shape[1:]), dtype=dtype)
        child = _fixed_array(flat, arrow_type.value_type)
    return pa.ListArray.from_arrays(pa.array(offsets), child, type=arrow_type)


def column_array(column: Column, values: list) -> pa.Array:
    """One column of a row group as an Arrow array, from rows checked by ``StoreSchema.check``."""
    return _array(column.name, values, column.shape, column.arrow_type(), column.numpy_dtype)


@dataclass
class _FileInfo:
    name: str
    rows: int = 0
    min_key: int | None = None
    max_key: int | None = None


class _Writer:
    def __init__(self, directory: Path, spec: SchemaSpec, key: str | None,
                 rows_per_file: int, row_group_rows: int) -> None:  # fmt: skip
        self.directory = directory
        self.spec, self.key = spec, key
        self.rows_per_file = rows_per_file
        self.row_group_rows = min(row_group_rows, rows_per_file)
        self.schema: StoreSchema | None = None
        self.arrow_schema: pa.Schema | None = None
        self.counts: dict[str, int] = {}
        self.files: list[_FileInfo] = []
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[dict[str, Any]] = []
        self._seen: set[int] = set()

    def _first(self, row: Mapping[str, Any]) -> StoreSchema:
        if self.spec is None:
            schema = StoreSchema.infer(row, key=self.key or DEFAULT_KEY)
        else:
            schema = self.spec if isinstance(self.spec, StoreSchema) else self.spec(row)
        if not isinstance(schema, StoreSchema):
            raise StoreError(f"the schema function must return a StoreSchema, but got {schema!r}")
        if self.key is not None and schema.key != self.key:
            raise StoreError(f"key {self.key!r} differs from the schema's key {schema.key!r}")
        self.counts = {"rows": 0, **{group: 0 for group in schema.groups}}
        self.arrow_schema = schema.arrow_schema()
        return schema

    def add(self, row: Mapping[str, Any]) -> None:
        if self.schema is None:
            self.schema = self._first(row)
        checked = self.schema.check(row)
        key = checked[self.schema.key]
        if key in self._seen:
            raise StoreError(f"row {self.schema.key}={key}: duplicate key (an earlier row has it)")
        self._seen.add(key)
        self._buffer.append(checked)
        if len(self._buffer) >= self.row_group_rows:
            self._flush()

    def _flush(self) -> None:
        while self._buffer:
            if self._writer is None:
                self.files.append(_FileInfo(PART_TEMPLATE.format(len(self.files))))
                self._writer = pq.ParquetWriter(
                    self.directory / self.files[-1].name, self.arrow_schema,
                    compression=COMPRESSION, write_statistics=[self.schema.key],
                    write_page_checksum=True,  # verified on read: a flipped byte is caught
                )  # fmt: skip
            info = self.files[-1]
            room = self.rows_per_file - info.rows
            chunk, self._buffer = self._buffer[:room], self._buffer[room:]
            self._write_row_group(info, chunk)
            if info.rows >= self.rows_per_file:
                self._writer.close()
                self._writer = None

    def _write_row_group(self, info: _FileInfo, chunk: list[dict[str, Any]]) -> None:
        schema = self.schema
        keys = np.array([row[schema.key] for row in chunk], dtype=np.int64)
        arrays = [pa.array(keys)]
        arrays += [column_array(c, [row[c.name] for row in chunk]) for c in schema.columns]
        table = pa.Table.from_arrays(arrays, schema=self.arrow_schema)
        self._writer.write_table(table, row_group_size=len(chunk))
        info.rows += len(chunk)
        self.counts["rows"] += len(chunk)
        for group, names in schema.groups.items():
            self.counts[group] += sum(len(row[names[0]]) for row in chunk)
        low, high = int(keys.min()), int(keys.max())
        info.min_key = low if info.min_key is None else min(info.min_key, low)
        info.max_key = high if info.max_key is None else max(info.max_key, high)

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the original error is what matters
                self._writer.close()
            self._writer = None


def _jsonable(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise StoreError(f"{where} must be JSON-serialisable: {err}") from None


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file renamed over it."""
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        with open(tmp, "w") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_store(
    path: str | os.PathLike,
    rows: Iterable[Mapping[str, Any]],
    *,
    schema: SchemaSpec = None,
    key: str | None = None,
    provenance: Mapping[str, Any],
    source: str | None = None,
    rows_per_file: int | None = None,
    row_group_rows: int | None = None,
    overwrite: bool = False,
) -> SampleStore:
    """Write ``rows`` (dicts in the row form of :mod:`raytrack.store.rows`) to a new store at ``path``.

    Rows are streamed: at most one row group (``row_group_rows`` rows) is held in memory. Every
    row is checked against the schema and cast to its dtypes; errors name the row and the column.

    Args:
        path: The store directory. It must not exist unless ``overwrite`` is true.
        rows: Rows with distinct integer keys, in the order they are stored.
        schema: A :class:`~raytrack.store.columns.StoreSchema`, a function of the first row that
            returns one, or None to infer it from the first row
            (:meth:`~raytrack.store.columns.StoreSchema.infer`).
        key: The key column: checked against the schema's when one is given; when inferring,
            the key to use (default ``"sample_id"``).
        provenance: JSON-serialisable description of where the rows come from; kept verbatim in
            ``meta.json``. It is serialised after the last row, so a source may complete it
            while rows stream.
        source: The name of the data source that wrote the store (kept in ``meta.json``).
        rows_per_file: Rows per Parquet file (default :data:`DEFAULT_ROWS_PER_FILE`).
        row_group_rows: Rows per Parquet row group (default :data:`DEFAULT_ROW_GROUP_ROWS`).
        overwrite: Replace an existing store at ``path``; the old store is removed only after
            the new one is complete.
    """
    path = Path(path).expanduser()
    rows_per_file = DEFAULT_ROWS_PER_FILE if rows_per_file is None else int(rows_per_file)
    row_group_rows = DEFAULT_ROW_GROUP_ROWS if row_group_rows is None else int(row_group_rows)
    for name, value in (("rows_per_file", rows_per_file), ("row_group_rows", row_group_rows)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, but got {name}={value}")
    if not (schema is None or isinstance(schema, StoreSchema) or callable(schema)):
        raise StoreError(
            f"schema must be a StoreSchema, a function of the first row, or None, but got {schema!r}"
        )
    if isinstance(schema, StoreSchema) and key is not None and key != schema.key:
        raise StoreError(f"key {key!r} differs from the schema's key {schema.key!r}")
    if source is not None and (not isinstance(source, str) or not source):
        raise StoreError(f"source must be a non-empty string or None, but got {source!r}")
    if not isinstance(provenance, Mapping):
        raise StoreError(f"provenance must be a mapping, but got {type(provenance).__name__}")
    _check_destination(path, overwrite)
    _jsonable(dict(provenance), "provenance")  # fail before any work
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    writer = _Writer(tmp, schema, key, rows_per_file, row_group_rows)
    try:
        for row in rows:
            writer.add(row)
        writer.close()
        if writer.schema is None:
            raise StoreError(f"no rows to write to {path}")
        meta = {
            "format": STORE_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "source": source,
            "provenance": _jsonable(dict(provenance), "provenance"),
            "schema": writer.schema.to_json(),
            "counts": writer.counts,
            "layout": {
                "rows_per_file": rows_per_file,
                "row_group_rows": writer.row_group_rows,
                "compression": COMPRESSION,
            },
            "files": [vars(info) for info in writer.files],
        }
        write_json_atomically(tmp / META_FILE, meta)
        _move_into_place(tmp, path, overwrite)
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    from raytrack.store.sample_store import SampleStore

    return SampleStore(path)


def _check_destination(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    if not path.is_dir():
        raise StoreError(f"{path} exists and is not a directory; refusing to replace it")
    if any(path.iterdir()) and not (path / META_FILE).is_file():
        raise StoreError(
            f"{path} is a non-empty directory without {META_FILE}, not a store; "
            "refusing to replace it"
        )


def _move_into_place(tmp: Path, path: Path, overwrite: bool) -> None:
    """Rename the finished store ``tmp`` to ``path``, replacing an old store only now.

    Under an exclusive lock on the parent directory (no lock file left behind), the destination
    is checked again: a store another writer finished meanwhile is an error unless ``overwrite``
    (one writer wins, never silently).
    """
    lock = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.exists() and not overwrite:
                raise FileExistsError(
                    f"{path} was created by another writer while this one wrote; it is kept "
                    "(pass overwrite=True, CLI --overwrite, to replace it)"
                )
            if path.exists():
                _check_destination(path, overwrite)
            old = None
            if path.exists():
                old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:12]}"
                os.replace(path, old)
            try:
                os.replace(tmp, path)
            except OSError as err:
                if old is not None and not path.exists():
                    os.replace(old, path)  # put the old store back
                raise FileExistsError(
                    f"cannot move the new store into {path} ({err.strerror})"
                ) from None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        os.close(lock)
