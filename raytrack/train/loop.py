"""The one training loop every family trains through.

One readable recipe (torchtune style), run unchanged in a single-worker trial, on each of N DDP
workers, or locally without Ray; only the :class:`~raytrack.train.session.LoopSession` differs.
Build the model, its task and one optimizer per optimizer the task names (with its schedule);
resume from the latest checkpoint (model, optimizers, schedules, stage, random generators);
then per epoch: stream this worker's training rows through a bounded shuffle buffer, prepare
and batch them with the task, step the optimizers (:mod:`raytrack.train.steps`; warmup per
step); validate, sum the task's statistics over workers, report ``train_loss``,
``val_<metric>`` and ``lr`` with a checkpoint, step the epoch schedules, and move on to the
next stage when this one ends (:mod:`raytrack.train.stages`).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from raytrack.config.paths import format_path
from raytrack.config.schema import Experiment
from raytrack.config.training import train_problems
from raytrack.probe import emit
from raytrack.registry import get_model
from raytrack.tasks.base import Task, move_to
from raytrack.train.batching import prepared_batches, shuffle_buffer
from raytrack.train.checkpoint import (
    load_checkpoint,
    load_rng,
    resolve_checkpoint,
    save_checkpoint,
    save_rng,
)
from raytrack.train.failures import building
from raytrack.train.optimizers import build_optimizers, parameter_groups
from raytrack.train.rng import seed_everything, set_rng_state
from raytrack.train.schedules import LearningRateSchedule
from raytrack.train.session import LoopSession
from raytrack.train.stages import Freezer, Stage, plan_stages
from raytrack.train.steps import (
    Optimizing,
    autocast,
    one_optimizer_epoch,
    several_optimizers_epoch,
)

SHUFFLE_BUFFER_EVENTS = 64


def unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def run_training(experiment: Experiment, session: LoopSession) -> dict[str, Any]:
    """Train ``experiment`` in ``session``; returns the last epoch's metrics."""
    train_cfg = experiment.train
    torch.set_num_threads(train_cfg.num_threads or max(1, math.ceil(train_cfg.cpus_per_worker)))
    seed_everything(train_cfg.seed)
    entry = get_model(experiment.model.name, experiment.plugins)
    with building(experiment.model.name):
        model, task = entry.build(experiment.model.hparams, experiment.data.options)
    hparams = {name: hp.default for name, hp in entry.hyperparameters().items()}
    hparams.update(experiment.model.hparams)
    _check_fits(experiment, task, hparams)
    if session.context is not None:
        task.setup(session.context)
    if train_cfg.init_from is not None:
        _init_from(model, train_cfg.init_from)
    several = len(task.optimizer_names()) > 1
    if several:  # gradients are averaged by the loop (see raytrack.train.steps), not by DDP
        model = session.place_model(model)
        session.broadcast_([*model.parameters(), *model.buffers()])
    else:
        model = session.wrap_model(model)
    wrapped = (frozenset(n for n, p in unwrap(model).named_parameters() if p.requires_grad), False)
    groups = parameter_groups(task, model)
    optimizers = build_optimizers(train_cfg, groups)
    stages = plan_stages(train_cfg, task, hparams)
    freezer = Freezer(unwrap(model), stages)
    stage_index, stage_start, start_epoch, finished = 0, 0, 0, False
    schedules = {
        name: LearningRateSchedule(
            optimizer,
            lr=stages[0].lr[name],
            warmup=train_cfg.warmup,
            warmup_interval=train_cfg.warmup_interval,
            scheduler=train_cfg.scheduler,
            length=stages[0].length(0, train_cfg.max_epochs),
            mode=experiment.tune.mode,
        )
        for name, optimizer in optimizers.items()
    }
    with session.latest_checkpoint() as directory:
        if directory is not None:
            state = load_checkpoint(directory, map_location=session.device)
            unwrap(model).load_state_dict(state["model"])
            task.load_state_dict(state.get("task", {}))
            stage_index, stage_start = int(state.get("stage", 0)), int(state.get("stage_start", 0))
            _restart(schedules, stages[stage_index], stage_start, train_cfg.max_epochs)
            for name, optimizer in optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
                schedules[name].load_state_dict(state["schedules"][name])
            start_epoch, finished = int(state["epoch"]), bool(state.get("finished", False))
            rng = load_rng(directory, session.rank)
            if rng is not None:
                set_rng_state(rng)
    run = Optimizing(model, optimizers, schedules, groups, precision=train_cfg.precision)
    wrapped = _enter_stage(session, task, run, freezer, stages[stage_index], wrapped, several)

    metrics: dict[str, Any] = {}
    epoch = start_epoch
    while epoch < train_cfg.max_epochs and not finished:
        stage = stages[stage_index]
        emit("epoch_start", epoch=epoch + 1)
        started = time.perf_counter()
        train_losses, train_items = _train_epoch(
            experiment, session, task, run, stage, epoch, several
        )
        trained = time.perf_counter()
        val_metrics = _validate(
            session, unwrap(run.model), task, epoch, stage.batch_size, run.precision
        )
        lrs = (
            {f"lr_{name}": s.lr for name, s in schedules.items()}
            if several
            else {"lr": run.schedule.lr}
        )
        metrics = {
            "epoch": epoch + 1,
            **train_losses,
            **{f"val_{name}": value for name, value in val_metrics.items()},
            **lrs,
            **({"stage": stage_index} if train_cfg.stages else {}),
            "train_items": train_items,
            "train_time_s": trained - started,
            "epoch_time_s": time.perf_counter() - started,
        }
        emit("epoch_end", epoch=epoch + 1)
        if experiment.tune.metric in metrics:  # the tuned metric first: progress tables show it
            metrics = {experiment.tune.metric: metrics[experiment.tune.metric], **metrics}
        for schedule in schedules.values():
            schedule.end_epoch(metrics.get(experiment.tune.metric))
        if stage.ends_after(epoch, stage_start, metrics):
            if stage_index + 1 < len(stages) and epoch + 1 < train_cfg.max_epochs:
                stage_index, stage_start = stage_index + 1, epoch + 1
                wrapped = _enter_stage(
                    session, task, run, freezer, stages[stage_index], wrapped, several
                )
                _restart(schedules, stages[stage_index], stage_start, train_cfg.max_epochs)
            else:
                finished = True
        with tempfile.TemporaryDirectory(prefix="raytrack-ckpt-") as directory:
            if session.rank == 0:
                save_checkpoint(
                    directory,
                    model=unwrap(run.model),
                    optimizers=optimizers,
                    schedules=schedules,
                    epoch=epoch + 1,
                    stage=stage_index,
                    stage_start=stage_start,
                    finished=finished,
                    metrics=metrics,
                    experiment=experiment,
                    task_state=task.state_dict(),
                )
            save_rng(directory, session.rank)
            session.report(metrics, directory)
        epoch += 1
    return metrics


def _init_from(model: nn.Module, where: str) -> None:
    """Start from the weights of another run's checkpoint (transfer learning), not its optimizer."""
    if where == "previous":
        raise ValueError(
            "train.init_from: previous names the best checkpoint of the previous stage of a "
            "pipeline (raytrack pipeline with chain: weights); outside one, give a checkpoint or "
            "sweep directory"
        )
    directory = resolve_checkpoint(where)
    try:
        model.load_state_dict(load_checkpoint(directory)["model"])
    except RuntimeError as err:
        raise ValueError(
            f"train.init_from: the checkpoint {directory} holds another model than this one "
            f"(the shapes of its weights differ): {err}"
        ) from None


def _check_fits(experiment: Experiment, task: Task, hparams: Mapping[str, Any]) -> None:
    """The run's ``train`` section against the task (optimizer and term names, metrics) and
    the model's hyperparameters (``hparams``, defaults included)."""
    metrics = ["train_loss", *(f"val_{name}" for name in task.metrics)]
    problems = train_problems(experiment.train, type(task), metrics, hparams)
    if problems:
        listed = "\n".join(
            f"  {format_path(('train', *loc))}: {message}" for loc, message in problems
        )
        raise ValueError(
            f"the train section does not fit model {experiment.model.name!r}:\n{listed}"
        )


def _enter_stage(
    session: LoopSession, task: Task, run: Optimizing, freezer: Freezer, stage: Stage,
    wrapped: tuple[frozenset[str], bool], several: bool,
) -> tuple[frozenset[str], bool]:  # fmt: skip
    """Set up ``stage``: frozen submodules, loss weights, the optimizers that step. Rewraps a
    DDP model when its trainable parameters change (DDP registers them when built) or when a
    term of weight 0 may leave parameters unused; returns what the model is now wrapped for."""
    key = (freezer.apply(stage), any(weight == 0 for weight in stage.weights.values()))
    if not several and key != wrapped:
        run.model = session.wrap_model(unwrap(run.model), find_unused_parameters=key[1])
    run.weights = dict(stage.weights)
    run.trainable = {
        name: [p for p in params if p.requires_grad] for name, params in run.groups.items()
    }
    run.active = [
        name
        for name in run.optimizers
        if run.trainable[name] and stage.active_terms(task.loss_terms, name)
    ]
    if not run.active:
        raise ValueError(
            f"stage {stage.name} trains nothing: the parameters of every optimizer "
            f"{list(run.optimizers)} are frozen or its loss terms have weight 0"
        )
    return key


def _restart(
    schedules: dict[str, LearningRateSchedule], stage: Stage, start: int, max_epochs: int
) -> None:
    """Restart every schedule at ``stage``'s start (epoch ``start``) with the stage's rates."""
    for name, schedule in schedules.items():
        schedule.restart(stage.lr[name], stage.length(start, max_epochs))


def _train_epoch(
    experiment: Experiment, session: LoopSession, task: Task, run: Optimizing, stage: Stage,
    epoch: int, several: bool,
) -> tuple[dict[str, float], int]:  # fmt: skip
    """Train one epoch; the loss metrics (``train_loss``, ``train_loss_<term>``) and the number
    of items, over all workers."""
    train_cfg = experiment.train
    task.start_epoch(epoch, train_cfg.max_epochs)
    run.model.train()
    rows = shuffle_buffer(
        session.rows("train", epoch),
        SHUFFLE_BUFFER_EVENTS,
        seed=hash((train_cfg.seed, epoch, session.rank)) & 0x7FFFFFFF,
    )
    batches = prepared_batches(rows, task.prepare, task.collate, stage.batch_size)
    steps = several_optimizers_epoch if several else one_optimizer_epoch
    losses = steps(task, session, run, batches, epoch, train_cfg.grad_clip)
    totals = session.all_reduce_sum(losses.stacked())
    total_items = int(totals[1].item())
    mean = (
        (lambda value: float(value / total_items)) if total_items else (lambda value: float("nan"))
    )
    found = {"train_loss": mean(totals[0])}
    if len(losses.terms) > 1:
        found.update(
            {f"train_loss_{term}": mean(totals[2 + i]) for i, term in enumerate(losses.terms)}
        )
    return found, total_items


@torch.no_grad()
def _validate(
    session: LoopSession, model: nn.Module, task: Task, epoch: int, batch_size: int,
    precision: str = "float32",
) -> dict[str, float]:  # fmt: skip
    model.eval()
    totals: dict[str, torch.Tensor] = {}
    for batch, _ in prepared_batches(
        session.rows("val", epoch), task.prepare, task.collate, batch_size
    ):
        with autocast(session.device, precision):
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
