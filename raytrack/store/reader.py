"""The Parquet event store: one directory of Parquet files plus ``meta.json``.

Layout (chosen by measurement, see ``benchmarks/event_stream.md``)::

    STORE/
      part-00000.parquet   one row per event: ``event_id`` plus list columns
      part-00001.parquet   (hit columns under their names, particle columns as ``p_<name>``)
      ...
      meta.json            written last: schema version, provenance, counts, columns, files

A stored row is exactly :meth:`raytrack.families.tracking.event.Event.to_row`: ``event_id`` (int64), one
``list<dtype>`` column per hit column (:data:`~raytrack.families.tracking.event.HIT_COLUMNS`, optional
:data:`~raytrack.families.tracking.event.CELL_COLUMNS`, and any extra numeric hit columns a generator adds) and
one per particle column (:data:`~raytrack.families.tracking.event.PARTICLE_COLUMNS` and extras) with the
``p_`` prefix.

One row per event keeps Ray Data's per-row overhead to one Python object per *event*, never
splits an event across blocks or workers, and lets a reader slice a whole batch of events out of
flat buffers without copying. Files hold :data:`DEFAULT_EVENTS_PER_FILE` events (Ray Data pays
milliseconds per file) in row groups of :data:`DEFAULT_ROW_GROUP_EVENTS` events, so a reader
holds one row group (a few MB) of one file at a time. :func:`write_store`
(:mod:`raytrack.store.writer`) creates stores; :class:`EventStore` reads them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from raytrack.families.tracking.event import PARTICLE_PREFIX, Event
from raytrack.store.writer import (
    DEFAULT_EVENTS_PER_FILE,
    DEFAULT_ROW_GROUP_EVENTS,
    META_FILE,
    SCHEMA_VERSION,
    STORE_FORMAT,
    EventStoreError,
    write_store,
)

if TYPE_CHECKING:
    import ray.data

DATASET_BLOCK_EVENTS = 256
"""Events per Ray Data block of :meth:`EventStore.dataset` (measured: ``benchmarks/event_stream.md``)."""

__all__ = [
    "DEFAULT_EVENTS_PER_FILE",
    "DEFAULT_ROW_GROUP_EVENTS",
    "META_FILE",
    "SCHEMA_VERSION",
    "EventStore",
    "EventStoreError",
    "table_rows",
    "write_store",
]




def _wrap_read_error(file: Path, err: Exception) -> EventStoreError:
    return EventStoreError(f"corrupt or unreadable Parquet file {file}: {err}")


def table_rows(
    table: pa.Table | pa.RecordBatch,
) -> Iterator[dict[str, np.ndarray | int]]:
    """Yield the rows of an event table as dicts of numpy arrays (zero-copy views of ``table``).

    ``event_id`` becomes an ``int``; each list column becomes one 1-D array per row.
    """
    if isinstance(table, pa.Table):
        table = table.combine_chunks()
        columns = {name: table.column(name).chunks for name in table.column_names}
        columns = {
            name: (chunks[0] if chunks else pa.array([], type=table.schema.field(name).type))
            for name, chunks in columns.items()
        }
    else:
        columns = {name: table.column(name) for name in table.schema.names}
    flat: dict[str, tuple[np.ndarray, np.ndarray] | np.ndarray] = {}
    for name, array in columns.items():
        if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
            offsets = array.offsets.to_numpy()
            values = array.values.to_numpy(zero_copy_only=False)
            flat[name] = (offsets, values)
        else:
            flat[name] = array.to_numpy(zero_copy_only=False)
    n = len(table)
    for i in range(n):
        row: dict[str, np.ndarray | int] = {}
        for name, data in flat.items():
            if isinstance(data, tuple):
                offsets, values = data
                row[name] = values[offsets[i] : offsets[i + 1]]
            else:
                value = data[i]
                row[name] = int(value) if name == "event_id" else value
        yield row


class EventStore:
    """An event store on disk: see the module docstring for the layout.

    Opening reads ``meta.json`` and every Parquet footer (not the data), so a missing or
    corrupt file is reported at once with its name.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"event store {self.path} does not exist")
        if not self.path.is_dir():
            raise EventStoreError(f"{self.path} is not an event store (not a directory)")
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            raise EventStoreError(
                f"{self.path} is not an event store: it has no {META_FILE} "
                "(an interrupted write leaves none)"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as err:
            raise EventStoreError(f"cannot read {meta_path}: {err}") from None
        if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
            raise EventStoreError(f"{meta_path} does not describe a {STORE_FORMAT}")
        version = meta.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise EventStoreError(
                f"{meta_path}: schema_version {version!r} is not supported by this raytrack "
                f"(it reads versions up to {SCHEMA_VERSION})"
            )
        self._meta = meta
        self._files = [self.path / info["name"] for info in meta["files"]]
        self._parquet: list[pq.ParquetFile] = []
        for file in self._files:
            if not file.is_file():
                raise EventStoreError(f"event store {self.path} is missing its Parquet file {file}")
            try:
                self._parquet.append(pq.ParquetFile(file))
            except Exception as err:  # noqa: BLE001 - pyarrow raises several types here
                raise _wrap_read_error(file, err) from None
        for file, pf, info in zip(self._files, self._parquet, meta["files"]):
            if pf.metadata.num_rows != info["events"]:
                raise EventStoreError(
                    f"Parquet file {file} holds {pf.metadata.num_rows} events, "
                    f"but {meta_path} says {info['events']}"
                )
        self._index: dict[int, tuple[int, int, int]] | None = None

    # -- metadata -------------------------------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """The parsed ``meta.json`` (a copy)."""
        return json.loads(json.dumps(self._meta))

    @property
    def files(self) -> list[Path]:
        return list(self._files)

    @property
    def columns(self) -> list[str]:
        """Stored column names: ``event_id``, hit columns, ``p_``-prefixed particle columns and
        ``e_``-prefixed graph columns."""
        return list(self._meta["columns"])

    @property
    def hit_columns(self) -> list[str]:
        return list(self._meta["hit_columns"])

    @property
    def particle_columns(self) -> list[str]:
        return list(self._meta["particle_columns"])

    @property
    def edge_columns(self) -> list[str]:
        """Columns of the stored graph (``e_``-prefixed in rows); empty for a store without one."""
        return list(self._meta.get("edge_columns", {}))

    def __len__(self) -> int:
        return int(self._meta["counts"]["events"])

    def __repr__(self) -> str:
        counts = self._meta["counts"]
        return (
            f"EventStore({str(self.path)!r}, events={counts['events']}, hits={counts['hits']}, "
            f"particles={counts['particles']})"
        )

    def _build_index(self) -> dict[int, tuple[int, int, int]]:
        if self._index is None:
            index: dict[int, tuple[int, int, int]] = {}
            for f, (file, pf) in enumerate(zip(self._files, self._parquet)):
                for g in range(pf.num_row_groups):
                    try:
                        ids = pf.read_row_group(g, columns=["event_id"]).column(0).to_numpy()
                    except Exception as err:  # noqa: BLE001
                        raise _wrap_read_error(file, err) from None
                    for r, event_id in enumerate(ids.tolist()):
                        index[event_id] = (f, g, r)
            self._index = index
        return self._index

    def event_ids(self) -> list[int]:
        """The stored event ids, in store order."""
        return list(self._build_index())

    def __contains__(self, event_id: object) -> bool:
        try:
            return int(event_id) in self._build_index()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    # -- one event ------------------------------------------------------------------------------

    def _check_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        known = set(self._meta["columns"])
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise KeyError(
                f"unknown column(s) {unknown} in event store {self.path}; "
                f"stored columns: {self._meta['columns']}"
            )
        return ["event_id"] + [c for c in columns if c != "event_id"]

    def row(self, event_id: int, columns: Sequence[str] | None = None) -> dict[str, Any]:
        """One stored row (``event_id`` plus numpy arrays) by event id."""
        index = self._build_index()
        key = int(event_id)
        if key not in index:
            ids = list(index)
            raise KeyError(
                f"event {key} is not in event store {self.path} "
                f"({len(ids)} events, ids {min(ids)}..{max(ids)})"
            )
        f, g, r = index[key]
        try:
            table = self._parquet[f].read_row_group(g, columns=self._check_columns(columns))
        except KeyError:
            raise
        except Exception as err:  # noqa: BLE001
            raise _wrap_read_error(self._files[f], err) from None
        return next(table_rows(table.slice(r, 1)))

    def event(self, event_id: int) -> Event:
        row = self.row(event_id)
        return Event.from_row(row)

    def hits(self, event_id: int) -> pd.DataFrame:
        """The hits of one event (hit columns, cell features and extras) as a DataFrame."""
        row = self.row(event_id, columns=self.hit_columns)
        return pd.DataFrame({name: row[name] for name in self.hit_columns})

    def particles(self, event_id: int) -> pd.DataFrame:
        """The particles of one event (without the ``p_`` prefix) as a DataFrame."""
        names = [PARTICLE_PREFIX + name for name in self.particle_columns]
        row = self.row(event_id, columns=names)
        return pd.DataFrame({name[len(PARTICLE_PREFIX):]: row[name] for name in names})

    # -- streams --------------------------------------------------------------------------------

    def iter_rows(
        self,
        event_ids: Iterable[int] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[dict[str, np.ndarray | int]]:
        """Stream stored rows with pyarrow alone (no Ray), one row group in memory at a time.

        Rows come in store order; ``event_ids`` selects a subset (row groups without any of them
        are not read). ``columns`` selects stored columns (``event_id`` is always included).
        Arrays are read-only views of the row group being read.
        """
        read_columns = self._check_columns(columns)
        wanted: set[int] | None = None
        groups: dict[int, list[int]] | None = None
        if event_ids is not None:
            index = self._build_index()
            wanted = {int(e) for e in event_ids}
            missing = [e for e in wanted if e not in index]
            if missing:
                raise KeyError(
                    f"event(s) {sorted(missing)[:10]} not in event store {self.path}"
                )
            groups = {}
            for e in wanted:
                f, g, _ = index[e]
                groups.setdefault(f, []).append(g)
        for f, (file, pf) in enumerate(zip(self._files, self._parquet)):
            if groups is not None:
                if f not in groups:
                    continue
                row_groups = sorted(set(groups[f]))
            else:
                row_groups = range(pf.num_row_groups)
            for g in row_groups:
                try:
                    table = pf.read_row_group(g, columns=read_columns)
                except Exception as err:  # noqa: BLE001
                    raise _wrap_read_error(file, err) from None
                for row in table_rows(table):
                    if wanted is None or row["event_id"] in wanted:
                        yield row

    def dataset(
        self,
        event_ids: Iterable[int] | None = None,
        columns: Sequence[str] | None = None,
        *,
        datasource_v2: bool = False,
        **read_kwargs: Any,
    ) -> "ray.data.Dataset":
        """A Ray Data dataset with one row per event (stored columns, list-typed).

        ``event_ids`` is pushed down to the Parquet reader (files without any of them are not
        read; the ``event_id`` filter is pushed into the Parquet scan). ``read_kwargs`` go to
        :func:`ray.data.read_parquet`. On a multi-node cluster the store must be on storage that
        every node sees under the same path.

        Blocks hold about :data:`DATASET_BLOCK_EVENTS` events (``override_num_blocks`` is set to
        ``max(files, events / DATASET_BLOCK_EVENTS)`` unless given): Ray Data's default of ~200
        blocks makes blocks of a few events and streams several times slower, while one block
        per file would shard unevenly across workers (a block goes to one worker).

        ``datasource_v2`` selects Ray Data's newer Parquet datasource (the default of
        ``DataContext.use_datasource_v2`` in Ray 2.60). It is off by default because, measured on
        this store layout (``benchmarks/event_stream.md``), it delivers the first event seconds
        later and streams several times slower than the classic datasource.
        """
        import ray.data
        from ray.data.expressions import col

        read_columns = self._check_columns(columns)
        files = self._files
        if event_ids is not None:
            index = self._build_index()
            wanted = sorted({int(e) for e in event_ids})
            missing = [e for e in wanted if e not in index]
            if missing:
                raise KeyError(f"event(s) {missing[:10]} not in event store {self.path}")
            keep = sorted({index[e][0] for e in wanted})
            files = [self._files[f] for f in keep]
            selected = len(wanted)
        else:
            selected = len(self)
        if not files:
            # No events selected: an empty dataset with the stored schema.
            schema = self._parquet[0].schema_arrow
            if read_columns is not None:
                schema = pa.schema([schema.field(c) for c in read_columns])
            return ray.data.from_arrow(schema.empty_table())
        context = ray.data.DataContext.get_current()
        previous = getattr(context, "use_datasource_v2", None)
        if previous is not None:
            context.use_datasource_v2 = datasource_v2
        read_kwargs.setdefault(
            "override_num_blocks", max(len(files), math.ceil(selected / DATASET_BLOCK_EVENTS))
        )
        try:
            ds = ray.data.read_parquet([str(f) for f in files], **read_kwargs)
        finally:
            if previous is not None:
                context.use_datasource_v2 = previous
        if read_columns is not None:
            ds = ds.select_columns(read_columns)  # pushed down into the Parquet read
        if event_ids is not None:
            ds = ds.filter(expr=col("event_id").is_in(wanted))
        return ds
