"""Tiny real tasks for the loop's tests of optimizers, stages and exact resume.

- ``tiny_gan``: a 1-D GAN (two optimizers): an affine generator learns N(2, 0.5) against a
  logistic discriminator on (x, x²); the noise is drawn in ``training_step``.
- ``tiny_staged``: regression through two submodules (``encoder``, ``head``) with two loss terms
  (``mse``, ``l1``) of one optimizer.
- ``tiny_counter``: one parameter ``w`` whose loss is ``-w``: with SGD at rate ``lr`` every step
  adds exactly ``lr`` to it, so ``val_w`` is known in advance (stages ``until``).
- ``tiny_noisy``: the regression of :mod:`tests.train.tiny_regression` drawing random numbers in
  ``prepare`` (``random``, ``numpy.random``) and in ``training_step`` (dropout).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from raytrack.registry import register_model
from raytrack.tasks.base import Row, Task
from tests.train.tiny_regression import RegressionTask

REAL_MEAN, REAL_STD = 2.0, 0.5


def gan_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {"sample_id": i, "x": float(v)} for i, v in enumerate(rng.normal(REAL_MEAN, REAL_STD, n))
    ]


def counter_rows(n: int) -> list[dict]:
    return [{"sample_id": i, "x": 0.0} for i in range(n)]


class Critic(nn.Module):
    """Logistic discriminator on (x, x²)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.cat([x, x**2], dim=-1))


class TinyGAN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(1, 1)
        self.discriminator = Critic()


class GANTask(Task):
    metrics = ("loss", "mean", "std")
    loss_terms = {"generator": "generator", "discriminator": "discriminator"}
    grid = torch.linspace(-2.0, 2.0, 41).unsqueeze(-1)
    """Fixed noise for validation: the generated sample's mean and spread, deterministically."""

    def parameter_groups(self, model: nn.Module) -> dict[str, list[nn.Parameter]]:
        model = getattr(model, "module", model)
        return {
            "generator": list(model.generator.parameters()),
            "discriminator": list(model.discriminator.parameters()),
        }

    def prepare(self, row: Row) -> float:
        return float(row["x"])

    def collate(self, samples: Sequence[float]) -> torch.Tensor:
        return torch.tensor(samples, dtype=torch.float32).unsqueeze(-1)

    def training_step(self, model: nn.Module, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        fake = model.generator(torch.randn(len(batch), 1))
        real_logits, fake_logits = model.discriminator(batch), model.discriminator(fake)
        critic = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # fmt: skip
        fooled = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return {"generator": fooled, "discriminator": critic}

    def validation_step(self, model: nn.Module, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        fake = model.generator(self.grid).squeeze(-1)
        n = torch.tensor(float(len(batch)))
        return {"n": n, "mean": fake.mean() * n, "std": fake.std() * n}

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        n = float(totals["n"])
        mean, std = float(totals["mean"]) / n, float(totals["std"]) / n
        return {"loss": abs(mean - REAL_MEAN) + abs(std - REAL_STD), "mean": mean, "std": std}


@register_model("tiny_gan", family="tests", task=GANTask)
def build_tiny_gan() -> nn.Module:
    return TinyGAN()


class EncoderHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(3, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


class TwoTermTask(RegressionTask):
    loss_terms = {"mse": "model", "l1": "model"}

    def training_step(self, model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
        error = model(batch["x"]).squeeze(-1) - batch["y"]
        return {"mse": (error**2).mean(), "l1": error.abs().mean()}


@register_model("tiny_staged", family="tests", task=TwoTermTask)
def build_tiny_staged() -> nn.Module:
    return EncoderHead()


class Counter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))


class CounterTask(Task):
    metrics = ("w",)

    def prepare(self, row: Row) -> float:
        return float(row["x"])

    def collate(self, samples: Sequence[float]) -> torch.Tensor:
        return torch.tensor(samples)

    def training_step(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return -model.w + 0 * batch.mean()

    def validation_step(self, model: nn.Module, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        n = torch.tensor(float(len(batch)))
        return {"w": model.w.detach() * n, "n": n}

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        return {"w": float(totals["w"]) / float(totals["n"])}


@register_model("tiny_counter", family="tests", task=CounterTask)
def build_tiny_counter(target: float = 10.0) -> nn.Module:
    """``target``: a hyperparameter a stage's ``until`` may name (``hparams.target``)."""
    return Counter()


class NoisyRegressionTask(RegressionTask):
    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        sample = super().prepare(row)
        jitter = np.random.normal(0.0, 0.05, size=3).astype(np.float32) * random.random()
        return {"x": sample["x"] + jitter, "y": sample["y"]}


@register_model("tiny_noisy", family="tests", task=NoisyRegressionTask)
def build_tiny_noisy() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.2), nn.Linear(16, 1))
