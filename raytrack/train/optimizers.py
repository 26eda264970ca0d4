"""The optimizers of a trial: one per optimizer the task names, from a table of ``torch.optim``.

``train.optimizer`` (or ``train.optimizers.<name>`` for one optimizer of the task) names the
class (:data:`raytrack.config.training.OPTIMIZERS`) and gives its keyword arguments; the task
says which parameters each optimizer trains (:meth:`raytrack.tasks.base.Task.parameter_groups`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from raytrack.config.training import OPTIMIZERS, OptimizerSection, TrainSection
from raytrack.suggest import unknown_message
from raytrack.tasks.base import Task


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """The ``torch.optim`` class of optimizer ``name``; a miss lists the table."""
    if name not in OPTIMIZERS:
        raise KeyError(unknown_message("optimizer", name, list(OPTIMIZERS)))
    return getattr(torch.optim, OPTIMIZERS[name])


def build_optimizer(
    section: OptimizerSection, params: Iterable[nn.Parameter]
) -> torch.optim.Optimizer:
    """The optimizer ``section`` describes, over ``params`` (one parameter group)."""
    return optimizer_class(section.name)(list(params), **section.arguments)


def parameter_groups(task: Task, model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """The task's parameters of each optimizer, checked: every optimizer the task names has a
    group, and every parameter that requires a gradient is in exactly one group."""
    names = task.optimizer_names()
    groups = task.parameter_groups(model)
    if sorted(groups) != sorted(names):
        raise ValueError(
            f"{type(task).__name__}.parameter_groups must return one group per optimizer "
            f"{list(names)}, but returned {list(groups)}"
        )
    owner: dict[int, str] = {}
    for name in names:
        for param in groups[name]:
            if id(param) in owner:
                raise ValueError(
                    f"{type(task).__name__}.parameter_groups puts a parameter of shape "
                    f"{tuple(param.shape)} in both {owner[id(param)]!r} and {name!r}"
                )
            owner[id(param)] = name
    missing = [
        f"{key} {tuple(param.shape)}"
        for key, param in getattr(model, "module", model).named_parameters()
        if param.requires_grad and id(param) not in owner
    ]
    if missing:
        raise ValueError(
            f"{type(task).__name__}.parameter_groups leaves parameters to no optimizer: {missing}"
        )
    return {name: list(groups[name]) for name in names}


def build_optimizers(
    train: TrainSection, groups: dict[str, list[nn.Parameter]]
) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per group, from ``train.optimizers[name]`` or else ``train.optimizer``."""
    return {
        name: build_optimizer(train.optimizer_for(name), params) for name, params in groups.items()
    }
