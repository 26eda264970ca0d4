"""Read TrackML-format events (CSV, optionally gzipped) into :class:`~raytrack.families.tracking.event.Event`.

An event ``eventNNN`` is the files ``eventNNN-hits.csv``, ``-truth.csv``, ``-particles.csv`` and,
optionally, ``-cells.csv`` (each also as ``.csv.gz``) in one directory; ``detectors.csv[.gz]`` in
the same directory, when present, adds the Exa.TrkX cell features (:mod:`raytrack.families.tracking.cells`).

Both TrackML challenge phases and ACTS' CSV output are read:

- hits must carry ``volume_id, layer_id, module_id``: every truth graph, the geometric graph
  and the cell features place hits by them, so a hits file without them (or with a hit
  lacking one) is an error naming the file, the column and, for a missing value, the line;
- truth with or without ``weight`` (and with or without ``tx..tpz``, which are not stored);
- particles with or without ``particle_type``; the ACTS name ``eventNNN-fatras-particles.csv``
  (or ``-particles_initial.csv``) stands in for ``-particles.csv``; a missing ``nhits`` is
  counted from the truth file;
- hits whose ``x, y, z`` are not finite (75 of the ACTS sample's 630 read ``nan``) are dropped with
  a warning and counted (``meta["dropped_hits"]``, the store's provenance ``dropped_hits``).

What cannot be derived fails with ``missing column 'X' in file Y``.

Truth weights are kept as given: the TrackML score weights of a full event sum to 1, but in a
subsample (such as the reference event, whose weights sum to 0.0513) they do not, so a score must
normalise them by their sum. Noise hits have ``particle_id == 0`` and keep their given weight (0 in
TrackML files). Without a ``weight`` column every hit of a particle gets weight 1 and every noise
hit 0 (an unweighted score once normalised).

Derived columns: hits ``r = hypot(x, y)``, ``phi = arctan2(y, x)``, ``eta = arcsinh(z / r)``;
particles ``pt = hypot(px, py)``, ``eta = arcsinh(pz / pt)``. Lengths in mm, momenta in GeV
(ACTS writes GeV too: the ACTS sample's track curvatures fit its pT in GeV at 2 T).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raytrack.families.tracking.cells import cell_features, load_detectors, missing_columns_error
from raytrack.families.tracking.event import HIT_COLUMNS, PARTICLE_COLUMNS, Event

__all__ = ["convert_trackml", "find_trackml_events", "read_trackml_event"]

HIT_FILE_COLUMNS = ("hit_id", "x", "y", "z")
GEOMETRY_COLUMNS = ("volume_id", "layer_id", "module_id")
TRUTH_FILE_COLUMNS = ("hit_id", "particle_id")
PARTICLE_FILE_COLUMNS = ("particle_id", "vx", "vy", "vz", "px", "py", "pz", "q")
PARTICLE_FILE_SUFFIXES = ("particles", "particles_initial", "fatras-particles")
"""Accepted names of the particles file, in order of preference."""

_EVENT_NAME = re.compile(r"^(?P<prefix>event(?P<number>\d+))-hits\.csv(\.gz)?$")


def _find_file(
    directory: Path, prefix: str, suffixes: tuple[str, ...], required: bool
) -> Path | None:
    for suffix in suffixes:
        for ext in (".csv", ".csv.gz"):
            candidate = directory / f"{prefix}-{suffix}{ext}"
            if candidate.is_file():
                return candidate
    if required:
        names = " or ".join(f"{prefix}-{suffix}.csv[.gz]" for suffix in suffixes)
        raise FileNotFoundError(f"missing file {names} in {directory}")
    return None


def _check_detector_ids(hits: pd.DataFrame, path: Path) -> None:
    """Every hit has its ``volume_id, layer_id, module_id`` (made integer here), or an error
    naming the file, the column and the line: without them the truth graphs would be empty."""
    why = (
        "every hit needs its detector ids (volume_id, layer_id, module_id): the truth graphs, "
        "the geometric graph and the cell features place hits by them"
    )
    missing = [c for c in GEOMETRY_COLUMNS if c not in hits.columns]
    if missing:
        raise ValueError(f"{missing_columns_error(missing, path)}: {why}")
    for column in GEOMETRY_COLUMNS:
        numbers = pd.to_numeric(hits[column], errors="coerce")
        bad = numbers.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"file {path}, line {row + 2}, column {column!r}: {hits[column].iloc[row]!r} is "
                f"not a detector id ({int(bad.sum())} hits lack one); {why}"
            )
        hits[column] = numbers.astype(np.int64)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """The CSV file at ``path``; every ``required`` column present and numeric (an error names
    the file, the line and the column of the first value that is not a number)."""
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as err:  # pandas' ParserError and EmptyDataError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"file {path}: not a readable CSV file ({first})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise missing_columns_error(missing, path)
    for column in required:
        if frame[column].dtype.kind in "biuf":
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"file {path}, line {row + 2}, column {column!r}: "
                f"{frame[column].iloc[row]!r} is not a number"
            )
        frame[column] = numbers
    return frame


def _event_number(prefix: str) -> int:
    match = re.search(r"(\d+)$", prefix)
    if match is None:
        raise ValueError(
            f"cannot take an event id from {prefix!r}: TrackML event names end in digits "
            "(e.g. event000001000)"
        )
    return int(match.group(1))


def _resolve_event(src_dir: Path, event: str | int | os.PathLike) -> tuple[Path, str]:
    if isinstance(event, (int, np.integer)):
        return src_dir, f"event{int(event):09d}"
    text = re.sub(r"-hits\.csv(\.gz)?$", "", str(event))
    path = Path(text)
    if len(path.parts) > 1:
        return (src_dir / path.parent) if not path.is_absolute() else path.parent, path.name
    return src_dir, text


def find_detectors_file(directory: str | os.PathLike) -> Path | None:
    """``detectors.csv`` or ``detectors.csv.gz`` in ``directory``, if there is one."""
    for name in ("detectors.csv", "detectors.csv.gz"):
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    return None


def _resolve_detectors(
    directory: Path, detectors: str | os.PathLike | pd.DataFrame | bool | None
) -> pd.DataFrame | None:
    if detectors is False:
        return None
    if isinstance(detectors, pd.DataFrame):
        return detectors
    if detectors is None or detectors is True:
        found = find_detectors_file(directory)
        if found is None and detectors is True:
            raise FileNotFoundError(f"missing file detectors.csv[.gz] in {directory}")
        return None if found is None else load_detectors(found)
    return load_detectors(detectors)


def read_trackml_event(
    src_dir: str | os.PathLike,
    event_name_or_prefix: str | int | os.PathLike,
    *,
    detectors: str | os.PathLike | pd.DataFrame | bool | None = None,
) -> Event:
    """Read one TrackML event.

    Args:
        src_dir: Directory of the event's files.
        event_name_or_prefix: ``"event000000001"``, a path prefix such as
            ``"some/dir/event000000001"`` (relative to ``src_dir`` unless absolute), the name of
            the hits file, or the event number as an int. The event id is the number at its end.
        detectors: The detector geometry for the cell features: a ``detectors.csv[.gz]`` path or
            a frame from :func:`raytrack.families.tracking.cells.load_detectors`; ``None`` uses
            ``detectors.csv[.gz]`` beside the event if there is one; ``False`` never adds cell
            features. Cell features need the cells file too.

    The event's ``meta`` records its source files and which columns were derived or filled.
    """
    directory, prefix = _resolve_event(Path(src_dir).expanduser(), event_name_or_prefix)
    if not directory.is_dir():
        raise FileNotFoundError(f"TrackML directory {directory} does not exist")
    event_id = _event_number(prefix)
    hits_file = _find_file(directory, prefix, ("hits",), required=True)
    truth_file = _find_file(directory, prefix, ("truth",), required=True)
    particles_file = _find_file(directory, prefix, PARTICLE_FILE_SUFFIXES, required=True)
    cells_file = _find_file(directory, prefix, ("cells",), required=False)
    filled: list[str] = []

    hits = _read_csv(hits_file, HIT_FILE_COLUMNS)
    _check_detector_ids(hits, hits_file)
    truth = _read_csv(truth_file, TRUTH_FILE_COLUMNS)
    particles = _read_csv(particles_file, PARTICLE_FILE_COLUMNS)
    for frame, file in ((hits, hits_file), (truth, truth_file), (particles, particles_file)):
        key = "particle_id" if frame is particles else "hit_id"
        duplicated = frame[key].duplicated()
        if duplicated.any():
            raise ValueError(
                f"file {file}: {key} {int(frame[key][duplicated].iloc[0])} appears more than once"
            )

    # Hits joined with their truth by hit_id.
    hits = hits.sort_values("hit_id", kind="stable").reset_index(drop=True)
    truth_cols = ["hit_id", "particle_id"] + (["weight"] if "weight" in truth.columns else [])
    hits = hits.drop(columns=[c for c in truth_cols if c != "hit_id" and c in hits.columns])
    merged = hits.merge(truth[truth_cols], on="hit_id", how="left", validate="one_to_one")
    no_truth = merged["particle_id"].isna()
    if no_truth.any():
        raise ValueError(
            f"{int(no_truth.sum())} hits of {hits_file} have no row in {truth_file} "
            f"(e.g. hit_id {int(merged.loc[no_truth, 'hit_id'].iloc[0])})"
        )
    # Hits without a measured position (the ACTS sample writes `nan` for some) cannot be
    # reconstructed: they are dropped, said, and counted in the event's meta.
    finite = np.isfinite(merged[["x", "y", "z"]].to_numpy(np.float64)).all(axis=1)
    dropped = int((~finite).sum())
    if dropped:
        first = merged.loc[~finite, "hit_id"].astype(np.int64).tolist()[:5]
        warnings.warn(
            f"{hits_file.name}: {dropped} hits have no finite x, y, z (e.g. hit_id "
            f"{', '.join(map(str, first))}) and are dropped",
            stacklevel=2,
        )
        merged = merged[finite].reset_index(drop=True)
    # Particles: a particle named 0 (ACTS) collides with the noise id and is renumbered.
    renumbered: dict[int, int] = {}
    if (particles["particle_id"] == 0).any():
        new_id = int(max(particles["particle_id"].max(), merged["particle_id"].max())) + 1
        renumbered[0] = new_id
        particles["particle_id"] = particles["particle_id"].replace(0, new_id)
        merged["particle_id"] = merged["particle_id"].replace(0, new_id)
        warnings.warn(
            f"{particles_file} names a particle 0, but particle_id 0 marks noise hits in "
            f"raytrack: that particle (and its hits in {truth_file.name}) is renumbered {new_id}",
            stacklevel=2,
        )
    pid = merged["particle_id"].to_numpy(dtype=np.int64)
    unknown = (pid != 0) & ~np.isin(pid, particles["particle_id"].to_numpy(dtype=np.int64))
    if unknown.any():
        raise ValueError(
            f"{int(unknown.sum())} hits in {truth_file} belong to particles missing from "
            f"{particles_file} (e.g. particle_id {int(pid[unknown][0])})"
        )
    if "weight" not in merged.columns:
        merged["weight"] = np.where(pid != 0, 1.0, 0.0)
        filled.append("weight")
    if "nhits" not in particles.columns:
        counts = pd.Series(pid[pid != 0]).value_counts()
        particles["nhits"] = (
            counts.reindex(particles["particle_id"].to_numpy()).fillna(0).to_numpy(np.int64)
        )
        filled.append("nhits")

    x, y, z = (merged[c].to_numpy(np.float64) for c in ("x", "y", "z"))
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit_eta = np.arcsinh(z / r)
    hit_columns: dict[str, np.ndarray] = {
        "hit_id": merged["hit_id"].to_numpy(np.int64),
        "x": x,
        "y": y,
        "z": z,
        "volume_id": merged["volume_id"].to_numpy(),
        "layer_id": merged["layer_id"].to_numpy(),
        "module_id": merged["module_id"].to_numpy(),
        "particle_id": pid,
        "weight": merged["weight"].to_numpy(np.float64),
        "r": r,
        "phi": np.arctan2(y, x),
        "eta": hit_eta,
    }
    hit_columns = {name: hit_columns[name].astype(HIT_COLUMNS[name]) for name in HIT_COLUMNS}

    detector_frame = _resolve_detectors(directory, detectors)
    if detector_frame is not None and cells_file is not None:
        cells = _read_csv(cells_file, ("hit_id", "ch0", "ch1", "value"))
        hit_columns.update(cell_features(merged, cells, detector_frame, cells_file=str(cells_file)))

    px, py, pz = (particles[c].to_numpy(np.float64) for c in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_eta = np.arcsinh(pz / pt)
    q = particles["q"].to_numpy(np.float64)
    particle_columns: dict[str, np.ndarray] = {
        "particle_id": particles["particle_id"].to_numpy(np.int64),
        "vx": particles["vx"].to_numpy(),
        "vy": particles["vy"].to_numpy(),
        "vz": particles["vz"].to_numpy(),
        "px": px,
        "py": py,
        "pz": pz,
        "q": np.rint(q),
        "nhits": particles["nhits"].to_numpy(),
        "pt": pt,
        "eta": p_eta,
    }
    particle_columns = {
        name: particle_columns[name].astype(PARTICLE_COLUMNS[name]) for name in PARTICLE_COLUMNS
    }
    meta: dict[str, Any] = {
        "name": prefix,
        "files": [str(f) for f in (hits_file, truth_file, particles_file, cells_file) if f],
        "filled": filled,
        "renumbered_particle_ids": renumbered,
        "dropped_hits": dropped,
        "cell_features": "cell_count" in hit_columns,
    }
    return Event(event_id=event_id, hits=hit_columns, particles=particle_columns, meta=meta)


def find_trackml_events(src_dir: str | os.PathLike) -> list[str]:
    """Names (``eventNNN``) of the events in ``src_dir``, by event number."""
    directory = Path(src_dir).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"TrackML directory {directory} does not exist")
    names = {}
    for path in directory.iterdir():
        match = _EVENT_NAME.match(path.name)
        if match:
            names[match.group("prefix")] = int(match.group("number"))
    return sorted(names, key=lambda name: (names[name], name))


def trackml_events(src_dir: str | os.PathLike) -> tuple[Iterator[Event], dict[str, Any]]:
    """Every TrackML event in ``src_dir``, streamed, and the provenance the stream completes.

    Cell features are added when ``detectors.csv[.gz]`` is in ``src_dir`` and the events have
    cells files. Events are read one at a time. The provenance names the events and detector
    file; columns the files lacked, renumbered particle ids and dropped hits are added to it as
    the events are read, so it is complete once the stream is exhausted.
    """
    directory = Path(src_dir).expanduser().resolve()
    names = find_trackml_events(directory)
    if not names:
        raise FileNotFoundError(f"no TrackML events (eventNNN-hits.csv[.gz]) in {directory}")
    detectors_file = find_detectors_file(directory)
    detectors = load_detectors(detectors_file) if detectors_file is not None else False
    provenance: dict[str, Any] = {
        "reader": "trackml",
        "directory": str(directory),
        "events": names,
        "detectors": detectors_file.name if detectors_file is not None else None,
        "filled_columns": [],
        "renumbered_particle_ids": {},
        "dropped_hits": {},
    }

    def events() -> Iterator[Event]:
        for name in names:
            event = read_trackml_event(directory, name, detectors=detectors)
            for column in event.meta["filled"]:
                if column not in provenance["filled_columns"]:
                    provenance["filled_columns"].append(column)
            if event.meta["renumbered_particle_ids"]:
                provenance["renumbered_particle_ids"][name] = {
                    str(old): new for old, new in event.meta["renumbered_particle_ids"].items()
                }
            if event.meta["dropped_hits"]:
                provenance["dropped_hits"][name] = event.meta["dropped_hits"]
            yield event

    return events(), provenance


def convert_trackml(
    src_dir: str | os.PathLike,
    store_path: str | os.PathLike,
    *,
    overwrite: bool = False,
    events_per_file: int | None = None,
) -> Any:
    """Convert every TrackML event in ``src_dir`` into a tracking store; return the store."""
    from raytrack.families.tracking.event_store import write_events

    events, provenance = trackml_events(src_dir)
    # The store serialises the provenance after the last event, so what the reader filled in
    # while streaming is recorded.
    return write_events(
        store_path,
        events,
        provenance=provenance,
        source="trackml",
        overwrite=overwrite,
        events_per_file=events_per_file,
    )
