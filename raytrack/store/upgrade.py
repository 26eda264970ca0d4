"""Version 1 stores (``raytrack-event-store``): how they read as sample stores, and upgrading them.

Version 1 was the tracking-only event store: key ``event_id``, hit columns under their names,
particle columns as ``p_<name>``, an optional stored graph as ``e_<name>``, every column a
``list<dtype>``. Its Parquet files already hold exactly the columns of a version 2 schema with
the groups ``hit``, ``particle`` and ``edge`` (:func:`metadata_from_v1`), so
:class:`~raytrack.store.sample_store.SampleStore` reads them as they are and no one has to
regenerate data.

:func:`upgrade_store` makes the schema explicit in the store's ``meta.json`` (columns with dtype,
shape and group, as every version 2 store has them) for tools that read the metadata without
raytrack. Only ``meta.json`` changes; it is replaced atomically, after the whole store (every
Parquet footer) has been checked, so an interrupted upgrade leaves the version 1 store as it
was. Upgrading a version 2 store changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raytrack.store.columns import Column, StoreError, StoreSchema
from raytrack.store.writing import (
    META_FILE,
    SCHEMA_VERSION,
    STORE_FORMAT,
    write_json_atomically,
)

__all__ = ["V1_FORMAT", "metadata_from_v1", "upgrade_store"]

V1_FORMAT = "raytrack-event-store"
_V1_GROUPS = (
    ("hit_columns", "", "hit"),
    ("particle_columns", "p_", "particle"),
    ("edge_columns", "e_", "edge"),
)
"""Version 1 column lists: (``meta.json`` entry, stored name prefix, version 2 group)."""
_V1_LAYOUT = (
    ("rows_per_file", "events_per_file"),
    ("row_group_rows", "row_group_events"),
    ("compression", "compression"),
)


def metadata_from_v1(meta: Mapping[str, Any], where: str | os.PathLike) -> dict[str, Any]:
    """The version 2 ``meta.json`` of a version 1 store (what :func:`upgrade_store` writes).

    Counts become ``{"rows": events, "hit": hits, "particle": particles}`` plus
    ``"edge": edges`` when the store has graph columns; provenance is kept, the layout renamed.
    """
    try:
        columns = [
            Column(prefix + name, dtype, (None,), group, finite=False)
            for entry, prefix, group in _V1_GROUPS
            for name, dtype in (meta.get(entry) or {}).items()
        ]
        old = meta["counts"]
        counts = {"rows": old["events"], "hit": old["hits"], "particle": old["particles"]}
        if meta.get("edge_columns"):
            counts["edge"] = old["edges"]
        layout = meta.get("layout") or {}
        files = [
            {
                "name": f["name"],
                "rows": f["events"],
                "min_key": f["min_event_id"],
                "max_key": f["max_event_id"],
            }
            for f in meta["files"]
        ]
        schema = StoreSchema("event_id", tuple(columns))
    except (KeyError, TypeError, AttributeError, StoreError) as err:
        raise StoreError(
            f"{where}: not a valid version 1 event store description ({type(err).__name__}: {err})"
        ) from None
    return {
        "format": STORE_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "source": None,
        "provenance": meta.get("provenance"),
        "schema": schema.to_json(),
        "counts": counts,
        "layout": {new: layout[old] for new, old in _V1_LAYOUT if old in layout},
        "files": files,
    }


def upgrade_store(path: str | os.PathLike) -> bool:
    """Rewrite the ``meta.json`` of the version 1 store at ``path`` in the version 2 format.

    Returns True when the store was upgraded and False when it already was a version 2 store
    (nothing is written). Anything that is not a readable store is refused with a
    :class:`~raytrack.store.columns.StoreError` (a missing path: ``FileNotFoundError``) that
    says why, and is left untouched.
    """
    # Imported here: sample_store imports this module to read version 1 stores.
    from raytrack.store.sample_store import SampleStore

    path = Path(path).expanduser()
    try:
        store = SampleStore(path)
    except StoreError as err:
        raise StoreError(f"cannot upgrade {path}: {err}") from None
    if store.format_version == SCHEMA_VERSION:
        return False
    write_json_atomically(path / META_FILE, store.metadata)
    return True
