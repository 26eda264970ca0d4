"""Events in the generic sample store: the tracking schema, writing and reading events.

A tracking store holds one row per event (:meth:`~raytrack.families.tracking.event.Event.to_row`),
keyed by ``event_id``, with three column groups (every column of a group has the event's length
of that group):

- ``hit``: :data:`~raytrack.families.tracking.event.HIT_COLUMNS` (always), the optional
  :data:`~raytrack.families.tracking.event.CELL_COLUMNS` and any extra numeric hit column (e.g.
  the embedding's ``emb_0 …``), under their own names;
- ``particle``: :data:`~raytrack.families.tracking.event.PARTICLE_COLUMNS` and extras, as
  ``p_<name>``;
- ``edge`` (stores written by a pipeline stage): ``e_src, e_dst`` (hit positions in the event)
  and ``e_score``, plus extras, as ``e_<name>``.

Contract columns are stored with their contract dtypes; extra ``float64`` columns as ``float32``.
Stores written by raytrack before the generic store (format v1) have exactly this layout and
are read as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from raytrack.families.tracking.event import (
    CELL_COLUMNS,
    EDGE_COLUMNS,
    EDGE_PREFIX,
    HIT_COLUMNS,
    PARTICLE_COLUMNS,
    PARTICLE_PREFIX,
    Event,
)
from raytrack.store.columns import Column, StoreError, StoreSchema

KEY = "event_id"
GROUPS = ("hit", "particle", "edge")
_PREFIX = {"hit": "", "particle": PARTICLE_PREFIX, "edge": EDGE_PREFIX}
_CONTRACT: dict[str, Mapping[str, np.dtype]] = {
    "hit": {**HIT_COLUMNS, **CELL_COLUMNS},
    "particle": PARTICLE_COLUMNS,
    "edge": EDGE_COLUMNS,
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "hit": tuple(HIT_COLUMNS),
    "particle": tuple(PARTICLE_COLUMNS),
    "edge": ("src", "dst"),  # when the event has a graph at all
}


GRAPH_COLUMNS: tuple[Column, ...] = tuple(
    Column(EDGE_PREFIX + name, dtype.name, (None,), "edge") for name, dtype in EDGE_COLUMNS.items()
)
"""The columns a graph stage writes (:meth:`~raytrack.tasks.base.Task.output_columns`)."""


def group_of(name: str) -> str:
    """The group of a stored column name (``p_x`` → particle, ``e_src`` → edge, else hit)."""
    if name.startswith(PARTICLE_PREFIX):
        return "particle"
    if name.startswith(EDGE_PREFIX):
        return "edge"
    return "hit"


def column_for(name: str, values: Any) -> Column:
    """The stored declaration of column ``name`` (contract dtype, or the extra's own dtype)."""
    group = group_of(name)
    bare = name[len(_PREFIX[group]) :]
    dtype = _CONTRACT[group].get(bare)
    if dtype is None:
        dtype = np.asarray(values).dtype
        if dtype.kind not in "biuf":
            raise StoreError(
                f"extra {group} column {name!r} has dtype {dtype}; only numeric and boolean "
                "columns can be stored"
            )
        if dtype == np.float64:
            dtype = np.dtype("float32")
    # NaN in a cell feature means a hit without cells (see .cells); every other value is finite
    return Column(name, np.dtype(dtype).name, (None,), group, finite=bare not in CELL_COLUMNS)


def event_schema(row: Mapping[str, Any]) -> StoreSchema:
    """The schema of a tracking store, from its first event's row: contract columns first."""
    event_id = row.get(KEY)
    names = [name for name in row if name != KEY]
    for group in GROUPS:
        present = [n for n in names if group_of(n) == group]
        if group == "edge" and not present:
            continue
        missing = [c for c in _REQUIRED[group] if _PREFIX[group] + c not in present]
        if missing:
            raise StoreError(
                f"event {event_id}: missing {group} column(s) {missing}; every event needs "
                f"{list(_REQUIRED[group])}"
            )
    ordered = []
    for group in GROUPS:
        contract = [_PREFIX[group] + c for c in _CONTRACT[group] if _PREFIX[group] + c in row]
        extras = sorted(n for n in names if group_of(n) == group and n not in contract)
        ordered += contract + extras
    return StoreSchema(KEY, tuple(column_for(name, row[name]) for name in ordered))


def checked_rows(events: Iterable[Event]) -> Iterator[dict[str, Any]]:
    """The rows of ``events``; an event whose graph points outside its hits is an error."""
    for event in events:
        if not isinstance(event, Event):
            raise StoreError(
                f"expected raytrack.families.tracking.event.Event objects, got {type(event).__name__}"
            )
        if event.num_hits == 0:
            raise StoreError(
                f"event {event.event_id} has no hits: an empty event cannot be trained or evaluated "
                "(for a reader: every hit was dropped, e.g. for a non-finite position)"
            )
        edges = event.edge_index
        if edges is not None and edges.size:
            n_hits = event.num_hits
            if edges.min() < 0 or edges.max() >= n_hits:
                raise StoreError(
                    f"event {event.event_id}: edge ends must be hit positions in [0, {n_hits}), "
                    f"but range over [{edges.min()}, {edges.max()}]"
                )
        yield event.to_row()


def write_events(
    path: str | os.PathLike,
    events: Iterable[Event],
    *,
    provenance: Mapping[str, Any],
    source: str | None = None,
    events_per_file: int | None = None,
    row_group_events: int | None = None,
    overwrite: bool = False,
) -> Any:
    """Write ``events`` as a tracking store at ``path`` and open it (a :class:`SampleStore`)."""
    from raytrack.store.writing import write_store

    return write_store(
        path,
        checked_rows(events),
        schema=event_schema,
        key=KEY,
        provenance=provenance,
        source=source,
        rows_per_file=events_per_file,
        row_group_rows=row_group_events,
        overwrite=overwrite,
    )


def read_event(store: Any, event_id: int) -> Event:
    """One event of a tracking store."""
    return Event.from_row(store.row(int(event_id)))


def columns_of(store: Any, group: str) -> list[str]:
    """The stored names of a group's columns, without their prefix (``hit``, ``particle``, ``edge``)."""
    prefix = _PREFIX[group]
    return [c.name[len(prefix) :] for c in store.schema.columns if c.group == group]


def event_counts(store: Any) -> dict[str, int]:
    """``events, hits, particles, edges`` of a tracking store."""
    counts = store.counts
    return {
        "events": int(counts["rows"]),
        "hits": int(counts.get("hit", 0)),
        "particles": int(counts.get("particle", 0)),
        "edges": int(counts.get("edge", 0)),
    }
