"""``raytrack store info STORE`` and ``raytrack store upgrade STORE``: inspect and upgrade stores.

``info`` prints what a store holds (key, rows, columns with dtype, shape and group, counts,
source, a provenance summary and its files) from ``meta.json`` and the Parquet footers, without
reading any data. ``upgrade`` rewrites a version 1 store's ``meta.json`` in the version 2 format
(:func:`raytrack.store.upgrade.upgrade_store`). Heavy imports (pyarrow) happen inside the command
functions, so that building the command line stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    store = subparsers.add_parser(
        "store",
        help="inspect or upgrade a sample store",
        description="Inspect a sample store (info) or upgrade a version 1 store in place (upgrade).",
    )
    commands = store.add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    info = commands.add_parser(
        "info",
        help="print a store's key, rows, columns, counts, source, provenance and files",
        description=(
            "Print what the store STORE holds: its key, rows, columns (dtype, shape per row, "
            "group), counts, source, a summary of its provenance and its files. Reads meta.json "
            "and the Parquet footers only."
        ),
    )
    info.add_argument("store", metavar="STORE", help="store directory")
    info.set_defaults(run=_info)
    upgrade = commands.add_parser(
        "upgrade",
        help="rewrite a version 1 store's meta.json in the version 2 format",
        description=(
            "Rewrite the meta.json of the version 1 store (raytrack-event-store) STORE in the "
            "version 2 sample store format, in place; the Parquet files are not touched. A "
            "version 2 store is left as it is."
        ),
    )
    upgrade.add_argument("store", metavar="STORE", help="store directory")
    upgrade.set_defaults(run=_upgrade)


def _summary(value: Any, width: int = 60) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def describe(store: Any) -> str:
    """The text of ``raytrack store info`` for an open :class:`SampleStore`."""
    from raytrack.store.upgrade import V1_FORMAT
    from raytrack.store.writing import STORE_FORMAT

    if store.format_version == 1:
        fmt = (
            f"{V1_FORMAT} v1 (read as {STORE_FORMAT}; `raytrack store upgrade` rewrites meta.json)"
        )
    else:
        fmt = f"{STORE_FORMAT} v{store.format_version}"
    counts = store.counts
    groups = ", ".join(f"{name} {n}" for name, n in counts.items() if name != "rows") or "-"
    provenance = store.provenance
    if isinstance(provenance, dict):
        provenance = ", ".join(f"{k}={_summary(v)}" for k, v in provenance.items()) or "{}"
    else:
        provenance = _summary(provenance)
    lines = [
        f"store       {store.path}",
        f"format      {fmt}",
        f"key         {store.key}",
        f"rows        {counts['rows']}",
        f"counts      {groups}",
        f"source      {store.source or '-'}",
        f"provenance  {provenance}",
        f"columns (the key and {len(store.schema.columns)} declared):",
    ]
    columns = [("name", "dtype", "shape", "group"), (store.key, "int64", "()", "(key)")]
    columns += [(c.name, c.dtype, str(c.shape), c.group or "-") for c in store.schema.columns]
    lines += _table(columns)
    files = store.metadata["files"]
    lines.append(f"files ({len(files)}):")
    lines += _table([
        (f["name"], f"{f['rows']} rows", f"{store.key} {f['min_key']}..{f['max_key']}")
        for f in files
    ])  # fmt: skip
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> int:
    from raytrack.store.columns import StoreError
    from raytrack.store.sample_store import SampleStore

    try:
        store = SampleStore(args.store)
    except (StoreError, FileNotFoundError) as err:
        print(err, file=sys.stderr)
        return 1
    print(describe(store))
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from raytrack.store.columns import StoreError
    from raytrack.store.sample_store import SampleStore
    from raytrack.store.upgrade import upgrade_store
    from raytrack.store.writing import SCHEMA_VERSION, STORE_FORMAT

    try:
        upgraded = upgrade_store(args.store)
    except (StoreError, FileNotFoundError) as err:
        print(err, file=sys.stderr)
        return 1
    store = SampleStore(args.store)
    if not upgraded:
        print(f"{store.path} already is a {STORE_FORMAT} v{SCHEMA_VERSION}; nothing to do")
        return 0
    groups = ", ".join(store.schema.groups) or "none"
    print(
        f"upgraded {store.path}: meta.json rewritten as {STORE_FORMAT} v{SCHEMA_VERSION} "
        f"(key {store.key}, {len(store.schema.columns)} columns, groups {groups}, "
        f"{len(store)} rows); Parquet files untouched"
    )
    return 0
