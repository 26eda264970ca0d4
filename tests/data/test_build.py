"""A store is built from the experiment's data source on first use, and a cached store must be
the one the experiment asks for; the data source and its settings are validated first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from raytrack.config import validate_experiment
from raytrack.config.errors import ConfigError
from raytrack.data.build import open_store, splits_of
from raytrack.families.tracking.event_store import event_counts

FILES = Path(__file__).parents[1] / "store" / "files"


def experiment(store: Path, model: str = "exatrkx_gnn", **data) -> dict:
    return {
        "name": "build-test",
        "model": {"name": model},
        "data": {"store": str(store), **data},
        "tune": {"metric": "val_auc", "mode": "max"},
    }


def test_a_simulated_store_is_built_once_and_checked_when_reused(tmp_path: Path) -> None:
    raw = experiment(
        tmp_path / "s", generate={"events": 3, "seed": 4, "settings": {"rfactor": 0.002}}
    )
    store = open_store(validate_experiment(raw))
    assert (len(store), store.source, store.provenance["seed"]) == (3, "detector_sim", 4)
    assert open_store(validate_experiment(raw)).ids() == [0, 1, 2]  # reused, not rebuilt
    other = experiment(
        tmp_path / "s", generate={"events": 3, "seed": 5, "settings": {"rfactor": 0.002}}
    )
    with pytest.raises(ValueError, match=r"data.store: the store at .* was built with .*'seed': 4"):
        open_store(validate_experiment(other))
    more = experiment(
        tmp_path / "s", generate={"events": 5, "seed": 4, "settings": {"rfactor": 0.002}}
    )
    with pytest.raises(
        ValueError, match="holds 3 samples, but data.generate asks for .* and 5 samples"
    ):
        open_store(validate_experiment(more))
    splits = splits_of(
        validate_experiment({**raw, "data": {**raw["data"], "split": [0.34, 0.33, 0.33]}}).data,
        store,
    )
    assert sorted(splits.train + splits.val + splits.test) == [0, 1, 2]


def test_a_store_of_raytrack_0_1_matches_the_settings_it_was_simulated_with(tmp_path: Path) -> None:
    shutil.copytree(FILES / "v1_events", tmp_path / "v1")
    same = experiment(
        tmp_path / "v1", generate={"events": 3, "seed": 1, "settings": {"rfactor": 0.002}}
    )
    store = open_store(validate_experiment(same))
    assert store.format_version == 1 and event_counts(store)["events"] == 3
    other = experiment(
        tmp_path / "v1", generate={"events": 3, "seed": 1, "settings": {"rfactor": 0.01}}
    )
    with pytest.raises(ValueError, match="was built with"):
        open_store(validate_experiment(other))


def test_a_reader_source_builds_the_store_from_its_files(shared_data: Path, tmp_path: Path) -> None:
    raw = experiment(
        tmp_path / "real",
        source="trackml",
        generate={"settings": {"path": str(shared_data / "trackml")}},
    )
    store = open_store(validate_experiment(raw))
    assert store.source == "trackml" and event_counts(store)["hits"] == 5527
    assert store.provenance["settings"] == {"path": str(shared_data / "trackml")}


def problems(raw: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_experiment(raw)
    return [(p.path, p.message) for p in caught.value.problems]


def test_data_source_problems_are_named_before_anything_runs(tmp_path: Path) -> None:
    store = tmp_path / "s"
    [(where, message)] = problems(experiment(store, source="trackmll"))
    assert where == "data.source"
    assert message.startswith("unknown data source 'trackmll'; did you mean 'trackml'? (choices: ")
    assert "detector_sim, " in message and "trackml" in message  # every family's sources listed
    from raytrack.family import DataSource, Family
    from raytrack.registry import register_family, unregister_family

    register_family(
        Family(
            "other",
            sources=(
                DataSource("blobs", "raytrack.families.tracking.sources:TrackMLSettings", dict),
            ),
        )
    )
    try:
        assert problems(experiment(store, source="blobs")) == [
            (
                "data.source",
                "model 'exatrkx_gnn' does not read data source 'blobs' (it reads: detector_sim, trackml)",
            ),
        ]
    finally:
        unregister_family("other")
    found = problems(experiment(store, model="exatrkx_filter", generate={"events": 2}))
    assert found[0][0] == "data.generate" and "previous stage's output" in found[0][1]
    assert problems(
        experiment(store, source="trackml", generate={"events": 2, "settings": {"path": "x"}})
    ) == [
        (
            "data.generate.events",
            "the reader 'trackml' reads every sample of its files: it takes no events (its settings: path)",
        ),
    ]
    assert problems(experiment(store, generate={"seed": 1}))[0] == (
        "data.generate.events", "missing required key: the simulator 'detector_sim' needs the number of samples to generate",
    )  # fmt: skip
    found = problems(experiment(store, generate={"events": 2, "settings": {"rfactr": 0.1}}))
    assert (
        found[0][0] == "data.generate.settings.rfactr" and "did you mean 'rfactor'" in found[0][1]
    )
