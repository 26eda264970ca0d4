"""``train.precision: bfloat16``: forward passes under bfloat16 autocast give the float32 losses
to bfloat16's precision, for the loop and for every registered model."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from raytrack.registry import get_model, installed_families
from raytrack.tasks.contract import batch_of, built
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.train.steps import step_terms
from tests.train.test_loop import experiment, source


def test_a_bfloat16_run_learns_as_the_float32_run_does(tmp_path) -> None:
    runs = {}
    for precision in ("float32", "bfloat16"):
        session = LocalSession(source, tmp_path / precision)
        run_training(experiment(precision=precision), session)
        runs[precision] = [r["train_loss"] for r in session.reports]
    full, half = runs["float32"], runs["bfloat16"]
    assert full != half  # the autocast path ran: bfloat16 rounds the matmuls
    for a, b in zip(full, half):
        assert math.isclose(a, b, rel_tol=0.05, abs_tol=1e-3), (full, half)
    assert half[-1] < half[0] / 5


@pytest.mark.parametrize("name", sorted(m.name for f in installed_families() for m in f.models))
def test_every_model_steps_under_bfloat16_autocast(name: str) -> None:
    """One training step of each model's contract example: finite losses close to float32's."""
    original, task, example = built(get_model(name))
    losses = {}
    for precision in ("float32", "bfloat16"):
        model = copy.deepcopy(original).train()  # a step may change buffers (batch norms)
        torch.manual_seed(0)
        batch = batch_of(task, example.rows)
        terms = step_terms(task, model, batch, precision)
        losses[precision] = {term: float(value.detach()) for term, value in terms.items()}
    for term, full in losses["float32"].items():
        half = losses["bfloat16"][term]
        assert math.isfinite(half), (name, term, half)
        assert math.isclose(full, half, rel_tol=0.1, abs_tol=0.02), (name, term, full, half)
