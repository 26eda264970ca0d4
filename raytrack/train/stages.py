"""Stages of training: the run's ``train.stages`` resolved against the task and the model.

A stage trains for at most ``epochs`` epochs, or until a metric passes a threshold
(``until``), with its own base learning rate per optimizer, batch size, frozen submodules and
loss-term weights. Without ``train.stages`` a run is one implicit stage of ``max_epochs``
epochs with the run's settings. Epochs are numbered over the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from raytrack.config.training import TrainSection, UntilSection
from raytrack.suggest import unknown_message
from raytrack.tasks.base import Task


@dataclass(frozen=True)
class Stage:
    """One stage with every setting resolved (``lr`` per optimizer, ``weights`` per term)."""

    index: int
    name: str
    epochs: int | None
    until: UntilSection | None
    lr: dict[str, float]
    batch_size: int
    freeze: tuple[str, ...]
    weights: dict[str, float]

    def length(self, start: int, max_epochs: int) -> int:
        """Epochs the stage may run when it starts at epoch ``start`` (0-based)."""
        return self.epochs if self.epochs is not None else max_epochs - start

    def ends_after(self, epoch: int, start: int, metrics: Mapping[str, Any]) -> bool:
        """Whether the stage that started at ``start`` ends after ``epoch`` (0-based) with
        ``metrics``: its epochs are done, or its ``until`` metric passed."""
        if self.epochs is not None and epoch + 1 - start >= self.epochs:
            return True
        return self.until is not None and self.until.passed(metrics.get(self.until.metric))

    def active_terms(self, terms: Mapping[str, str], optimizer: str) -> list[str]:
        """The terms of ``optimizer`` (in ``terms``, term → optimizer) with a nonzero weight."""
        return [
            term for term, owner in terms.items() if owner == optimizer and self.weights[term] != 0
        ]


def plan_stages(
    train: TrainSection, task: type[Task] | Task, hparams: Mapping[str, Any] | None = None
) -> list[Stage]:
    """The stages of a run (one implicit stage without ``train.stages``); ``until`` thresholds
    that name a hyperparameter take its value in ``hparams`` (the run's, defaults included)."""
    optimizers = task.optimizer_names()
    base = {name: train.optimizer_for(name).lr for name in optimizers}
    if not train.stages:
        return [
            Stage(0, "", None, None, base, train.batch_size, (), {t: 1.0 for t in task.loss_terms})
        ]
    plan = []
    for index, section in enumerate(train.stages):
        lr = dict(base)
        if isinstance(section.lr, Mapping):
            lr.update(section.lr)
        elif section.lr is not None:
            lr = {name: float(section.lr) for name in optimizers}
        weights = {term: float(section.loss_weights.get(term, 1.0)) for term in task.loss_terms}
        until = section.until
        if until is not None and until.hparam is not None:
            until = until.resolved(hparams or {})
        plan.append(Stage(
            index, section.name or str(index), section.epochs, until, lr,
            section.batch_size or train.batch_size, tuple(section.freeze), weights,
        ))  # fmt: skip
    return plan


class Freezer:
    """Sets ``requires_grad`` of ``model``'s parameters for each stage.

    A parameter trains in a stage when the builder made it trainable and it is in none of the
    stage's frozen submodules.
    """

    def __init__(self, model: nn.Module, stages: list[Stage]) -> None:
        self.model = model
        self.trainable = {name: p.requires_grad for name, p in model.named_parameters()}
        modules = [name for name, _ in model.named_modules() if name]
        for stage in stages:
            for name in stage.freeze:
                try:
                    model.get_submodule(name)
                except AttributeError:
                    raise ValueError(
                        unknown_message(
                            "submodule", name, modules, f" to freeze in stage {stage.name}"
                        )
                    ) from None

    def apply(self, stage: Stage) -> frozenset[str]:
        """Freeze ``stage``'s submodules and unfreeze the rest; the names of trainable parameters."""
        frozen = {
            id(p) for name in stage.freeze for p in self.model.get_submodule(name).parameters()
        }
        for name, param in self.model.named_parameters():
            param.requires_grad_(self.trainable[name] and id(param) not in frozen)
        return frozenset(name for name, p in self.model.named_parameters() if p.requires_grad)
