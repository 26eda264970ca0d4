"""The contract between the one training loop and a model family.

A family brings a model (an ``nn.Module`` built from keyword arguments, see
:mod:`raytrack.registry`) and a :class:`Task`: how stored rows become model-ready samples,
how samples become batches, what the loss is and which validation metrics it reports. The loop
(:mod:`raytrack.train.loop`) owns everything else: devices, DDP, optimizers, schedulers, reports
and checkpoints.

The shapes of data a task handles differ by family: per-event hit graphs (Exa.TrkX, HyperTrack,
GravNet), windows of frames of detections (GTR) and fixed-size vectors or sequences (XANESNET).
The loop never looks inside a sample or a batch; it only moves batches to a device with
:func:`move_to` and asks the task for a loss and for metric statistics.

Metrics must be mergeable across batches and DDP workers: :meth:`Task.validation_step` returns
*additive statistics* (sums, counts, histograms) as tensors; the loop sums them over batches and
all-reduces them over workers, then :meth:`Task.summarize` turns the totals into metric values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping, Sequence

import torch
from pydantic import BaseModel
from torch import nn

from raytrack.families.tracking.options import NoDataOptions

Row = Mapping[str, Any]
"""One stored row as Ray Data yields it (for tracking families: one event)."""


class Task(ABC):
    """How one model family trains. Constructed once per trial with the task's hyperparameters.

    A subclass's ``__init__`` keyword arguments are hyperparameters: the experiment file sets and
    searches them by name, and :mod:`raytrack.config` checks them against the signature.
    """

    metrics: ClassVar[tuple[str, ...]] = ("loss",)
    """Names of the validation metrics :meth:`summarize` returns (reported as ``val_<name>``)."""

    Options: ClassVar[type[BaseModel]] = NoDataOptions
    """The family's dataset options (the experiment's ``data.options``), a pydantic model."""

    options: BaseModel
    """Set by :meth:`raytrack.registry.ModelEntry.build` before the first ``prepare``."""

    @abstractmethod
    def prepare(self, row: Row) -> Any:
        """Turn one stored row into a model-ready sample (numpy or CPU tensors).

        Called in the data path for every row of every epoch, so it must be deterministic and
        cheap compared with a training step.
        """

    def collate(self, samples: Sequence[Any]) -> Any:
        """Combine ``samples`` into one batch. The default keeps the list (one graph per item)."""
        return list(samples)

    @abstractmethod
    def training_step(self, model: nn.Module, batch: Any) -> torch.Tensor:
        """Return the scalar training loss of ``batch`` (already on the model's device).

        For DDP to equal single-worker training on the union of the workers' batches, the loss
        must be a mean over the batch's items (events, windows, spectra).
        """

    @abstractmethod
    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        """Return additive statistics of ``batch`` (summed over batches and workers)."""

    @abstractmethod
    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """Turn summed statistics into the metrics named in :attr:`metrics`."""

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Any:
        """What a trained pipeline stage passes on for one stored row (``raytrack infer``).

        Graph stages (Exa.TrkX embedding, filter, GNN) return the event with its hits as the
        stage selected them and the stage's output graph in ``Event.edges`` (``src``, ``dst``
        and ``score``); the next stage trains on a store of such events.
        """
        raise NotImplementedError(f"{type(self).__name__} is not a pipeline stage with an output")


def move_to(batch: Any, device: torch.device | str) -> Any:
    """Move tensors (also inside dicts, lists, tuples and PyG ``Data``) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {key: move_to(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(value, device) for value in batch)
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    return batch
