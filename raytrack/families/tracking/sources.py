"""The tracking data sources: the detector simulation and the TrackML/ACTS CSV reader.

Both produce one row per event in the tracking layout (:mod:`.event_store`), so every tracking
family (Exa.TrkX, HyperTrack, GravNet) trains on either. Declared in :mod:`.family` as
``detector_sim`` (``data.generate: {events, seed, settings}``; ``raytrack generate
detector_sim``) and ``trackml`` (``data.generate: {settings: {path}}``; ``raytrack convert
trackml SRC_DIR STORE``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from raytrack.families.tracking.event_store import checked_rows, event_schema
from raytrack.families.tracking.sim_settings import SimulationSettings
from raytrack.family import SourceOutput


class TrackMLSettings(BaseModel):
    """Where the TrackML (or ACTS) CSV files are."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="directory of eventNNN-{hits,truth,particles[,cells]}.csv[.gz] "
                      "files; a detectors.csv[.gz] there adds the Exa.TrkX cell features")  # fmt: skip


def simulated_events(settings: SimulationSettings, *, count: int, seed: int) -> SourceOutput:
    """Events ``0 .. count - 1`` of the detector simulation with ``seed``."""
    from raytrack.families.tracking.simulate import provenance, simulate_events

    if count is None or count < 1:
        raise ValueError(f"the detector simulation needs a number of events >= 1, but got {count}")
    rows = checked_rows(simulate_events(count, seed, settings))
    return SourceOutput(rows, event_schema, provenance(count, seed, settings))


def trackml_events(
    settings: TrackMLSettings, *, count: None = None, seed: None = None
) -> SourceOutput:
    """Every event of the TrackML directory ``settings.path``."""
    from raytrack.families.tracking.trackml import trackml_events as read_events

    events, provenance = read_events(settings.path)
    return SourceOutput(checked_rows(events), event_schema, provenance)


def describe_store(store) -> str:
    """Events, hits, particles, cell features and what the reader had to fill in or drop."""
    from raytrack.families.tracking.event_store import columns_of, event_counts

    counts = event_counts(store)
    cells = "with" if "cell_count" in columns_of(store, "hit") else "without"
    lines = [
        f"{counts['events']} events ({counts['hits']} hits, {counts['particles']} particles) in "
        f"{len(store.files)} Parquet file(s), {cells} cell features"
    ]
    provenance = store.provenance
    if provenance.get("filled_columns"):
        lines.append(
            f"filled columns absent from the source: {', '.join(provenance['filled_columns'])}"
        )
    for name, ids in provenance.get("renumbered_particle_ids", {}).items():
        lines.append(f"{name}: renumbered particle ids {ids} (0 is reserved for noise)")
    for name, count in provenance.get("dropped_hits", {}).items():
        lines.append(f"{name}: dropped {count} hits without a finite position")
    return "\n".join(lines)


__all__ = [
    "SimulationSettings",
    "TrackMLSettings",
    "describe_store",
    "simulated_events",
    "trackml_events",
]
