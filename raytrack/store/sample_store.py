"""The Parquet sample store: one directory of Parquet files plus ``meta.json``, and its reader.

Layout (chosen by measurement on events, see ``benchmarks/event_stream.md``)::

    STORE/
      part-00000.parquet   one row per sample: the int64 key, then the declared columns
      part-00001.parquet
      ...
      meta.json            written last: format, schema, source, provenance, counts, layout, files

The schema (:class:`~raytrack.store.columns.StoreSchema`) belongs to the data source that wrote
the store and is kept in ``meta.json``; the store requires no column but its key. One row per
sample keeps Ray Data's per-row overhead to one Python object per sample, never splits a sample
across blocks or workers, and lets a reader slice a row group's samples out of flat buffers
without copying (:mod:`raytrack.store.rows`). Files hold 1000 rows (Ray Data pays milliseconds
per file) in row groups of 64, so a reader holds one row group of one file at a time.
:func:`~raytrack.store.writing.write_store` creates stores; :class:`SampleStore` reads them.

Format versions: 2 is ``raytrack-sample-store``. Version 1 (``raytrack-event-store``: key
``event_id``, hit columns under their names, particle columns ``p_*``, graph columns ``e_*``,
all ``list<dtype>``) is read without conversion, as the groups ``hit``, ``particle`` and
``edge`` (:func:`raytrack.store.upgrade.metadata_from_v1`); ``raytrack store upgrade`` rewrites
its ``meta.json``.

Threads: a :class:`SampleStore` may be read from several threads at once. A pyarrow
``ParquetFile`` may not (two threads reading one handle failed with "ReadRangeCache did not find
matching cache entry", reported as a corrupt file), so each thread reads through its own handles,
opened on its first read.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from raytrack.store.columns import StoreError, StoreSchema
from raytrack.store.rows import check_finite, table_rows
from raytrack.store.upgrade import V1_FORMAT, metadata_from_v1
from raytrack.store.writing import META_FILE, SCHEMA_VERSION, STORE_FORMAT

if TYPE_CHECKING:
    import ray.data

__all__ = ["DATASET_BLOCK_ROWS", "SampleStore"]

DATASET_BLOCK_ROWS = 256
"""Rows per Ray Data block of :meth:`SampleStore.dataset` (measured: ``benchmarks/event_stream.md``)."""


def _parse_meta(meta: Any, meta_path: Path) -> tuple[dict[str, Any], int]:
    """``meta.json`` as version 2 metadata, and the version it was written in."""
    if not isinstance(meta, dict) or meta.get("format") not in (STORE_FORMAT, V1_FORMAT):
        raise StoreError(f"{meta_path} does not describe a {STORE_FORMAT} (nor a {V1_FORMAT})")
    version = meta.get("schema_version")
    if meta["format"] == V1_FORMAT:
        if version != 1:
            raise StoreError(
                f"{meta_path}: a {V1_FORMAT} must have schema_version 1, but has {version!r}"
            )
        return metadata_from_v1(meta, meta_path), 1
    if not isinstance(version, int) or not 2 <= version <= SCHEMA_VERSION:
        raise StoreError(
            f"{meta_path}: schema_version {version!r} is not supported by this raytrack "
            f"(it reads versions 1 to {SCHEMA_VERSION})"
        )
    missing = [k for k in ("schema", "counts", "files", "provenance") if k not in meta]
    if missing:
        raise StoreError(f"{meta_path} is incomplete: it has no {missing}")
    files, counts = meta["files"], meta["counts"]
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("rows"), int)
        for f in files
    ):
        raise StoreError(f"{meta_path}: 'files' must be a list of {{name, rows, ...}} entries")
    if not isinstance(counts, dict) or counts.get("rows") != sum(f["rows"] for f in files):
        raise StoreError(
            f"{meta_path}: counts {counts!r} must have 'rows' equal to the sum of the files' rows "
            f"({sum(f['rows'] for f in files)})"
        )
    return meta, version


def _signature(arrow_type: pa.DataType) -> Any:
    """An Arrow type without its field names and nullability, to compare stored types."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return ("list", _signature(arrow_type.value_type))
    if pa.types.is_fixed_size_list(arrow_type):
        return ("fixed", arrow_type.list_size, _signature(arrow_type.value_type))
    return "string" if pa.types.is_large_string(arrow_type) else str(arrow_type)


class SampleStore:
    """A sample store on disk: see the module docstring for the layout.

    Opening reads ``meta.json`` and every Parquet footer (not the data), so a missing or corrupt
    file, or one whose columns differ from the declared schema, is reported at once by name.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"sample store {self.path} does not exist")
        if not self.path.is_dir():
            raise StoreError(f"{self.path} is not a sample store (not a directory)")
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            raise StoreError(
                f"{self.path} is not a sample store: it has no {META_FILE} "
                "(an interrupted write leaves none)"
            )
        try:
            raw = json.loads(meta_path.read_text())
        except (OSError, ValueError) as err:
            raise StoreError(f"cannot read {meta_path}: {err}") from None
        self._meta, self.format_version = _parse_meta(raw, meta_path)
        try:
            self.schema = StoreSchema.from_json(self._meta["schema"])
        except StoreError as err:
            raise StoreError(f"{meta_path}: {err}") from None
        self._columns = [self.schema.key, *self.schema.names]
        self._files = [self.path / info["name"] for info in self._meta["files"]]
        self._parquet = [self._open(file) for file in self._files]
        self._local = threading.local()  # each thread's own handles (see the module docstring)
        self._local.handles = list(self._parquet)
        self._index_lock = threading.Lock()
        expected = [_signature(t) for t in self.schema.arrow_schema().types]
        for file, pf, info in zip(self._files, self._parquet, self._meta["files"]):
            if pf.metadata.num_rows != info["rows"]:
                raise StoreError(
                    f"Parquet file {file} holds {pf.metadata.num_rows} rows, "
                    f"but {meta_path} says {info['rows']}"
                )
            stored = pf.schema_arrow
            if stored.names != self._columns or [_signature(t) for t in stored.types] != expected:
                raise StoreError(
                    f"Parquet file {file} has columns {_describe(stored)}, but {meta_path} "
                    f"declares {_describe(self.schema.arrow_schema())}"
                )
        self._index: dict[int, tuple[int, int, int]] | None = None

    def _handle(self, f: int) -> pq.ParquetFile:
        """This thread's handle on the ``f``-th file."""
        handles = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = [None] * len(self._files)
        if handles[f] is None:
            handles[f] = self._open(self._files[f])
        return handles[f]

    def _open(self, file: Path) -> pq.ParquetFile:
        if not file.is_file():
            raise StoreError(f"sample store {self.path} is missing its Parquet file {file}")
        try:
            return pq.ParquetFile(file, page_checksum_verification=True)
        except Exception as err:  # noqa: BLE001 - pyarrow raises several types here
            raise _read_error(file, err) from None

    # -- metadata -------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return self.schema.key

    @property
    def source(self) -> str | None:
        return self._meta.get("source")

    @property
    def provenance(self) -> Any:
        return json.loads(json.dumps(self._meta["provenance"]))

    @property
    def metadata(self) -> dict[str, Any]:
        """The store's ``meta.json`` in the version 2 form (a copy; converted for a v1 store)."""
        return json.loads(json.dumps(self._meta))

    @property
    def counts(self) -> dict[str, int]:
        """``rows`` and, per group, the sum of its lengths over all rows."""
        return dict(self._meta["counts"])

    @property
    def files(self) -> list[Path]:
        return list(self._files)

    @property
    def finite_columns(self) -> frozenset[str]:
        """The float columns whose values must be finite, checked as they are read."""
        return frozenset(c.name for c in self.schema.columns if c.checks_finite)

    @property
    def columns(self) -> list[str]:
        """Stored column names: the key, then the declared columns."""
        return list(self._columns)

    def __len__(self) -> int:
        return int(self._meta["counts"]["rows"])

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={n}" for name, n in self._meta["counts"].items())
        return f"SampleStore({str(self.path)!r}, key={self.key!r}, {counts})"

    # -- keys -----------------------------------------------------------------------------------

    def _build_index(self) -> dict[int, tuple[int, int, int]]:
        with self._index_lock:
            if self._index is None:
                index: dict[int, tuple[int, int, int]] = {}
                for f, file in enumerate(self._files):
                    pf = self._handle(f)
                    for g in range(pf.num_row_groups):
                        try:
                            ids = pf.read_row_group(g, columns=[self.key]).column(0).to_numpy()
                        except Exception as err:  # noqa: BLE001
                            raise _read_error(file, err) from None
                        for r, key in enumerate(ids.tolist()):
                            index[key] = (f, g, r)
                self._index = index
            return self._index

    def ids(self) -> list[int]:
        """The stored keys, in store order."""
        return list(self._build_index())

    def __contains__(self, key: object) -> bool:
        try:
            return int(key) in self._build_index()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def _wanted(self, ids: Iterable[int]) -> list[int]:
        index = self._build_index()
        wanted = sorted({int(k) for k in ids})
        missing = [k for k in wanted if k not in index]
        if missing:
            raise KeyError(
                f"{self.key} {missing[:10]} not in sample store {self.path} "
                f"({len(index)} rows, {self.key} {min(index)}..{max(index)})"
            )
        return wanted

    def _check_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        if isinstance(columns, str):
            raise TypeError(
                f"columns must be a list of column names, but got the string {columns!r}"
            )
        unknown = [c for c in columns if c not in self._columns]
        if unknown:
            raise KeyError(
                f"unknown column(s) {unknown} in sample store {self.path}; "
                f"stored columns: {self._columns}"
            )
        return [self.key] + [c for c in columns if c != self.key]

    # -- reading --------------------------------------------------------------------------------

    def row(self, key: int, columns: Sequence[str] | None = None) -> dict[str, Any]:
        """One stored row (the row form of :mod:`raytrack.store.rows`) by its key."""
        (key,) = self._wanted([key])
        f, g, r = self._build_index()[key]
        read_columns = self._check_columns(columns)
        try:
            table = self._handle(f).read_row_group(g, columns=read_columns)
        except Exception as err:  # noqa: BLE001
            raise _read_error(self._files[f], err) from None
        one = table.slice(r, 1)
        check_finite(one, self.finite_columns, where=f"Parquet file {self._files[f]}: ")
        return next(table_rows(one, self.key))

    def iter_rows(
        self, ids: Iterable[int] | None = None, columns: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stream stored rows with pyarrow alone (no Ray), one row group in memory at a time.

        Rows come in store order; ``ids`` selects a subset by key (row groups without any of
        them are not read). ``columns`` selects stored columns (the key is always included).
        Arrays are read-only views of the row group being read.
        """
        read_columns = self._check_columns(columns)
        wanted: set[int] | None = None
        groups: dict[int, set[int]] | None = None
        if ids is not None:
            wanted = set(self._wanted(ids))
            index, groups = self._build_index(), {}
            for k in wanted:
                f, g, _ = index[k]
                groups.setdefault(f, set()).add(g)
        for f, (file, pf) in enumerate(zip(self._files, self._parquet)):
            if groups is not None and f not in groups:
                continue
            for g in sorted(groups[f]) if groups is not None else range(pf.num_row_groups):
                try:
                    # this thread's handle, looked up per row group: a generator may be
                    # consumed in another thread than the one that made it
                    table = self._handle(f).read_row_group(g, columns=read_columns)
                except Exception as err:  # noqa: BLE001
                    raise _read_error(file, err) from None
                check_finite(table, self.finite_columns, where=f"Parquet file {file}: ")
                for row in table_rows(table, self.key):
                    if wanted is None or row[self.key] in wanted:
                        yield row

    def dataset(
        self,
        ids: Iterable[int] | None = None,
        columns: Sequence[str] | None = None,
        *,
        datasource_v2: bool = False,
        **read_kwargs: Any,
    ) -> ray.data.Dataset:
        """A Ray Data dataset with one row per sample (the stored Arrow columns).

        ``ids`` is pushed down to the Parquet reader (files without any of them are not read;
        the key filter is pushed into the Parquet scan), and so is ``columns``. ``read_kwargs``
        go to :func:`ray.data.read_parquet`. On a multi-node cluster the store must be on
        storage that every node sees under the same path. Rows become the row form with
        :func:`raytrack.store.stream.iter_dataset_rows`.

        Blocks hold about :data:`DATASET_BLOCK_ROWS` rows (``override_num_blocks`` is
        ``max(files, rows / DATASET_BLOCK_ROWS)`` unless given): Ray Data's default of ~200
        blocks makes blocks of a few rows and streams several times slower, while one block
        per file would shard unevenly across workers (a block goes to one worker).

        ``datasource_v2`` selects Ray Data's newer Parquet datasource (the default of
        ``DataContext.use_datasource_v2`` in Ray 2.60). It is off by default because, measured on
        the event layout (``benchmarks/event_stream.md``), it delivers the first row seconds
        later and streams several times slower than the classic datasource.
        """
        import ray.data
        from ray.data.expressions import col

        read_columns = self._check_columns(columns)
        files, selected, wanted = self._files, len(self), None
        if ids is not None:
            wanted = self._wanted(ids)
            index = self._build_index()
            files = [self._files[f] for f in sorted({index[k][0] for k in wanted})]
            selected = len(wanted)
        if not files:
            # Nothing selected: an empty dataset with the stored schema.
            schema = self._parquet[0].schema_arrow if self._parquet else self.schema.arrow_schema()
            if read_columns is not None:
                schema = pa.schema(
                    [schema.field(c) for c in read_columns], metadata=schema.metadata
                )
            return ray.data.from_arrow(schema.empty_table())
        context = ray.data.DataContext.get_current()
        previous = getattr(context, "use_datasource_v2", None)
        if previous is not None:
            context.use_datasource_v2 = datasource_v2
        read_kwargs.setdefault(
            "override_num_blocks", max(len(files), math.ceil(selected / DATASET_BLOCK_ROWS))
        )
        try:
            ds = ray.data.read_parquet([str(f) for f in files], **read_kwargs)
        finally:
            if previous is not None:
                context.use_datasource_v2 = previous
        if read_columns is not None:
            ds = ds.select_columns(read_columns)  # pushed down into the Parquet read
        if wanted is not None:
            ds = ds.filter(expr=col(self.key).is_in(wanted))
        return ds


def _read_error(file: Path, err: Exception) -> StoreError:
    return StoreError(f"corrupt or unreadable Parquet file {file}: {err}")


def _describe(schema: pa.Schema) -> str:
    return "[" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "]"
