"""``raytrack convert trackml SRC_DIR STORE [--overwrite]``: TrackML CSV events to an event store."""

from __future__ import annotations

import argparse


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    convert = subparsers.add_parser(
        "convert",
        help="convert events from another format into an event store",
        description="Convert events from another format into a Parquet event store.",
    )
    formats = convert.add_subparsers(dest="format", required=True, metavar="FORMAT")
    trackml = formats.add_parser(
        "trackml",
        help="TrackML CSV events (eventNNN-{hits,truth,particles,cells}.csv[.gz])",
        description=(
            "Convert every TrackML event in SRC_DIR (eventNNN-hits/truth/particles[/cells].csv"
            "[.gz]; ACTS' -fatras-particles.csv is accepted) into the event store STORE. "
            "A detectors.csv[.gz] in SRC_DIR adds the Exa.TrkX cell features."
        ),
    )
    trackml.add_argument("src_dir", metavar="SRC_DIR", help="directory of the TrackML CSV files")
    trackml.add_argument("store", metavar="STORE", help="event store directory to create")
    trackml.add_argument(
        "--overwrite", action="store_true", help="replace STORE if it is already an event store"
    )
    trackml.add_argument(
        "--events-per-file", type=int, default=None, metavar="N",
        help="events per Parquet file (default: the store's default)",
    )  # fmt: skip
    trackml.set_defaults(run=_run_trackml)


def _run_trackml(args: argparse.Namespace) -> int:
    import sys
    import time

    from raytrack.families.tracking.trackml import convert_trackml

    start = time.perf_counter()
    try:
        store = convert_trackml(
            args.src_dir, args.store, overwrite=args.overwrite, events_per_file=args.events_per_file
        )
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"raytrack convert trackml: error: {err}", file=sys.stderr)
        return 2
    meta = store.metadata
    counts = meta["counts"]
    provenance = meta["provenance"]
    cells = "with" if "cell_count" in meta["hit_columns"] else "without"
    print(
        f"wrote {counts['events']} events ({counts['hits']} hits, {counts['particles']} "
        f"particles) to {store.path} in {len(meta['files'])} Parquet file(s), {cells} cell "
        f"features, in {time.perf_counter() - start:.1f} s"
    )
    if provenance.get("filled_columns"):
        print(f"filled columns absent from the source: {', '.join(provenance['filled_columns'])}")
    for name, ids in provenance.get("renumbered_particle_ids", {}).items():
        print(f"{name}: renumbered particle ids {ids} (0 is reserved for noise)")
    for name, count in provenance.get("dropped_hits", {}).items():
        print(f"{name}: dropped {count} hits without a finite position")
    return 0
