"""A tiny model family for the config tests: a real MLP edge scorer and its task.

Registered only while a test uses the ``tiny_model`` fixture, so other test modules'
``model_names()`` never see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pytest
import torch
from pydantic import Field
from torch import nn

from raytrack import registry
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.family import Family, ModelSpec
from raytrack.tasks.base import Task

NAME = "tiny_mlp"

Regime = Literal["pid", "weighting", "hnm"]


def build_tiny(
    *,
    hidden: Annotated[int, Field(ge=1, le=1024)],
    nb_layer: Annotated[int, Field(ge=1)] = 2,
    activation: Literal["relu", "tanh"] = "relu",
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    layernorm: bool = False,
) -> nn.Module:
    """An MLP scoring 4 input features; ``hidden`` has no default (a required hyperparameter)."""
    layers: list[nn.Module] = []
    width = 4
    for _ in range(nb_layer):
        layers += [nn.Linear(width, hidden)]
        layers += [nn.LayerNorm(hidden)] if layernorm else []
        layers += [nn.ReLU() if activation == "relu" else nn.Tanh(), nn.Dropout(dropout)]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, 1))


class TinyTask(Task):
    """Binary classification of feature rows; ``regime`` as in Exa.TrkX (a typed keyword list)."""

    metrics = ("loss", "accuracy")
    Options = TrackingDataOptions

    def __init__(
        self,
        weight: Annotated[float, Field(gt=0)] = 1.0,
        regime: tuple[Regime, ...] = ("pid",),
    ) -> None:
        self.weight = weight
        self.regime = regime

    def prepare(self, row: Mapping[str, Any]) -> Any:
        return torch.as_tensor(row["x"], dtype=torch.float32), torch.as_tensor(
            row["y"], dtype=torch.float32
        )

    def collate(self, samples: Sequence[Any]) -> Any:
        xs, ys = zip(*samples)
        return torch.stack(xs), torch.stack(ys)

    def training_step(self, model: nn.Module, batch: Any) -> torch.Tensor:
        x, y = batch
        weight = torch.tensor(self.weight)
        return nn.functional.binary_cross_entropy_with_logits(
            model(x).squeeze(-1), y, pos_weight=weight
        )

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = model(x).squeeze(-1)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
        correct = ((logits > 0).float() == y).sum()
        return {"loss": loss, "correct": correct, "count": torch.tensor(float(len(y)))}

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        count = float(totals["count"])
        return {"loss": float(totals["loss"]) / count, "accuracy": float(totals["correct"]) / count}


def experiment(search: dict, tune: dict | None = None, **sections: Any) -> dict:
    """A minimal experiment of the tiny model with ``search`` (searcher random by default)."""
    raw = {"name": "t", "model": {"name": NAME, "hparams": {"hidden": 16}}, "data": {"store": "s"}}
    return {**raw, **sections, "search": search, "tune": tune or {"searcher": "random"}}


@pytest.fixture
def tiny_model():
    """Register ``tiny_mlp`` for one test and remove it afterwards."""
    spec = ModelSpec(NAME, build_tiny, TinyTask, "config tests", sources=("detector_sim",))
    registry.register_family(Family("tiny", models=(spec,)))
    try:
        yield registry.get_model(NAME)
    finally:
        registry.unregister_family("tiny")
