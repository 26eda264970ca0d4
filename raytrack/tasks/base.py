"""The contract between the one training loop and a model family.

A family brings a model (an ``nn.Module`` built from keyword arguments, see
:mod:`raytrack.family`) and a :class:`Task`: how stored rows become model-ready samples, how
samples become batches, what the losses are and which validation metrics it reports. The loop
(:mod:`raytrack.train.loop`) owns everything else: devices, DDP, optimizers, schedules,
stages, reports and checkpoints.

The shapes of data a task handles differ by family: per-event hit graphs (Exa.TrkX, HyperTrack,
GravNet), clips of frames of detections (GTR) and fixed-size vectors or sequences (XANESNET).
The loop never looks inside a sample or a batch; it only moves batches to a device with
:func:`move_to` and asks the task for losses and for metric statistics.

**Losses and optimizers.** :attr:`Task.loss_terms` names every loss term the training step
returns and the optimizer that minimises it; :meth:`Task.parameter_groups` gives each optimizer
its parameters. The default is one term ``loss`` and one optimizer ``model`` over every
parameter. A GAN-style task declares ``{"generator": "generator", "discriminator":
"discriminator"}`` and splits the parameters accordingly; a task with several terms and one
optimizer (e.g. object condensation's attractive, repulsive and β terms) maps them all to
``model``. The experiment's ``train.stages`` may weight the terms per stage.

**Metrics** must be mergeable across batches and DDP workers: :meth:`Task.validation_step`
returns *additive statistics* (sums, counts, histograms) as tensors; the loop sums them over
batches and all-reduces them over workers, then :meth:`Task.summarize` turns the totals into
metric values. The statistics of two halves of a batch must sum to those of the whole batch
(:mod:`raytrack.tasks.contract` checks this for every registered model).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

if TYPE_CHECKING:
    from raytrack.store.columns import Column

Row = Mapping[str, Any]
"""One stored row as the store yields it (for tracking families: one event)."""

Losses = Mapping[str, torch.Tensor]
"""Named loss terms of one training step (see :attr:`Task.loss_terms`)."""


@dataclass(frozen=True)
class TaskContext:
    """Where a task trains: what :meth:`Task.setup` may use to prepare itself."""

    store_path: str | None = None
    """The sample store the trial reads (``None`` when rows come from elsewhere)."""
    splits: Mapping[str, Sequence[int]] = field(default_factory=dict)
    """The sample ids of each split (``train``, ``val``, ``test``)."""
    artifact_dir: str | None = None
    """A directory every trial of the sweep shares (on the sweep's storage, which every node of a
    cluster mounts): build there, once and under a file lock, what trials share (e.g. a graph
    constructor fitted on the training samples). ``None`` outside a sweep."""
    rank: int = 0
    world_size: int = 1


@dataclass(frozen=True)
class Needs:
    """When a hyperparameter acts: only while another hyperparameter, ``setting``, holds
    ``value``, a keyword of a regime-like list (``Needs("regime", "rp")``) or, for a single value,
    equal to it (``Needs("input_graph", "geometric")``), and while the list holds none of
    ``unless``. Validation (:mod:`raytrack.config.dormant`) warns about a value set where it
    cannot act and refuses a search that varies it there.
    """

    setting: str
    value: Any
    unless: tuple[Any, ...] = ()
    """Keywords of the same list that switch the hyperparameter off again."""
    inert: tuple[Any, ...] = ()
    """Values of the hyperparameter that mean "off" (``cell_channels: 0``): never dormant."""

    def acts(self, setting_value: Any) -> bool:
        """Whether the hyperparameter acts when ``setting`` is ``setting_value``."""
        if isinstance(setting_value, (list, tuple, set, frozenset)):
            held = set(setting_value)
            return self.value in held and not held & set(self.unless)
        return bool(setting_value == self.value)


class NoDataOptions(BaseModel):
    """The dataset options of families whose data need none."""

    model_config = ConfigDict(extra="forbid")


class Task(ABC):
    """How one model family trains. Constructed once per trial with the task's hyperparameters.

    A subclass's ``__init__`` keyword arguments are hyperparameters: the experiment file sets and
    searches them by name, and :mod:`raytrack.config` checks them against the signature.
    """

    metrics: ClassVar[tuple[str, ...]] = ("loss",)
    """Names of the validation metrics :meth:`summarize` returns (reported as ``val_<name>``)."""

    Options: ClassVar[type[BaseModel]] = NoDataOptions
    """The family's dataset options (the experiment's ``data.options``), a pydantic model."""

    needs: ClassVar[Mapping[str, Needs]] = {}
    """Hyperparameters that act only under a setting of another (a regime keyword, a mode), by
    name: e.g. ``{"randomisation": Needs("regime", "rp")}``. Validation warns when such a value
    is set where it changes nothing and refuses a search that varies it there."""

    loss_terms: ClassVar[Mapping[str, str]] = {"loss": "model"}
    """Each loss term :meth:`training_step` returns → the optimizer that minimises it."""

    options: BaseModel
    """Set by :meth:`raytrack.family.ModelSpec.build` before the first ``prepare``."""

    @classmethod
    def optimizer_names(cls) -> tuple[str, ...]:
        """The optimizers of this task, in the order of :attr:`loss_terms`."""
        return tuple(dict.fromkeys(cls.loss_terms.values()))

    def parameter_groups(self, model: nn.Module) -> dict[str, list[nn.Parameter]]:
        """The parameters of each optimizer named in :attr:`loss_terms`.

        Called once when the loop builds its optimizers (after the model is on its device and,
        for DDP, wrapped: use ``getattr(model, "module", model)`` for submodules). The default
        gives every parameter to the single optimizer; a task with several optimizers must
        override it, and every parameter that requires a gradient must be in exactly one group.
        """
        names = self.optimizer_names()
        if len(names) != 1:
            raise NotImplementedError(
                f"{type(self).__name__} declares the optimizers {list(names)}: it must say "
                "which parameters each one trains (override parameter_groups)"
            )
        return {names[0]: [p for p in model.parameters() if p.requires_grad]}

    def setup(self, context: TaskContext) -> None:
        """Prepare what training needs beyond the rows, once per worker before the first epoch.

        Called after the model and the task are built and before a checkpoint is restored (so
        :meth:`load_state_dict` runs after it on resume). The default does nothing.
        """

    @classmethod
    def store_problems(
        cls, store: Any, splits: Mapping[str, Sequence[int]], values: Mapping[str, Sequence[Any]]
    ) -> list[str]:
        """What makes a sweep of this task fail on ``store``, found before it starts (preflight).

        ``values``: every value each of the task's hyperparameters may take in the sweep (its set
        value or default, or the search's bounds, choices or grid). Each problem is a message that
        names the setting, e.g. a size the training events cannot fill. The default finds none.
        """
        return []

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        """Called before each training epoch (``epoch`` counts from 0, across stages), before its
        rows are prepared: for what changes over training (HyperTrack ramps the fraction of each
        event's tracks it keeps from ``rfactor_start`` to ``rfactor_end``). Validation rows are
        prepared after it too. The default does nothing."""

    def state_dict(self) -> dict[str, Any]:
        """What the task itself must keep in checkpoints (plain data or tensors: checkpoints load
        with ``weights_only=True``), e.g. the path and key of an artifact :meth:`setup` built.
        Restored by :meth:`load_state_dict` on resume and when a checkpoint is loaded for
        ``infer``/``evaluate``. The default keeps nothing."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    @abstractmethod
    def prepare(self, row: Row) -> Any:
        """Turn one stored row into a model-ready sample (numpy or CPU tensors).

        Called in the data path for every row of every epoch, so it should be cheap compared
        with a training step. Random draws must come from ``random``, ``numpy.random`` or
        ``torch`` global generators, which checkpoints save and restore (exact resume).
        """

    def collate(self, samples: Sequence[Any]) -> Any:
        """Combine ``samples`` into one batch. The default keeps the list (one graph per item)."""
        return list(samples)

    @abstractmethod
    def training_step(self, model: nn.Module, batch: Any) -> torch.Tensor | Losses:
        """The training loss of ``batch`` (already on the model's device).

        A scalar tensor for a task with the single term ``loss``; otherwise a mapping with one
        scalar per term of :attr:`loss_terms`. For DDP to equal single-worker training on the
        union of the workers' batches, each term must be a mean over the batch's items.
        """

    @abstractmethod
    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        """Return additive statistics of ``batch`` (summed over batches and workers)."""

    @abstractmethod
    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """Turn summed statistics into exactly the metrics named in :attr:`metrics`."""

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """What a trained pipeline stage passes on for one stored row (``raytrack infer``).

        Returns the output row: typically the input row with the stage's output added (the
        Exa.TrkX stages add their graph as ``e_src, e_dst, e_score``); the next stage trains on
        a store of such rows. Tasks that are pipeline stages override this and
        :meth:`output_columns`.
        """
        raise NotImplementedError(f"{type(self).__name__} is not a pipeline stage with an output")

    def use_checkpoint_metrics(self, metrics: Mapping[str, Any]) -> list[str]:
        """Adopt settings measured in training before :meth:`infer` runs; say what was used.

        Called once when a trained stage is loaded for use (``raytrack infer``, ``pipeline``,
        ``apply``, ``evaluate``), after :meth:`load_state_dict`, with the metrics of the
        checkpoint's epoch as the loop reported them (``val_<name>`` for the task's own metrics;
        empty when the checkpoint has no ``metrics.json``). A stage whose inference setting is
        measured in validation (e.g. a graph radius at a target efficiency) takes it here unless
        the user set it. Returns one line per such setting, naming its value and where it came
        from, for the command's log and the output's provenance. The default adopts nothing.
        """
        return []

    def output_columns(self, row: Row) -> Sequence[Column]:
        """The columns :meth:`infer` adds or replaces, with their dtypes, shapes and groups.

        ``row`` is the first output row (for columns whose number depends on the model, e.g.
        one per embedding dimension). Columns of the output row not listed here keep their
        declaration in the input store; any other column is inferred from its values.
        """
        return ()


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
