"""The columns of an event store: which it needs, which dtypes it stores, how events are checked.

The first event written fixes a store's :class:`StoreSchema`: its hit, particle and (optional)
stored-graph columns, each with a dtype. Contract columns (:mod:`raytrack.families.tracking.event`) are cast
to their contract dtypes; extra numeric columns are kept (``float64`` extras as ``float32``).
Every later event is checked against the schema by :meth:`StoreSchema.check`; errors
(:class:`EventStoreError`) name the event and the column. :mod:`raytrack.store.writer`
uses it to write the Parquet files.

Shapes: every column is 1-D; the columns of one kind (hit, particle, edge) share one length.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from raytrack.families.tracking.event import (
    CELL_COLUMNS,
    EDGE_COLUMNS,
    EDGE_PREFIX,
    HIT_COLUMNS,
    PARTICLE_COLUMNS,
    PARTICLE_PREFIX,
    Event,
)

__all__ = ["COLUMN_KINDS", "EventStoreError", "StoreSchema", "arrow_type"]


class EventStoreError(ValueError):
    """A path that is not a readable event store, or events that cannot be stored."""


def arrow_type(dtype: np.dtype) -> pa.DataType:
    """The Arrow type of a numpy dtype."""
    return pa.from_numpy_dtype(np.dtype(dtype))


COLUMN_KINDS = ("hit", "particle", "edge")
"""The kinds of column a store holds, in stored order."""
_PREFIX = {"hit": "", "particle": PARTICLE_PREFIX, "edge": EDGE_PREFIX}
_REQUIRED: dict[str, Mapping[str, np.dtype]] = {
    "hit": HIT_COLUMNS,
    "particle": PARTICLE_COLUMNS,
    "edge": {name: EDGE_COLUMNS[name] for name in ("src", "dst")},  # when the event has a graph
}
_KNOWN: dict[str, Mapping[str, np.dtype]] = {
    "hit": {**HIT_COLUMNS, **CELL_COLUMNS},
    "particle": PARTICLE_COLUMNS,
    "edge": EDGE_COLUMNS,
}


def _columns_of(event: Event) -> dict[str, dict[str, np.ndarray]]:
    """The event's columns by kind: hits, particles and (possibly empty) stored graph."""
    return {
        "hit": {name: np.asarray(col) for name, col in event.hits.items()},
        "particle": {name: np.asarray(col) for name, col in event.particles.items()},
        "edge": {name: np.asarray(col) for name, col in event.edges.items()},
    }


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


class StoreSchema:
    """The column set and dtypes of a store, fixed by its first event."""

    def __init__(self, event: Event) -> None:
        given = _columns_of(event)
        event_id = int(event.event_id)
        self.dtypes: dict[str, dict[str, np.dtype]] = {}
        self.columns: dict[str, list[str]] = {}
        for kind in COLUMN_KINDS:
            columns = given[kind]
            if kind == "edge" and not columns:  # a store without graphs
                self.dtypes[kind], self.columns[kind] = {}, []
                continue
            missing = [name for name in _REQUIRED[kind] if name not in columns]
            if missing:
                raise EventStoreError(
                    f"event {event_id}: missing {kind} column(s) {missing}; "
                    f"every event needs {list(_REQUIRED[kind])}"
                )
            self.dtypes[kind] = {
                name: self._dtype_for(event_id, kind, name, values) for name, values in columns.items()
            }
            # Stored column order: contract order (cells after the hit contract), then extras.
            order = [name for name in _KNOWN[kind] if name in columns]
            self.columns[kind] = order + sorted(c for c in columns if c not in order)
        fields = [pa.field("event_id", pa.int64(), nullable=False)]
        for kind in COLUMN_KINDS:
            fields += [
                pa.field(_PREFIX[kind] + name, pa.list_(arrow_type(self.dtypes[kind][name])))
                for name in self.columns[kind]
            ]
        self.arrow = pa.schema(fields)

    @property
    def hit_columns(self) -> list[str]:
        return self.columns["hit"]

    @property
    def particle_columns(self) -> list[str]:
        return self.columns["particle"]

    @staticmethod
    def _dtype_for(event_id: int, kind: str, name: str, values: np.ndarray) -> np.dtype:
        if name in _KNOWN[kind]:
            dtype = _KNOWN[kind][name]
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

    def check(self, event: Event) -> dict[str, dict[str, np.ndarray]]:
        """Validate ``event`` against the schema; return its columns cast to the stored dtypes."""
        event_id = int(event.event_id)
        out = {}
        for kind, given in _columns_of(event).items():
            dtypes = self.dtypes[kind]
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
            out[kind] = cast
        if out["edge"]:
            n_hits = len(out["hit"]["hit_id"])
            ends = np.concatenate([out["edge"]["src"], out["edge"]["dst"]])
            if ends.size and (ends.min() < 0 or ends.max() >= n_hits):
                raise EventStoreError(
                    f"event {event_id}: edge ends must be hit positions in [0, {n_hits}), but "
                    f"range over [{ends.min()}, {ends.max()}]"
                )
        return out
