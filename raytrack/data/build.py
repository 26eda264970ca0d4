"""From an experiment's ``data`` section to a sample store and its train/val/test ids.

The sweep driver calls :func:`open_store` once, before any trial starts. A store that does not
exist yet is built from ``data.generate`` by the data source (``data.source``, default the
model's first), under a file lock so that concurrent drivers on one machine build it once. An
existing store that a source built must be the one the experiment asks for (same source, seed,
settings, and at least as many samples), so a cached store never silently stands in for other
data.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from raytrack.config.schema import DataSection, Experiment
from raytrack.family import DataSource, resolve


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Expand ``~`` and environment variables; relative paths are taken from the working dir."""
    return Path(os.path.expandvars(os.path.expanduser(str(path)))).resolve()


@dataclass(frozen=True)
class Splits:
    """The sample ids (store keys) of each split."""

    train: list[int]
    val: list[int]
    test: list[int]

    def as_dict(self) -> dict[str, list[int]]:
        return {"train": self.train, "val": self.val, "test": self.test}


def source_of(experiment: Experiment) -> DataSource | None:
    """The data source of ``experiment``: ``data.source``, else its model's first source."""
    from raytrack.registry import get_model, get_source

    name = experiment.data.source
    if name is None:
        sources = get_model(experiment.model.name, experiment.plugins).spec.sources
        name = sources[0] if sources else None
    return get_source(name) if name is not None else None


def build_store(
    source: DataSource, path: str | os.PathLike, settings: BaseModel, *,
    count: int | None = None, seed: int | None = None, overwrite: bool = False,
) -> Any:  # fmt: skip
    """Write the store ``source`` produces at ``path``; return it opened.

    The provenance records the source's own description plus ``settings`` and, for a simulator,
    ``seed`` and the number of samples, so that :func:`check_matches` can tell later whether a
    cached store is the one asked for.
    """
    from raytrack.store.writing import write_store

    if source.kind == "simulator":
        seed = 0 if seed is None else seed
        output = resolve(source.produce, f"data source {source.name!r}")(
            settings, count=count, seed=seed
        )
    else:
        output = resolve(source.produce, f"data source {source.name!r}")(
            settings, count=None, seed=None
        )
    provenance = output.provenance
    provenance.setdefault("settings", settings.model_dump(mode="json"))
    if source.kind == "simulator":
        provenance.setdefault("seed", int(seed))
        provenance.setdefault("events", int(count))
    return write_store(
        path, output.rows, schema=output.schema, provenance=provenance, source=source.name,
        overwrite=overwrite,
    )  # fmt: skip


def open_store(experiment: Experiment) -> Any:
    """The :class:`~raytrack.store.sample_store.SampleStore` of ``experiment``, built on first use."""
    from raytrack.store.sample_store import SampleStore

    data = experiment.data
    path = resolve_path(data.store)
    source = source_of(experiment) if (data.generate is not None or data.source) else None
    if not _looks_like_store(path):
        if data.generate is None or source is None:
            raise FileNotFoundError(
                f"data.store: no sample store at {path}; create one (`raytrack generate`, "
                "`raytrack convert`, `raytrack infer`), or add a data.generate section to build it "
                "from its data source on first use"
            )
        _build_once(path, data, source)
    store = SampleStore(path)
    if source is not None:
        problem = check_matches(store, source, data)
        if problem:
            raise ValueError(
                f"data.store: {problem}; delete the store or point data.store elsewhere"
            )
    return store


def settings_of(source: DataSource, data: DataSection) -> BaseModel:
    settings = data.generate.settings if data.generate is not None else {}
    return source.settings_model().model_validate(dict(settings))


def check_matches(store: Any, source: DataSource, data: DataSection) -> str | None:
    """Why ``store`` is not what ``data`` asks of ``source``, or ``None`` when it is."""
    if store.source is not None and store.source != source.name:
        return f"the store at {store.path} comes from data source {store.source!r}, not {source.name!r}"
    if data.generate is None:
        return None
    provenance: Mapping[str, Any] = store.provenance
    if "settings" not in provenance:
        return None  # converted or hand-made: data.generate applies only to a missing store
    wanted: dict[str, Any] = {"settings": settings_of(source, data).model_dump(mode="json")}
    if source.kind == "simulator":
        wanted["seed"] = 0 if data.generate.seed is None else data.generate.seed
    found = {key: provenance.get(key) for key in wanted}
    found["settings"] = _as_validated(source, found["settings"])
    count = data.generate.events or 0
    if found != wanted or len(store) < count:
        return (
            f"the store at {store.path} was built with {found} and holds {len(store)} samples, "
            f"but data.generate asks for {wanted}" + (f" and {count} samples" if count else "")
        )
    return None


def _as_validated(source: DataSource, settings: Any) -> Any:
    """A store's recorded settings as the settings model reads them today: a setting added
    since the store was built takes its default (which is what the store was built with)."""
    if not isinstance(settings, Mapping):
        return settings
    try:
        return source.settings_model().model_validate(dict(settings)).model_dump(mode="json")
    except ValueError:  # a setting since removed or renamed: compare as recorded
        return dict(settings)


def splits_of(data: DataSection, store: Any) -> Splits:
    """The deterministic train/val/test split of the store's samples (``data.split``)."""
    from raytrack.store.stream import split_ids

    ids = list(store.ids())
    if data.train_split is not None and len(ids) < sum(data.train_split):
        raise ValueError(
            f"data.train_split {list(data.train_split)} needs {sum(data.train_split)} samples, "
            f"but the store at {store.path} holds {len(ids)}"
        )
    if data.max_events is not None:
        ids = ids[: data.max_events]
    train, val, test = split_ids(ids, data.split, data.split_seed)
    if not train or not val:
        raise ValueError(
            f"data.split {list(data.split)} of {len(ids)} samples leaves {len(train)} training and "
            f"{len(val)} validation samples; both must be at least 1"
        )
    return Splits(list(map(int, train)), list(map(int, val)), list(map(int, test)))


def _looks_like_store(path: Path) -> bool:
    return (path / "meta.json").is_file()


def _build_once(path: Path, data: DataSection, source: DataSource) -> None:
    assert data.generate is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _looks_like_store(path):
                what = f"{data.generate.events} samples" if data.generate.events else "the samples"
                print(f"raytrack: building {what} from data source {source.name!r} into {path} ...")
                build_store(
                    source, path, settings_of(source, data), count=data.generate.events,
                    seed=data.generate.seed, overwrite=True,
                )  # fmt: skip
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
