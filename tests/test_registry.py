"""Families are found through entry points and plug-ins; the registry checks what they declare."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field
from torch import nn

from raytrack import registry
from raytrack.family import DataSource, Family, ModelSpec, resolve
from raytrack.tasks.base import Task

ROOT = Path(__file__).resolve().parents[1]
Hidden = Annotated[int, Field(ge=1)]


class _Task(Task):
    def __init__(self, *, hidden: Hidden = 4) -> None:
        self.hidden = hidden

    def prepare(self, row):
        return row

    def training_step(self, model, batch):
        raise NotImplementedError

    def validation_step(self, model, batch):
        return {}

    def summarize(self, totals):
        return {"loss": 0.0}


def _builder(*, hidden: Hidden = 4) -> nn.Module:
    return nn.Linear(hidden, 1)


def test_the_built_in_families_come_from_the_entry_points() -> None:
    names = {family.name for family in registry.families()}
    assert {"tracking", "exatrkx"} <= names
    assert {"exatrkx_embedding", "exatrkx_filter", "exatrkx_gnn"} <= set(registry.model_names())
    assert {"detector_sim", "trackml"} <= set(registry.source_names())
    assert {"tracks", "graph"} <= set(registry.evaluator_names())
    assert registry.get_model("exatrkx_gnn").family == "exatrkx"


def test_the_platform_never_names_a_family() -> None:
    """Outside its own package, the name exatrkx appears nowhere in raytrack's code."""
    found = []
    for path in (ROOT / "raytrack").rglob("*.py"):
        if "families" in path.relative_to(ROOT / "raytrack").parts[:1]:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search("exatrkx", line, re.IGNORECASE):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
    tracking = ROOT / "raytrack" / "families" / "tracking"
    assert not [p for p in tracking.rglob("*.py") if "exatrkx" in p.read_text().lower()]


def test_a_miss_lists_the_choices() -> None:
    with pytest.raises(KeyError, match=r"unknown model 'exatrkx_gn'; did you mean 'exatrkx_gnn'\?"):
        registry.get_model("exatrkx_gn")
    with pytest.raises(KeyError, match=r"unknown data source 'detector'.*choices: .*detector_sim"):
        registry.get_source("detector")
    with pytest.raises(KeyError, match="unknown evaluator 'track'"):
        registry.get_evaluator("track")


def test_a_hyperparameter_both_take_must_be_declared_once() -> None:
    def other(*, hidden: Annotated[int, Field(ge=2)] = 4) -> nn.Module:
        return nn.Linear(hidden, 1)

    registry.register_family(Family("twice", models=(ModelSpec("twice_model", other, _Task),)))
    try:
        with pytest.raises(TypeError, match="both take 'hidden' but declare it differently"):
            registry.get_model("twice_model").hyperparameters()
    finally:
        registry.unregister_family("twice")


def test_names_are_unique_across_families() -> None:
    clash = Family("clash", models=(ModelSpec("exatrkx_gnn", _builder, _Task),))
    with pytest.raises(
        ValueError,
        match="model 'exatrkx_gnn' of family 'clash'.*already registered by family 'exatrkx'",
    ):
        registry.register_family(clash)
    assert "clash" not in {f.name for f in registry.families()}
    with pytest.raises(ValueError, match="declares the data source\\(s\\) \\['s'\\] twice"):
        Family("double", sources=(DataSource("s", dict, dict), DataSource("s", dict, dict)))


def test_register_model_builds_a_one_model_family() -> None:
    registry.register_model("one_off", family="notebook", task=_Task)(_builder)
    try:
        entry = registry.get_model("one_off")
        model, task = entry.build({"hidden": 3})
        assert isinstance(model, nn.Linear) and model.in_features == 3 and task.hidden == 3
        assert entry.hyperparameters()["hidden"].owner == "model+task"
    finally:
        registry.unregister_family("notebook")


def test_references_resolve_lazily_with_clear_errors() -> None:
    assert (
        resolve("raytrack.families.tracking.sources:TrackMLSettings", "x").__name__
        == "TrackMLSettings"
    )
    with pytest.raises(ImportError, match="builder of model 'm': cannot import 'no.such'"):
        resolve("no.such:thing", "builder of model 'm'")
    with pytest.raises(ImportError, match="has no 'missing'"):
        resolve("raytrack.family:missing", "x")
    with pytest.raises(ValueError, match="not a reference of the form"):
        resolve("no_colon", "x")
