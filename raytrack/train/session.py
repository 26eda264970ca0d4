"""Where the training loop runs: the sessions that differ between the two trial paths.

The loop (:mod:`raytrack.train.loop`) is written once; a session gives it its rank, its device,
its rows of data, a way to sum statistics (and, for tasks with several optimizers, gradients) over
workers, and a way to report metrics and checkpoints:

- :class:`TrialSession` — one worker, inside the Tune trial itself (no worker group, no DDP);
  rows stream from the event store with pyarrow; reports go to ``ray.tune.report``.
- :class:`WorkerSession` — one of N Ray Train workers (DDP, gloo on CPU / NCCL on GPU); rows
  come from this worker's Ray Data shard; reports go to ``ray.train.report``.
- :class:`LocalSession` — no Ray at all: reports are kept in a list and checkpoints in a local
  directory (debugging, notebooks, the loop's own tests).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from raytrack.probe import emit
from raytrack.tasks.base import Row, TaskContext
from raytrack.train.epoch_log import (
    EPOCH_LOG,
    append_epoch,
    fill_missing_records,
    newest_checkpoint,
)

RowSource = Callable[[str, int], Iterator[Row]]
"""``source(split, epoch)`` → the rows of ``split`` ("train" or "val") for ``epoch``."""


def pick_device(gpus_per_worker: float) -> torch.device:
    """The device of a worker that was given ``gpus_per_worker`` GPUs by Ray."""
    if gpus_per_worker > 0:
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"train.gpus_per_worker={gpus_per_worker} but torch sees no CUDA device here"
            )
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


class LoopSession(ABC):
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    context: TaskContext | None = None
    """Where the task trains (store, splits, the sweep's artifact directory): given to
    :meth:`~raytrack.tasks.base.Task.setup`; ``None`` when the caller knows nothing of it."""

    @abstractmethod
    def rows(self, split: str, epoch: int) -> Iterator[Row]:
        """This worker's rows of ``split`` for ``epoch``, each row once."""

    @abstractmethod
    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        """Report one epoch's metrics; ``checkpoint_dir`` holds this worker's part of its
        checkpoint (every worker reports one; Ray Train merges them into one directory)."""

    @abstractmethod
    def latest_checkpoint(self) -> contextlib.AbstractContextManager[str | None]:
        """A directory with the checkpoint to resume from, or None."""

    def wrap_model(self, model: nn.Module, find_unused_parameters: bool = False) -> nn.Module:
        """``model`` on this worker's device, wrapped for DDP when there are several workers.

        Called again with the unwrapped model when a stage changes the trainable parameters, with
        ``find_unused_parameters`` (DDP's) when its loss leaves out a term of weight 0.
        """
        return model.to(self.device)

    def place_model(self, model: nn.Module) -> nn.Module:
        """``model`` on this worker's device, not wrapped (the loop averages gradients itself)."""
        return model.to(self.device)

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite ``tensors`` (on this worker's device) with rank 0's, in place."""

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def agree_shapes(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        """The union over workers of statistic names and shapes, in one order everywhere."""
        return dict(sorted(shapes.items()))

    def uneven_inputs(self, model: nn.Module) -> contextlib.AbstractContextManager[Any]:
        """Context for a training epoch in which workers may have different step counts."""
        return contextlib.nullcontext()


class LocalSession(LoopSession):
    """No Ray: metrics kept in :attr:`reports`, checkpoints copied to ``checkpoint_root``."""

    def __init__(
        self,
        source: RowSource,
        checkpoint_root: str | Path,
        device: torch.device | None = None,
        context: TaskContext | None = None,
    ):
        self.source = source
        self.checkpoint_root = Path(checkpoint_root)
        self.device = device or torch.device("cpu")
        self.context = context
        self.reports: list[dict[str, Any]] = []
        self.checkpoints: list[Path] = []

    def rows(self, split: str, epoch: int) -> Iterator[Row]:
        return self.source(split, epoch)

    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        self.reports.append(dict(metrics))
        if checkpoint_dir is not None:
            # numbered after those already there: a new session resumes a killed one's run
            root = self.checkpoint_root
            existing = len(list(root.glob("checkpoint_*"))) if root.is_dir() else 0
            target = self.checkpoint_root / f"checkpoint_{existing + 1:06d}"
            shutil.copytree(checkpoint_dir, target)
            self.checkpoints.append(target)

    @contextlib.contextmanager
    def latest_checkpoint(self) -> Iterator[str | None]:
        found = (
            sorted(self.checkpoint_root.glob("checkpoint_*"))
            if self.checkpoint_root.is_dir()
            else []
        )
        yield str(found[-1]) if found else None


class TrialSession(LoopSession):
    """The single-worker path: the loop runs inside the Tune trial.

    With ``trial_dir`` (the trial's directory), each reported epoch is also appended to its
    ``epochs.jsonl``, and a restarted trial resumes from the newest complete checkpoint there,
    which may be newer than the one Tune's saved state remembers (see
    :mod:`raytrack.train.epoch_log`).
    """

    def __init__(
        self,
        source: RowSource,
        device: torch.device,
        context: TaskContext | None = None,
        trial_dir: str | Path | None = None,
    ):
        self.source = source
        self.device = device
        self.context = context
        self.trial_dir = Path(trial_dir) if trial_dir is not None else None

    def rows(self, split: str, epoch: int) -> Iterator[Row]:
        return self.source(split, epoch)

    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        from ray import tune

        checkpoint = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        # Recorded first: a scheduler that stops the trial on this result ends it inside report.
        if self.trial_dir is not None:
            append_epoch(self.trial_dir / EPOCH_LOG, metrics)
        started = time.perf_counter()
        tune.report(metrics, checkpoint=checkpoint)
        emit("report_end", epoch=metrics.get("epoch"), seconds=time.perf_counter() - started)

    @contextlib.contextmanager
    def latest_checkpoint(self) -> Iterator[str | None]:
        from ray import tune

        if self.trial_dir is not None:
            fill_missing_records(self.trial_dir / EPOCH_LOG, [self.trial_dir])
            newest = newest_checkpoint([self.trial_dir])
            if newest is not None:
                yield str(newest)
                return
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            yield None
        else:
            with checkpoint.as_directory() as directory:
                yield directory


class WorkerSession(LoopSession):
    """One Ray Train worker of a DDP trial; rows from this worker's Ray Data shard."""

    def __init__(
        self,
        shard_rows: Callable[[Any, int], Iterator[Row]],
        context: TaskContext | None = None,
        epoch_log: str | None = None,
        checkpoint_root: str | None = None,
    ):
        """``epoch_log``: the trial's ``epochs.jsonl`` (rank 0 appends each epoch);
        ``checkpoint_root``: the Ray Train run directory its checkpoints are in."""
        import dataclasses

        import ray.train
        import ray.train.torch

        train_context = ray.train.get_context()
        self.rank = train_context.get_world_rank()
        self.world_size = train_context.get_world_size()
        self.device = ray.train.torch.get_device()
        self._shard_rows = shard_rows
        self.epoch_log = epoch_log if self.rank == 0 else None
        self.checkpoint_root = checkpoint_root
        if context is not None:
            self.context = dataclasses.replace(context, rank=self.rank, world_size=self.world_size)

    def rows(self, split: str, epoch: int) -> Iterator[Row]:
        import ray.train

        return self._shard_rows(ray.train.get_dataset_shard(split), epoch)

    def wrap_model(self, model: nn.Module, find_unused_parameters: bool = False) -> nn.Module:
        import ray.train.torch

        if find_unused_parameters:
            return ray.train.torch.prepare_model(
                model, parallel_strategy_kwargs={"find_unused_parameters": True}
            )
        return ray.train.torch.prepare_model(model)

    def place_model(self, model: nn.Module) -> nn.Module:
        import ray.train.torch

        return ray.train.torch.prepare_model(model, parallel_strategy=None)

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        import torch.distributed as dist

        for tensor in tensors:
            dist.broadcast(tensor.data, src=0)

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        tensor = tensor.to(self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def agree_shapes(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        import torch.distributed as dist

        gathered: list[dict[str, tuple[int, ...]] | None] = [None] * self.world_size
        dist.all_gather_object(gathered, shapes)
        union: dict[str, tuple[int, ...]] = {}
        for part in gathered:
            union.update(part or {})
        return dict(sorted(union.items()))

    def uneven_inputs(self, model: nn.Module) -> contextlib.AbstractContextManager[Any]:
        # Each worker sees its own events exactly once, so step counts may differ by one or
        # more; DDP's join shadows the collectives of workers that ran out.
        join = getattr(model, "join", None)
        return join() if callable(join) else contextlib.nullcontext()

    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        import ray.train

        checkpoint = ray.train.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        if self.epoch_log is not None:  # first: a scheduler's stop ends the run inside report
            append_epoch(self.epoch_log, metrics)
        ray.train.report(metrics, checkpoint=checkpoint)

    @contextlib.contextmanager
    def latest_checkpoint(self) -> Iterator[str | None]:
        import ray.train

        if self.epoch_log is not None and self.checkpoint_root is not None:
            fill_missing_records(self.epoch_log, [self.checkpoint_root])
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            yield None
        else:
            with checkpoint.as_directory() as directory:
                yield directory
