"""Writing an event store (see :mod:`raytrack.data.store` for the layout and the reader).

:func:`write_store` streams events into Parquet row groups: it holds one row group of events at a
time (plus the set of event ids seen). The first event fixes the store's columns and dtypes;
every later event is checked against them, and errors name the event and the column.

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

from raytrack.data.event import (
    CELL_COLUMNS,
    HIT_COLUMNS,
    PARTICLE_COLUMNS,
    PARTICLE_PREFIX,
    Event,
)

if TYPE_CHECKING:
    from raytrack.data.store import EventStore

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


class EventStoreError(ValueError):
    """A path that is not a readable event store, or events that cannot be stored."""


def _arrow_type(dtype: np.dtype) -> pa.DataType:
    return pa.from_numpy_dtype(np.dtype(dtype))


def _columns_of(event: Event) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return (
        {name: np.asarray(col) for name, col in event.hits.items()},
        {name: np.asarray(col) for name, col in event.particles.items()},
    )


def _check_dtype(event_id: int, kind: str, name: str, values: np.ndarray, dtype: np.dtype) -> None:
    if values.ndim != 1:
        raise EventStoreError(
            f"event {event_id}: {kind} column {name!r} must be 1-D, but has shape {values.shape}"
        )
    if not np.can_cast(values.dtype, dtype, casting="same_kind"):
        raise EventStoreError(
            f"event {event_id}: {kind} column {name!r} has dtype {values.dtype}, "
            f"which cannot be stored as {dtype}"
        )


class _Schema:
    """The column set and dtypes of a store, fixed by its first event."""

    def __init__(self, event: Event) -> None:
        hits, particles = _columns_of(event)
        event_id = int(event.event_id)
        for kind, required, given in (
            ("hit", HIT_COLUMNS, hits),
            ("particle", PARTICLE_COLUMNS, particles),
        ):
            missing = [name for name in required if name not in given]
            if missing:
                raise EventStoreError(
                    f"event {event_id}: missing {kind} column(s) {missing}; "
                    f"every event needs {list(required)}"
                )
        self.hit_dtypes: dict[str, np.dtype] = {}
        for name, values in hits.items():
            self.hit_dtypes[name] = self._dtype_for(event_id, "hit", name, values, HIT_COLUMNS)
        self.particle_dtypes: dict[str, np.dtype] = {}
        for name, values in particles.items():
            self.particle_dtypes[name] = self._dtype_for(
                event_id, "particle", name, values, PARTICLE_COLUMNS
            )
        # Stored column order: required first (in contract order), then cells, then extras.
        order = list(HIT_COLUMNS) + [c for c in CELL_COLUMNS if c in hits]
        order += sorted(c for c in hits if c not in order)
        self.hit_columns = order
        porder = list(PARTICLE_COLUMNS) + sorted(c for c in particles if c not in PARTICLE_COLUMNS)
        self.particle_columns = porder
        fields = [pa.field("event_id", pa.int64(), nullable=False)]
        fields += [
            pa.field(name, pa.list_(_arrow_type(self.hit_dtypes[name]))) for name in self.hit_columns
        ]
        fields += [
            pa.field(PARTICLE_PREFIX + name, pa.list_(_arrow_type(self.particle_dtypes[name])))
            for name in self.particle_columns
        ]
        self.arrow = pa.schema(fields)

    @staticmethod
    def _dtype_for(
        event_id: int, kind: str, name: str, values: np.ndarray, known: Mapping[str, np.dtype]
    ) -> np.dtype:
        if name in known:
            dtype = known[name]
        elif kind == "hit" and name in CELL_COLUMNS:
            dtype = CELL_COLUMNS[name]
        else:
            dtype = values.dtype
            if dtype.kind not in "biuf":
                raise EventStoreError(
                    f"event {event_id}: extra {kind} column {name!r} has dtype {dtype}; "
                    "only numeric and boolean columns can be stored"
                )
            if dtype == np.float64:
                dtype = np.dtype("float32")
        _check_dtype(event_id, kind, name, values, dtype)
        return np.dtype(dtype)

    def check(self, event: Event) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Validate ``event`` against the schema; return its columns cast to the stored dtypes."""
        event_id = int(event.event_id)
        hits, particles = _columns_of(event)
        out = []
        for kind, dtypes, given in (
            ("hit", self.hit_dtypes, hits),
            ("particle", self.particle_dtypes, particles),
        ):
            missing = [name for name in dtypes if name not in given]
            if missing:
                raise EventStoreError(
                    f"event {event_id}: missing {kind} column(s) {missing} "
                    f"(the store's first event had them)"
                )
            unexpected = [name for name in given if name not in dtypes]
            if unexpected:
                raise EventStoreError(
                    f"event {event_id}: unexpected {kind} column(s) {unexpected} "
                    f"(the store's first event had none; every event needs the same columns)"
                )
            lengths = {name: len(np.asarray(values)) for name, values in given.items()}
            if len(set(lengths.values())) > 1:
                raise EventStoreError(
                    f"event {event_id}: {kind} columns differ in length: {lengths}"
                )
            cast = {}
            for name, dtype in dtypes.items():
                values = given[name]
                _check_dtype(event_id, kind, name, values, dtype)
                cast[name] = values.astype(dtype, copy=False)
            out.append(cast)
        return out[0], out[1]


def _list_array(parts: Sequence[np.ndarray], dtype: np.dtype) -> pa.Array:
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=_arrow_type(dtype)))


@dataclass
class _FileInfo:
    name: str
    events: int = 0
    hits: int = 0
    particles: int = 0
    min_event_id: int | None = None
    max_event_id: int | None = None


class _Writer:
    def __init__(
        self, directory: Path, events_per_file: int, row_group_events: int
    ) -> None:
        self.directory = directory
        self.events_per_file = events_per_file
        self.row_group_events = min(row_group_events, events_per_file)
        self.schema: _Schema | None = None
        self.files: list[_FileInfo] = []
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]] = []
        self._seen: set[int] = set()

    def add(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise EventStoreError(
                f"write_store expects raytrack.data.event.Event objects, but got {type(event).__name__}"
            )
        event_id = int(event.event_id)
        if event_id in self._seen:
            raise EventStoreError(f"event {event_id}: duplicate event_id")
        if self.schema is None:
            self.schema = _Schema(event)
        hits, particles = self.schema.check(event)
        self._seen.add(event_id)
        self._buffer.append((event_id, hits, particles))
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
        ids = np.array([event_id for event_id, _, _ in chunk], dtype=np.int64)
        arrays = [pa.array(ids)]
        for name in schema.hit_columns:
            arrays.append(_list_array([hits[name] for _, hits, _ in chunk], schema.hit_dtypes[name]))
        for name in schema.particle_columns:
            arrays.append(
                _list_array([parts[name] for _, _, parts in chunk], schema.particle_dtypes[name])
            )
        table = pa.Table.from_arrays(arrays, schema=schema.arrow)
        self._writer.write_table(table, row_group_size=len(chunk))
        info.events += len(chunk)
        info.hits += sum(len(hits["hit_id"]) for _, hits, _ in chunk)
        info.particles += sum(len(parts["particle_id"]) for _, _, parts in chunk)
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
    from raytrack.data.store import EventStore

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
        },
        "hit_columns": {name: str(schema.hit_dtypes[name]) for name in schema.hit_columns},
        "particle_columns": {
            name: str(schema.particle_dtypes[name]) for name in schema.particle_columns
        },
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
