"""From an experiment's ``data`` section to an event store and its train/val/test event ids.

The sweep driver calls :func:`open_event_store` once, before any trial starts: a store that does
not exist yet is simulated from ``data.generate`` (under a file lock, so that concurrent
drivers on one machine generate it once), and an existing store made by the generator must
match the requested settings, so that a cached store never silently stands in for other data.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raytrack.config.schema import DataSection


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Expand ``~`` and environment variables; relative paths are taken from the working dir."""
    return Path(os.path.expandvars(os.path.expanduser(str(path)))).resolve()


@dataclass(frozen=True)
class EventSplits:
    train: list[int]
    val: list[int]
    test: list[int]

    def as_dict(self) -> dict[str, list[int]]:
        return {"train": self.train, "val": self.val, "test": self.test}


def open_event_store(data: DataSection) -> Any:
    """The :class:`~raytrack.store.reader.EventStore` of ``data``, simulated on first use."""
    from raytrack.store.reader import EventStore

    path = resolve_path(data.store)
    if not _looks_like_store(path):
        if data.generate is None:
            raise FileNotFoundError(
                f"data.store: no event store at {path}; create one with `raytrack generate` or "
                f"`raytrack convert trackml`, or add a data.generate section to simulate it on first use"
            )
        _generate_once(path, data)
    store = EventStore(path)
    if data.generate is not None:
        _check_generated_matches(store, data)
    return store


def event_splits(data: DataSection, store: Any) -> EventSplits:
    from raytrack.store.stream import split_event_ids

    ids = list(store.event_ids())
    if data.max_events is not None:
        ids = ids[: data.max_events]
    train, val, test = split_event_ids(ids, data.split, data.split_seed)
    if not train or not val:
        raise ValueError(
            f"data.split {list(data.split)} of {len(ids)} events leaves {len(train)} training and "
            f"{len(val)} validation events; both must be at least 1"
        )
    return EventSplits(list(map(int, train)), list(map(int, val)), list(map(int, test)))


def _looks_like_store(path: Path) -> bool:
    return (path / "meta.json").is_file()


def _generate_once(path: Path, data: DataSection) -> None:
    from raytrack.families.tracking.simulate import SimulationSettings, generate_store

    assert data.generate is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _looks_like_store(path):
                settings = SimulationSettings(**data.generate.settings)
                print(
                    f"raytrack: simulating {data.generate.events} events (seed {data.generate.seed}) "
                    f"into {path} ..."
                )
                generate_store(path, data.generate.events, data.generate.seed, settings, overwrite=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check_generated_matches(store: Any, data: DataSection) -> None:
    from raytrack.families.tracking.simulate import SimulationSettings

    assert data.generate is not None
    provenance = store.metadata.get("provenance", {})
    if provenance.get("generator") is None:
        return  # a converted or hand-made store: data.generate only applies to a missing store
    wanted = {
        "seed": data.generate.seed,
        "settings": SimulationSettings(**data.generate.settings).model_dump(mode="json"),
    }
    found = {"seed": provenance.get("seed"), "settings": provenance.get("settings")}
    if found != wanted or len(store) < data.generate.events:
        raise ValueError(
            f"data.store: the store at {store.path} was simulated with seed {found['seed']} and "
            f"{len(store)} events and other settings than data.generate asks for "
            f"(seed {wanted['seed']}, {data.generate.events} events); delete it or point "
            f"data.store elsewhere"
        )
