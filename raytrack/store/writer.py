"""Writing an event store (see :mod:`raytrack.store.reader` for the layout and the reader).

:func:`write_store` streams events into Parquet row groups: it holds one row group of events at a
time (plus the set of event ids seen). The first event fixes the store's columns and dtypes;
every later event is checked against them, and errors name the event and the column (the column
rules and :class:`~raytrack.store.schema.EventStoreError`, re-exported here, live in
:mod:`raytrack.store.schema`).

The store is built in a hidden temporary directory beside its destination (``.NAME.tmp-*``) and
renamed into place once ``meta.json`` is written, so a crash never leaves a directory that opens
as a store; with ``overwrite`` the old store is removed only after the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from raytrack.families.tracking.event import Event
from raytrack.store.schema import (
    COLUMN_KINDS,
    EventStoreError,
    StoreSchema,
    arrow_type,
)

if TYPE_CHECKING:
    from raytrack.store.reader import EventStore

__all__ = ["SCHEMA_VERSION", "EventStoreError", "write_store"]

SCHEMA_VERSION = 1
"""Version of the on-disk layout; a reader refuses stores written by a newer version."""

STORE_FORMAT = "raytrack-event-store"
META_FILE = "meta.json"
PART_TEMPLATE = "part-{:05d}.parquet"

DEFAULT_EVENTS_PER_FILE = 1000
"""Events per Parquet file (measured: see ``benchmarks/event_stream.md``)."""

DEFAULT_ROW_GROUP_EVENTS = 64
"""Events per Parquet row group: the unit a reader holds in memory (~3 MB at 1.5k hits)."""

COMPRESSION = "zstd"


def _list_array(parts: Sequence[np.ndarray], dtype: np.dtype) -> pa.Array:
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    if lengths.sum() > np.iinfo(np.int32).max:
        raise ValueError(
            f"{lengths.sum()} values in one row group exceed Parquet list offsets (2^31 - 1): "
            "write fewer events per row group (row_group_events)"
        )
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=arrow_type(dtype)))


@dataclass
class _FileInfo:
    name: str
    events: int = 0
    hits: int = 0
    particles: int = 0
    edges: int = 0
    min_event_id: int | None = None
    max_event_id: int | None = None


class _Writer:
    def __init__(
        self, directory: Path, events_per_file: int, row_group_events: int
    ) -> None:
        self.directory = directory
        self.events_per_file = events_per_file
        self.row_group_events = min(row_group_events, events_per_file)
        self.schema: StoreSchema | None = None
        self.files: list[_FileInfo] = []
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[tuple[int, dict[str, dict[str, np.ndarray]]]] = []
        self._seen: set[int] = set()

    def add(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise EventStoreError(
                f"write_store expects raytrack.families.tracking.event.Event objects, but got {type(event).__name__}"
            )
        event_id = int(event.event_id)
        if event_id in self._seen:
            raise EventStoreError(f"event {event_id}: duplicate event_id")
        if self.schema is None:
            self.schema = StoreSchema(event)
        columns = self.schema.check(event)
        self._seen.add(event_id)
        self._buffer.append((event_id, columns))
        if len(self._buffer) >= self.row_group_events:
            self._flush()

    def _flush(self) -> None:
        while self._buffer:
            if self._writer is None:
                info = _FileInfo(PART_TEMPLATE.format(len(self.files)))
                self.files.append(info)
                self._writer = pq.ParquetWriter(
                    self.directory / info.name,
                    self.schema.arrow,
                    compression=COMPRESSION,
                    write_statistics=["event_id"],
                )
            info = self.files[-1]
            room = self.events_per_file - info.events
            chunk, self._buffer = self._buffer[:room], self._buffer[room:]
            self._write_row_group(info, chunk)
            if info.events >= self.events_per_file:
                self._writer.close()
                self._writer = None

    def _write_row_group(self, info: _FileInfo, chunk: list) -> None:
        schema = self.schema
        ids = np.array([event_id for event_id, _ in chunk], dtype=np.int64)
        arrays = [pa.array(ids)]
        for kind in COLUMN_KINDS:
            for name in schema.columns[kind]:
                arrays.append(
                    _list_array([cols[kind][name] for _, cols in chunk], schema.dtypes[kind][name])
                )
        table = pa.Table.from_arrays(arrays, schema=schema.arrow)
        self._writer.write_table(table, row_group_size=len(chunk))
        info.events += len(chunk)
        info.hits += sum(len(cols["hit"]["hit_id"]) for _, cols in chunk)
        info.particles += sum(len(cols["particle"]["particle_id"]) for _, cols in chunk)
        if schema.columns["edge"]:
            info.edges += sum(len(cols["edge"]["src"]) for _, cols in chunk)
        lo, hi = int(ids.min()), int(ids.max())
        info.min_event_id = lo if info.min_event_id is None else min(info.min_event_id, lo)
        info.max_event_id = hi if info.max_event_id is None else max(info.max_event_id, hi)

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the original error is what matters
                pass
            self._writer = None


def _jsonable(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise EventStoreError(f"{where} must be JSON-serialisable: {err}") from None


def write_store(
    path: str | os.PathLike,
    events: Iterable[Event],
    *,
    provenance: Mapping[str, Any],
    events_per_file: int | None = None,
    overwrite: bool = False,
    row_group_events: int | None = None,
) -> "EventStore":
    """Write ``events`` to a new event store at ``path`` and open it.

    Events are streamed: at most one row group (``row_group_events`` events) is held in memory.
    The first event fixes the store's columns; every later event must have the same columns
    (errors name the event and the column). Known columns are cast to their contract dtypes
    (``float64`` positions become ``float32``, ...); a cast across kinds (float to int) is an
    error. Extra numeric columns are kept (``float64`` extras are stored as ``float32``).

    Args:
        path: The store directory. It must not exist unless ``overwrite`` is true.
        events: Events with distinct ``event_id``s, in the order they are stored.
        provenance: JSON-serialisable description of where the events come from (reader and
            source files, or generator settings and seed); kept verbatim in ``meta.json``. It is
            serialised after the last event, so a reader may complete it while events stream.
        events_per_file: Events per Parquet file (default :data:`DEFAULT_EVENTS_PER_FILE`).
        overwrite: Replace an existing store at ``path``.
        row_group_events: Events per Parquet row group (default
            :data:`DEFAULT_ROW_GROUP_EVENTS`).

    The store is built in a temporary directory beside ``path`` and renamed into place after
    ``meta.json`` is written, so an interrupted write never leaves a directory that opens as a
    store. With ``overwrite``, the old store is removed only after the new one is complete.
    """
    path = Path(path).expanduser()
    events_per_file = DEFAULT_EVENTS_PER_FILE if events_per_file is None else int(events_per_file)
    row_group_events = (
        DEFAULT_ROW_GROUP_EVENTS if row_group_events is None else int(row_group_events)
    )
    for name, value in (("events_per_file", events_per_file), ("row_group_events", row_group_events)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, but got {name}={value}")
    _check_destination(path, overwrite)
    _jsonable(dict(provenance), "provenance")  # fail before any work
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    writer = _Writer(tmp, events_per_file, row_group_events)
    try:
        for event in events:
            writer.add(event)
        writer.close()
        if writer.schema is None:
            raise EventStoreError(f"no events to write to {path}")
        meta = _metadata(writer, _jsonable(dict(provenance), "provenance"), events_per_file)
        with open(tmp / META_FILE, "w") as handle:
            json.dump(meta, handle, indent=1)
            handle.write("\n")
        _move_into_place(tmp, path)
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    from raytrack.store.reader import EventStore

    return EventStore(path)


def _check_destination(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    if not path.is_dir():
        raise EventStoreError(f"{path} exists and is not a directory; refusing to replace it")
    if any(path.iterdir()) and not (path / META_FILE).is_file():
        raise EventStoreError(
            f"{path} is a non-empty directory without {META_FILE}, not an event store; "
            "refusing to replace it"
        )


def _metadata(writer: _Writer, provenance: Any, events_per_file: int) -> dict[str, Any]:
    schema = writer.schema
    assert schema is not None
    return {
        "format": STORE_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "provenance": provenance,
        "counts": {
            "events": sum(f.events for f in writer.files),
            "hits": sum(f.hits for f in writer.files),
            "particles": sum(f.particles for f in writer.files),
            "edges": sum(f.edges for f in writer.files),
        },
        "hit_columns": {name: str(schema.dtypes["hit"][name]) for name in schema.hit_columns},
        "particle_columns": {
            name: str(schema.dtypes["particle"][name]) for name in schema.particle_columns
        },
        "edge_columns": {name: str(schema.dtypes["edge"][name]) for name in schema.columns["edge"]},
        "columns": [field.name for field in schema.arrow],
        "layout": {
            "row": "event",
            "events_per_file": events_per_file,
            "row_group_events": writer.row_group_events,
            "compression": COMPRESSION,
        },
        "files": [vars(info) for info in writer.files],
    }


def _move_into_place(tmp: Path, path: Path) -> None:
    """Rename the finished store ``tmp`` to ``path``, replacing an old store only now."""
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
            f"cannot move the new store into {path} ({err.strerror}); was it created by another "
            "writer meanwhile?"
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
