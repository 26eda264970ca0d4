"""The ``train`` section of the experiment: optimizers, schedules, stages and workers.

The optimizer table is in :mod:`raytrack.config.optimizers`, the scheduler table in
:mod:`raytrack.config.schedules`; this module holds the stages and the section itself. Checks
that need the model's task (its optimizer and loss term names, its metrics) are in
:func:`train_problems`; the schema checks the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from raytrack.config.optimizers import (
    OPTIMIZERS,
    OptimizerName,
    OptimizerSection,
    _optimizer_at,
    optimizer_argument_types,
)
from raytrack.config.schedules import SCHEDULERS, SchedulerSection
from raytrack.config.sections import Loc, Problems, Section, raise_problems
from raytrack.suggest import unknown_message

if TYPE_CHECKING:
    from raytrack.tasks.base import Task

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "Loc",
    "OptimizerName",
    "OptimizerSection",
    "SchedulerSection",
    "Section",
    "StageSection",
    "TrainSection",
    "UntilSection",
    "optimizer_argument_types",
    "train_problems",
]

# -- stages ----------------------------------------------------------------------------------

PositiveFloat = Annotated[float, Field(gt=0)]


HPARAM_REF = re.compile(r"hparams\.([A-Za-z_][A-Za-z0-9_]*)")
"""A threshold given as a model hyperparameter (``above: hparams.auc_threshold``)."""


class UntilSection(Section):
    """End the stage after the first epoch whose ``metric`` is above (or below) a threshold.

    The threshold is a number, or ``hparams.<name>``: the value of the model's hyperparameter
    ``<name>`` in the run (so a sweep can search it; e.g. HyperTrack's ``auc_threshold``).
    """

    metric: str
    """``train_loss`` or ``val_<metric of the task>``."""
    above: float | str | None = None
    below: float | str | None = None

    @field_validator("above", "below")
    @classmethod
    def _number_or_hparam(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str) and not HPARAM_REF.fullmatch(value):
            raise ValueError(
                f"a threshold is a number or 'hparams.<hyperparameter>', but got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_threshold(self) -> UntilSection:
        if (self.above is None) == (self.below is None):
            given = "both" if self.above is not None else "neither"
            raise ValueError(f"until needs exactly one of above and below, but got {given}")
        return self

    @property
    def hparam(self) -> str | None:
        """The hyperparameter the threshold names, if it names one."""
        threshold = self.above if self.above is not None else self.below
        match = HPARAM_REF.fullmatch(threshold) if isinstance(threshold, str) else None
        return match.group(1) if match else None

    def resolved(self, hparams: Mapping[str, Any]) -> UntilSection:
        """This section with a ``hparams.<name>`` threshold replaced by its value in ``hparams``."""
        name = self.hparam
        if name is None:
            return self
        if not isinstance(hparams.get(name), (int, float)):
            raise ValueError(
                f"until: the threshold hparams.{name} needs a numeric hyperparameter {name!r}, "
                f"but the run has {hparams.get(name)!r}"
            )
        side = "above" if self.above is not None else "below"
        return self.model_copy(update={side: float(hparams[name])})

    def passed(self, value: float | None) -> bool:
        """Whether ``value`` passes the threshold (strictly; NaN and None never pass)."""
        if value is None or math.isnan(value):
            return False
        if self.hparam is not None:
            raise ValueError("until: resolve the hparams threshold first (UntilSection.resolved)")
        return value > self.above if self.above is not None else value < self.below  # type: ignore[operator]


class StageSection(Section):
    """One stage of training; every unset setting is the run's (``train.*``). The stage ends
    after ``epochs`` epochs or after the first epoch whose ``until`` metric passes; the last
    stage ends the run that way too (early), else at ``max_epochs``."""

    name: str | None = None
    epochs: int | None = Field(None, ge=1)
    """At most this many epochs; may be omitted on the last stage (it runs to max_epochs)."""
    until: UntilSection | None = None
    lr: PositiveFloat | dict[str, PositiveFloat] | None = None
    """The base rate of every optimizer, or of the ones named (the others keep their own)."""
    batch_size: int | None = Field(None, ge=1)
    freeze: list[str] = Field(default_factory=list)
    """Submodules (``model.get_submodule`` names) whose parameters get no gradient."""
    loss_weights: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    """Weight of each loss term (default 1.0); a term of weight 0 is left out of the loss."""

    def label(self, index: int) -> str:
        return f"{index} ({self.name})" if self.name else str(index)


# -- the section -----------------------------------------------------------------------------


class TrainSection(Section):
    """How a trial trains: epochs, stages, optimizers and schedules, batches, workers."""

    max_epochs: int = Field(10, ge=1)
    """Epochs in all; default with ``stages`` that all give ``epochs``: their sum."""
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    optimizers: dict[str, OptimizerSection] = Field(default_factory=dict)
    """Per optimizer of the task (``generator: {...}``): a whole section replacing ``optimizer``."""
    warmup: int = Field(0, ge=0)
    """Length of the linear learning-rate warmup (Exa.TrkX ``warmup``) at each stage's start, in
    ``warmup_interval`` units: the rate is scaled by ``min(1, (n + 1) / warmup)`` at step or
    epoch ``n`` of the stage."""
    warmup_interval: Literal["step", "epoch"] = "step"
    """What ``warmup`` counts (Lightning's ``interval`` names): optimizer steps (as the Exa.TrkX
    filter's ``global_step``) or epochs (as the Exa.TrkX embedding's and GNN's
    ``current_epoch``)."""
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)
    stages: list[StageSection] = Field(default_factory=list)
    """Stages trained one after the other; none: one stage of ``max_epochs``."""
    batch_size: int = Field(1, ge=1)
    """Items (events, windows, spectra) per optimizer step and worker."""
    workers: int = Field(1, ge=1)
    """DDP workers per trial; 1 runs the loop inside the trial without a worker group."""
    cpus_per_worker: float = Field(1.0, ge=0)
    gpus_per_worker: float = Field(0.0, ge=0)
    resources_per_worker: dict[str, float] = Field(default_factory=dict)
    """Ray custom resources each worker reserves besides its CPUs and GPUs (``{accel: 1}``): a
    trial runs only on nodes that offer them (``ray start --resources``, a pod's ``rayStartParams``)."""
    grad_clip: float | None = Field(None, gt=0)
    precision: Literal["float32", "bfloat16"] = "float32"
    """``bfloat16``: forward passes and losses under bfloat16 autocast (mixed precision, e.g. on
    GPUs with bfloat16 tensor cores); weights, gradients and optimizer states stay float32."""
    seed: int = 0
    num_threads: int | None = Field(None, ge=1)
    """torch threads per worker; default: ``cpus_per_worker`` rounded up."""
    init_from: str | None = None
    """Start from the model weights of another run (transfer learning; not its optimizer): a
    checkpoint directory or a finished sweep (its best checkpoint); in a pipeline with
    ``chain: weights``, ``previous`` is the previous stage's best checkpoint."""

    @field_validator("optimizer", "optimizers", mode="before")
    @classmethod
    def _at_their_place(cls, value: Any, info: ValidationInfo) -> Any:
        """Validate optimizer sections knowing where they are: their messages say it."""
        if info.field_name == "optimizer":
            return _optimizer_at(value, "train.optimizer")
        if not isinstance(value, Mapping):
            return value
        sections, errors = {}, []
        for key, section in value.items():
            try:
                sections[key] = _optimizer_at(section, f"train.optimizers.{key}")
            except ValidationError as err:
                errors += [  # each error moved below its key, with its type and message
                    InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), loc=(key, *e["loc"]), input=None)
                    for e in err.errors()
                ]  # fmt: skip
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return sections

    @field_validator("resources_per_worker")
    @classmethod
    def _custom_resources(cls, value: dict[str, float]) -> dict[str, float]:
        """Non-negative finite amounts of resources other than CPU, GPU and memory."""
        reserved = {"cpu": "cpus_per_worker", "gpu": "gpus_per_worker", "memory": None}
        problems = []
        for key, amount in value.items():
            if key.lower() in reserved:
                instead = reserved[key.lower()]
                hint = (
                    f"use train.{instead}" if instead else "Ray's memory is not a custom resource"
                )
                problems.append(
                    f"resources_per_worker.{key}: {key!r} is not a custom resource ({hint})"
                )
            elif not math.isfinite(amount) or amount < 0:
                problems.append(
                    f"resources_per_worker.{key}: an amount must be a non-negative number, "
                    f"but got {key}={amount!r}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _stages_fit(self) -> TrainSection:
        if not self.stages:
            return self
        problems: Problems = []
        for index, stage in enumerate(self.stages[:-1]):
            if stage.epochs is None and stage.until is None:
                why = f"stage {stage.label(index)} is not the last, so it needs epochs or until to end"
                problems.append((("stages", index), why))
        named = [stage.name for stage in self.stages if stage.name]
        for name in sorted({n for n in named if named.count(n) > 1}):
            problems.append((("stages",), f"stage name {name!r} is used more than once"))
        given = [stage.epochs for stage in self.stages if stage.epochs is not None]
        if "max_epochs" not in self.model_fields_set and len(given) == len(self.stages):
            self.max_epochs = sum(given)
        elif sum(given) > self.max_epochs:
            why = f"the stages' epochs add up to {sum(given)}, more than max_epochs ({self.max_epochs})"
            problems.append((("stages",), why))
        raise_problems(type(self).__name__, problems)
        return self

    def optimizer_for(self, name: str) -> OptimizerSection:
        """The section of the task's optimizer ``name``: ``optimizers[name]`` or ``optimizer``."""
        return self.optimizers.get(name, self.optimizer)


def train_problems(
    train: TrainSection,
    task: type[Task],
    metrics: Sequence[str],
    hyperparameters: Collection[str] | None = None,
) -> Problems:
    """What in ``train`` does not fit ``task``: (location below ``train``, message) pairs.

    Keys of ``optimizers`` and of a stage's ``lr`` must be the task's optimizer names, keys of
    ``loss_weights`` its loss terms (and some term must keep a nonzero weight), ``until.metric``
    one of ``metrics`` (the caller passes ``["train_loss", "val_<metric>", ...]``), and a
    ``hparams.<name>`` threshold one of ``hyperparameters`` (the model's; ``None``: unchecked).
    """
    optimizers, terms = list(task.optimizer_names()), list(task.loss_terms)
    owner = f" of task {task.__name__}"
    problems: Problems = [
        (("optimizers", key), unknown_message("optimizer", key, optimizers, owner))
        for key in train.optimizers
        if key not in optimizers
    ]
    for index, stage in enumerate(train.stages):
        at: Loc = ("stages", index)
        if isinstance(stage.lr, Mapping):
            problems += [
                ((*at, "lr", key), unknown_message("optimizer", key, optimizers, owner))
                for key in stage.lr
                if key not in optimizers
            ]
        problems += [
            ((*at, "loss_weights", key), unknown_message("loss term", key, terms, owner))
            for key in stage.loss_weights
            if key not in terms
        ]
        if terms and all(stage.loss_weights.get(term, 1.0) == 0 for term in terms):
            why = f"every loss term has weight 0 in stage {stage.label(index)}: nothing would train"
            problems.append(((*at, "loss_weights"), why))
        if stage.until is not None and stage.until.metric not in metrics:
            why = unknown_message("metric", stage.until.metric, list(metrics), owner)
            problems.append(((*at, "until", "metric"), why))
        name = stage.until.hparam if stage.until is not None else None
        if name is not None and hyperparameters is not None and name not in hyperparameters:
            side = "above" if stage.until.above is not None else "below"
            why = unknown_message("hyperparameter", name, sorted(hyperparameters), " of the model")
            problems.append(((*at, "until", side), why))
    return problems
