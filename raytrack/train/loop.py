"""The one training loop every family trains through.

One readable recipe (torchtune style), run unchanged in a single-worker trial, on each of N DDP
workers, or locally without Ray; only the :class:`~raytrack.train.session.LoopSession` differs.
Per epoch: stream this worker's training rows through a bounded shuffle buffer, prepare and
batch them with the family's task, step the optimizer (warmup per step, schedule per epoch);
then validate, sum the task's statistics over workers, report ``train_loss``, ``val_<metric>``
and ``lr`` with a checkpoint, and step the epoch schedule.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from raytrack.config.schema import Experiment
from raytrack.registry import get_model
from raytrack.tasks.base import Task, move_to
from raytrack.train.batching import prepared_batches, shuffle_buffer
from raytrack.train.checkpoint import load_checkpoint, save_checkpoint
from raytrack.train.optim import LearningRateSchedule, build_optimizer
from raytrack.train.session import LoopSession

SHUFFLE_BUFFER_EVENTS = 64


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def run_training(experiment: Experiment, session: LoopSession) -> dict[str, Any]:
    """Train ``experiment`` in ``session``; returns the last epoch's metrics."""
    train_cfg = experiment.train
    torch.set_num_threads(train_cfg.num_threads or max(1, math.ceil(train_cfg.cpus_per_worker)))
    seed_everything(train_cfg.seed)
    entry = get_model(experiment.model.name)
    model, task = entry.build(experiment.model.hparams, experiment.data.options)
    model = session.wrap_model(model)
    optimizer = build_optimizer(train_cfg.optimizer, model.parameters())
    schedule = LearningRateSchedule(
        optimizer,
        lr=train_cfg.optimizer.lr,
        warmup=train_cfg.warmup,
        scheduler=train_cfg.scheduler,
        max_epochs=train_cfg.max_epochs,
        mode=experiment.tune.mode,
    )
    start_epoch = 0
    with session.latest_checkpoint() as directory:
        if directory is not None:
            state = load_checkpoint(directory, map_location=session.device)
            unwrap(model).load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            start_epoch = int(state["epoch"])

    metrics: dict[str, Any] = {}
    for epoch in range(start_epoch, train_cfg.max_epochs):
        started = time.perf_counter()
        train_loss, train_items = _train_epoch(experiment, session, model, task, optimizer, schedule, epoch)
        trained = time.perf_counter()
        val_metrics = _validate(experiment, session, unwrap(model), task, epoch)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            **{f"val_{name}": value for name, value in val_metrics.items()},
            "lr": schedule.lr,
            "train_items": train_items,
            "train_time_s": trained - started,
            "epoch_time_s": time.perf_counter() - started,
        }
        if experiment.tune.metric in metrics:  # the tuned metric first: progress tables show it
            metrics = {experiment.tune.metric: metrics[experiment.tune.metric], **metrics}
        schedule.end_epoch(metrics.get(experiment.tune.metric))
        with tempfile.TemporaryDirectory(prefix="raytrack-ckpt-") as directory:
            if session.rank == 0:
                save_checkpoint(
                    directory,
                    model=unwrap(model),
                    optimizer=optimizer,
                    schedule=schedule,
                    epoch=epoch + 1,
                    metrics=metrics,
                    experiment=experiment,
                )
            session.report(metrics, directory if session.rank == 0 else None)
    return metrics


def _train_epoch(
    experiment: Experiment,
    session: LoopSession,
    model: nn.Module,
    task: Task,
    optimizer: torch.optim.Optimizer,
    schedule: LearningRateSchedule,
    epoch: int,
) -> tuple[float, int]:
    train_cfg = experiment.train
    model.train()
    rows = shuffle_buffer(
        session.rows("train", epoch),
        SHUFFLE_BUFFER_EVENTS,
        seed=hash((train_cfg.seed, epoch, session.rank)) & 0x7FFFFFFF,
    )
    loss_sum = torch.zeros((), dtype=torch.float64)
    items = 0
    with session.uneven_inputs(model):
        for batch, size in prepared_batches(rows, task.prepare, task.collate, train_cfg.batch_size):
            batch = move_to(batch, session.device)
            optimizer.zero_grad(set_to_none=True)
            loss = task.training_step(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss is {loss.item()} at epoch {epoch + 1}")
            loss.backward()
            if train_cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach().double().cpu() * size
            items += size
    totals = session.all_reduce_sum(torch.stack([loss_sum, torch.tensor(float(items), dtype=torch.float64)]))
    total_items = int(totals[1].item())
    return (float(totals[0] / total_items) if total_items else float("nan")), total_items


@torch.no_grad()
def _validate(
    experiment: Experiment, session: LoopSession, model: nn.Module, task: Task, epoch: int
) -> dict[str, float]:
    model.eval()
    totals: dict[str, torch.Tensor] = {}
    for batch, _ in prepared_batches(
        session.rows("val", epoch), task.prepare, task.collate, experiment.train.batch_size
    ):
        stats = task.validation_step(model, move_to(batch, session.device))
        for key, value in stats.items():
            value = value.detach().double()
            totals[key] = totals[key] + value if key in totals else value
    shapes = session.agree_shapes({key: tuple(value.shape) for key, value in totals.items()})
    summed = {}
    for key, shape in shapes.items():
        local = totals.get(key)
        if local is None:  # this worker had no validation rows: it contributes zeros
            local = torch.zeros(shape, dtype=torch.float64)
        summed[key] = session.all_reduce_sum(local).cpu()
    return task.summarize(summed)
