"""One training epoch: optimizer steps over this worker's batches.

Two paths, chosen by the number of optimizers the task names:

- **one optimizer** (any number of loss terms): the weighted sum of the terms is one loss, one
  ``backward``; under DDP the model is wrapped by Ray Train (``DistributedDataParallel``) and
  workers with fewer batches are shadowed by DDP's ``join``.
- **several optimizers** (GAN-style): each optimizer's loss is the weighted sum of its own
  terms, and ``torch.autograd.backward(loss, inputs=its parameters)`` gives its parameters
  gradients from that loss only. DDP's reducer cannot take several partial backward passes per
  step, so the model is not wrapped: after the backward passes the loop averages every
  gradient over workers itself. Workers agree on each step (a worker without a batch
  contributes zero gradients, as under DDP's ``join``) and all step, so parameters stay equal.
  ``train.grad_clip`` clips each optimizer's (averaged) gradients on their own; buffers follow
  rank 0's at the end of each epoch.

``train_loss`` is the sum over terms of weight × term, averaged over items; each term is also
averaged on its own (``train_loss_<term>``, unweighted).

``train.precision: bfloat16`` runs each forward pass and its losses under ``torch.autocast``
with bfloat16 on the worker's device (GPU or CPU); parameters, gradients and optimizer states
stay float32, and the backward pass runs outside the autocast region, as torch recommends.
bfloat16 has float32's range, so no loss scaling is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from raytrack.tasks.base import Task, move_to
from raytrack.train.failures import Diverged
from raytrack.train.schedules import LearningRateSchedule
from raytrack.train.session import LoopSession


@dataclass
class Optimizing:
    """What a step changes: the model (wrapped or not), optimizers, schedules and the stage's
    trainable parameters, loss weights and active optimizers."""

    model: nn.Module
    optimizers: dict[str, torch.optim.Optimizer]
    schedules: dict[str, LearningRateSchedule]
    groups: dict[str, list[nn.Parameter]]
    weights: dict[str, float] = field(default_factory=dict)
    trainable: dict[str, list[nn.Parameter]] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)
    """Optimizers that step in this stage: with a trainable parameter and a weighted term."""
    precision: str = "float32"
    """``train.precision``: ``float32``, or ``bfloat16`` autocast of the forward passes."""

    @property
    def schedule(self) -> LearningRateSchedule:
        """The schedule of a task with one optimizer."""
        (schedule,) = self.schedules.values()
        return schedule


@dataclass
class EpochLosses:
    """Loss sums over this worker's items (float64 on CPU), summed over workers by the loop."""

    terms: tuple[str, ...]
    total: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.float64))
    items: int = 0
    per_term: dict[str, torch.Tensor] = field(default_factory=dict)

    def add(self, loss: torch.Tensor, terms: Mapping[str, torch.Tensor], size: int) -> None:
        self.total += loss.detach().double().cpu() * size
        if len(self.terms) > 1:
            for term in self.terms:
                value = terms[term].detach().double().cpu() * size
                self.per_term[term] = (
                    self.per_term[term] + value if term in self.per_term else value
                )
        self.items += size

    def stacked(self) -> torch.Tensor:
        """``[total, items, *terms]`` for one all-reduce."""
        parts = [self.total, torch.tensor(float(self.items), dtype=torch.float64)]
        if len(self.terms) > 1:
            parts += [
                self.per_term.get(t, torch.zeros((), dtype=torch.float64)) for t in self.terms
            ]
        return torch.stack(parts)


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """The autocast region of ``precision`` on ``device`` (nothing for float32)."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=getattr(torch, precision))


def step_terms(
    task: Task, model: nn.Module, batch: Any, precision: str = "float32"
) -> dict[str, torch.Tensor]:
    """The task's loss terms of ``batch``, by name in the order of ``task.loss_terms``, the
    forward pass under ``precision``'s autocast (see the module docstring)."""
    with autocast(_device_of(model), precision):
        out = task.training_step(model, batch)
    terms = list(task.loss_terms)
    if isinstance(out, torch.Tensor):
        if len(terms) != 1:
            raise TypeError(
                f"{type(task).__name__}.training_step returned one tensor, but the task declares "
                f"the loss terms {terms}: return a mapping with one scalar per term"
            )
        return {terms[0]: out}
    if sorted(out) != sorted(terms):
        raise ValueError(
            f"{type(task).__name__}.training_step returned the terms {sorted(out)}, but the task "
            f"declares {terms}"
        )
    return {term: out[term] for term in terms}


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def weighted(
    terms: Mapping[str, torch.Tensor], weights: Mapping[str, float], names: Iterable[str]
) -> torch.Tensor | None:
    """The sum of weight × term over ``names`` (terms of weight 0 left out; None if all are)."""
    total = None
    for name in names:
        weight = weights[name]
        if weight == 0:
            continue
        part = terms[name] if weight == 1.0 else terms[name] * weight
        total = part if total is None else total + part
    return total


def check_finite(loss: torch.Tensor, terms: Mapping[str, torch.Tensor], epoch: int) -> None:
    if not torch.isfinite(loss):
        listed = ", ".join(f"{name}={value.item()}" for name, value in terms.items())
        detail = f" (terms: {listed})" if len(terms) > 1 else ""
        raise Diverged(f"training loss is {loss.item()} at epoch {epoch + 1}{detail}")


def one_optimizer_epoch(
    task: Task, session: LoopSession, run: Optimizing, batches: Iterable[tuple[Any, int]],
    epoch: int, grad_clip: float | None,
) -> EpochLosses:  # fmt: skip
    """Steps of a task with one optimizer (the DDP path)."""
    ((name, optimizer),) = run.optimizers.items()
    schedule, model = run.schedules[name], run.model
    losses = EpochLosses(tuple(task.loss_terms))
    with session.uneven_inputs(model):
        for batch, size in batches:
            batch = move_to(batch, session.device)
            optimizer.zero_grad(set_to_none=True)
            terms = step_terms(task, model, batch, run.precision)
            loss = weighted(terms, run.weights, terms)
            check_finite(loss, terms, epoch)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            schedule.step()
            losses.add(loss, terms, size)
    return losses


def several_optimizers_epoch(
    task: Task, session: LoopSession, run: Optimizing, batches: Iterable[tuple[Any, int]],
    epoch: int, grad_clip: float | None,
) -> EpochLosses:  # fmt: skip
    """Steps of a task with several optimizers (gradients averaged by the loop)."""
    losses = EpochLosses(tuple(task.loss_terms))
    owners = task.loss_terms
    distributed = session.world_size > 1
    stepping = [p for name in run.active for p in run.trainable[name]]
    batches = iter(batches)
    while True:
        item = next(batches, None)
        if distributed:  # every worker steps while any has a batch
            flag = torch.tensor(0.0 if item is None else 1.0, dtype=torch.float64)
            if float(session.all_reduce_sum(flag)) == 0:
                break
        elif item is None:
            break
        for optimizer in run.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        if item is not None:
            batch, size = item
            terms = step_terms(task, run.model, move_to(batch, session.device), run.precision)
            total = weighted(terms, run.weights, terms)
            check_finite(total, terms, epoch)
            own = {name: weighted(terms, run.weights, [t for t in terms if owners[t] == name])
                   for name in run.active}  # fmt: skip
            parts = [
                (name, loss)
                for name, loss in own.items()
                if loss is not None and loss.requires_grad
            ]
            for index, (name, loss) in enumerate(parts):  # the graph is kept until the last one
                torch.autograd.backward(
                    loss, inputs=run.trainable[name], retain_graph=index < len(parts) - 1
                )
            losses.add(total, terms, size)
        if distributed:
            average_gradients(session, stepping)
        for name in run.active:
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(run.trainable[name], grad_clip)
            run.optimizers[name].step()
            run.schedules[name].step()
    if distributed:  # buffers (batch-norm statistics) follow rank 0, as under DDP
        session.broadcast_(list(run.model.buffers()))
    return losses


def average_gradients(session: LoopSession, params: list[nn.Parameter]) -> None:
    """Average the gradients of ``params`` over workers (a missing gradient counts as zero);
    a parameter that no worker gave a gradient keeps none, so its optimizer skips it."""
    if not params:
        return
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.float64)
    had = session.all_reduce_sum(present).cpu()
    by_dtype: dict[torch.dtype, list[int]] = {}
    for index, param in enumerate(params):
        by_dtype.setdefault(param.dtype, []).append(index)
    for indices in by_dtype.values():
        flat = torch.cat([
            (params[i].grad if params[i].grad is not None else torch.zeros_like(params[i])).reshape(-1)
            for i in indices
        ])  # fmt: skip
        flat = session.all_reduce_sum(flat) / session.world_size
        for i, chunk in zip(indices, flat.split([params[i].numel() for i in indices])):
            params[i].grad = chunk.view_as(params[i]).clone() if float(had[i]) > 0 else None
