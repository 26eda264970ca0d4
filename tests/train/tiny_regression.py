"""A tiny real family for loop tests: linear regression of y = w·x + b from rows of floats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from torch import nn

from raytrack.registry import register_model
from raytrack.tasks.base import Row, Task

TRUE_W = np.array([1.5, -2.0, 0.5], dtype=np.float32)
TRUE_B = 0.25


def make_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = x @ TRUE_W + TRUE_B
    return [{"event_id": i, "x": x[i], "y": np.float32(y[i])} for i in range(n)]


class RegressionTask(Task):
    metrics = ("loss", "mae")

    def __init__(self, loss_scale: Annotated[float, Field(gt=0)] = 1.0) -> None:
        self.loss_scale = loss_scale

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        return {"x": np.asarray(row["x"], dtype=np.float32), "y": np.float32(row["y"])}

    def collate(self, samples: Sequence[dict]) -> dict[str, torch.Tensor]:
        return {
            "x": torch.from_numpy(np.stack([s["x"] for s in samples])),
            "y": torch.tensor([s["y"] for s in samples]),
        }

    def training_step(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return self.loss_scale * torch.mean((model(batch["x"]).squeeze(-1) - batch["y"]) ** 2)

    def validation_step(self, model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
        error = model(batch["x"]).squeeze(-1) - batch["y"]
        return {
            "sq": (error**2).sum(),
            "abs": error.abs().sum(),
            "n": torch.tensor(float(len(error))),
        }

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        n = float(totals["n"])
        return {"loss": float(totals["sq"]) / n, "mae": float(totals["abs"]) / n}


@register_model("tiny_regression", family="tests", task=RegressionTask)
def build_tiny_regression(in_features: Annotated[int, Field(ge=1)] = 3) -> nn.Module:
    return nn.Linear(in_features, 1)
