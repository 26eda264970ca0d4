"""The ``train`` section of the experiment: optimizers, schedules, stages and workers.

Every section forbids unknown keys, except that an optimizer section takes any keyword argument
of its ``torch.optim`` class besides ``name``, ``lr`` and ``weight_decay``, checked against the
class's signature and typed from it (this check imports torch; nothing else here does). Checks
that need the model's task (its optimizer and loss term names, its metrics) are in
:func:`train_problems`; the schema checks the rest.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    Union,
    get_args,
)

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)  # fmt: skip
from pydantic_core import InitErrorDetails, PydanticCustomError

from raytrack.suggest import unknown_message

if TYPE_CHECKING:
    from raytrack.tasks.base import Task

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]
"""(location below the section, message) pairs."""


class Section(BaseModel):
    """A section of the experiment file: a key it does not declare is an error."""

    model_config = ConfigDict(extra="forbid")


def raise_problems(title: str, problems: Problems) -> None:
    """Raise ``problems`` as one pydantic error, each at its own location (nothing if empty)."""
    if problems:
        raise ValidationError.from_exception_data(title, [
            InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=None)
            for loc, message in problems
        ])  # fmt: skip


# -- optimizers ------------------------------------------------------------------------------

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad", "radam", "adadelta"]
OPTIMIZERS: dict[str, str] = dict(zip(get_args(OptimizerName), (
    "Adam", "AdamW", "SGD", "RMSprop", "NAdam", "Adagrad", "RAdam", "Adadelta")))  # fmt: skip
"""Optimizer name in the experiment → class name in ``torch.optim`` (no ``adamax``: a typo of
``adam`` such as ``adma`` would be read as one of it)."""


def optimizer_argument_types(name: str) -> dict[str, Any]:
    """The keyword arguments an optimizer section takes for optimizer ``name`` besides ``name``,
    ``lr`` and ``weight_decay``, each with an annotation for ``pydantic.TypeAdapter`` (torch's
    annotation without ``Tensor``, or the default's type where there is none).

    Imports torch. Raises ``KeyError`` listing the optimizers when ``name`` is not one.
    """
    import inspect

    import torch

    if name not in OPTIMIZERS:
        raise KeyError(unknown_message("optimizer", name, list(OPTIMIZERS)))
    signature = inspect.signature(getattr(torch.optim, OPTIMIZERS[name]).__init__, eval_str=True)
    found: dict[str, Any] = {}
    for param in list(signature.parameters.values())[1:]:
        if param.name in ("params", "lr", "weight_decay") or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            continue  # the loop's parameters, the section's own keys
        annotation = _without(param.annotation, torch.Tensor)
        if annotation is inspect.Parameter.empty:
            annotation = Any if param.default in (None, param.empty) else type(param.default)
        found[param.name] = annotation
    return found


def _without(annotation: Any, tensor: type) -> Any:
    """``annotation`` with ``tensor`` dropped from its unions (``float | Tensor`` → ``float``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        kept = [
            _without(a, tensor) for a in args if not (isinstance(a, type) and issubclass(a, tensor))
        ]
        return Union[tuple(kept)] if len(kept) > 1 else kept[0]  # noqa: UP007 (built at run time)
    if origin is tuple and args:
        return tuple[tuple(_without(a, tensor) for a in args)]  # type: ignore[misc]
    return annotation


class OptimizerSection(Section):
    """One optimizer: ``name``, ``lr``, ``weight_decay`` (0 for every optimizer) and any other
    keyword argument of its torch class (``momentum: 0.9`` for sgd, ``betas: [0.5, 0.999]`` for
    adam, ...), checked against the class's signature, typed from it and range-checked by it."""

    model_config = ConfigDict(extra="allow")  # the torch class's keyword arguments

    name: OptimizerName = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    _checked: bool = PrivateAttr(False)

    @classmethod
    def extra_annotation(cls, key: str) -> Any:
        """The type of torch keyword ``key`` for a search over it (``train.optimizer.momentum``):
        its annotation in the first optimizer that takes it, ``None`` when none does. Whether the
        chosen optimizer takes it is checked when the searched values are validated."""
        for name in OPTIMIZERS:
            annotation = optimizer_argument_types(name).get(key)
            if annotation is not None:
                return annotation
        return None

    @property
    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of the torch class (``lr`` and ``weight_decay`` included)."""
        return {"lr": self.lr, "weight_decay": self.weight_decay, **(self.model_extra or {})}

    @model_validator(mode="after")
    def _check_torch_arguments(self, info: ValidationInfo) -> OptimizerSection:
        extra = self.model_extra or {}
        if not extra or self._checked:
            return self
        where = (info.context or {}).get("where")
        torch_class = f"torch.optim.{OPTIMIZERS[self.name]}"
        owner = f" in {where} ({torch_class})" if where else f" of {torch_class}"
        arguments = optimizer_argument_types(self.name)
        problems: Problems = []
        for key, value in extra.items():
            if key not in arguments:
                choices = ["name", "lr", "weight_decay", *arguments]
                problems.append(((key,), unknown_message("key", key, choices, owner)))
                continue
            try:
                extra[key] = TypeAdapter(arguments[key]).validate_python(value)
            except ValidationError as err:
                detail = err.errors()[0]["msg"]
                problems.append(
                    ((key,), f"wrong type for {torch_class} {key}: {detail}, got {value!r}")
                )
        if not problems:  # the class's own range checks (betas in [0, 1), momentum >= 0, ...)
            import torch

            try:
                torch_optimizer = getattr(torch.optim, OPTIMIZERS[self.name])
                torch_optimizer([torch.zeros(1, requires_grad=True)], **self.arguments)
            except (ValueError, TypeError, RuntimeError) as err:
                problems.append(((), f"{torch_class} rejects these settings: {err}"))
        raise_problems(type(self).__name__, problems)
        self._checked = True
        return self


def _optimizer_at(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return OptimizerSection.model_validate(value, context={"where": where})
    return value


# -- schedules -------------------------------------------------------------------------------

SCHEDULERS: dict[str, dict[str, Any]] = {
    "none": {},
    "plateau": {"patience": 10, "factor": 0.3, "min_lr": 0.0},
    "step": {"patience": 10, "factor": 0.3, "min_lr": 0.0},
    "warmcos": {"min_lr": 0.0, "period": None},
    "exponential": {"factor": ..., "min_lr": 0.0},
    "multistep": {"milestones": ..., "factor": 0.3, "min_lr": 0.0},
}
"""Each scheduler's settings with their defaults (``...``: required; warmcos ``period`` None:
the stage's length)."""


class SchedulerSection(Section):
    """Learning-rate schedule stepped once per epoch (after warmup), restarted at each stage.

    ``plateau``: × ``factor`` after ``patience`` epochs without improvement of the tuned metric.
    ``step``: × ``factor`` every ``patience`` epochs (Exa.TrkX's StepLR). ``warmcos``: cosine
    from ``lr`` to ``min_lr`` over ``period`` epochs, then a warm restart (HyperTrack's
    ``warm-cos``; default period: the stage's length, one cosine). ``exponential``: × ``factor``
    every epoch. ``multistep``: × ``factor`` at each of ``milestones`` (epochs into the stage).
    Never below ``min_lr``. A setting of another scheduler is an error.
    """

    name: Literal["none", "plateau", "step", "warmcos", "exponential", "multistep"] = "none"
    patience: int | None = Field(None, ge=1)
    factor: float | None = Field(None, gt=0, lt=1)
    min_lr: float | None = Field(None, ge=0)
    period: int | None = Field(None, ge=1)
    milestones: list[int] | None = None

    @model_validator(mode="after")
    def _settings_of_the_scheduler(self) -> SchedulerSection:
        own = SCHEDULERS[self.name]
        listed = f"its settings: {', '.join(own) or 'none'}"
        problems: Problems = []
        for key in ("patience", "factor", "min_lr", "period", "milestones"):
            value = getattr(self, key)
            if value is not None and key not in own:
                problems.append(
                    ((key,), f"{key} is not a setting of scheduler {self.name!r} ({listed})")
                )
            elif value is None and own.get(key) is ...:
                problems.append(((), f"scheduler {self.name!r} needs {key} ({listed})"))
            elif value is None and key in own:
                setattr(self, key, own[key])
        steps = self.milestones or []
        if any(m < 1 for m in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
            why = f"milestones must be increasing epochs of at least 1, but got {steps}"
            problems.append((("milestones",), why))
        raise_problems(type(self).__name__, problems)
        return self


# -- stages ----------------------------------------------------------------------------------

PositiveFloat = Annotated[float, Field(gt=0)]


class UntilSection(Section):
    """End the stage after the first epoch whose ``metric`` is above (or below) a threshold."""

    metric: str
    """``train_loss`` or ``val_<metric of the task>``."""
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_threshold(self) -> UntilSection:
        if (self.above is None) == (self.below is None):
            given = "both" if self.above is not None else "neither"
            raise ValueError(f"until needs exactly one of above and below, but got {given}")
        return self

    def passed(self, value: float | None) -> bool:
        """Whether ``value`` passes the threshold (strictly; NaN and None never pass)."""
        if value is None or math.isnan(value):
            return False
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
    """Optimizer steps of linear learning-rate warmup (Exa.TrkX ``warmup``), at each stage's start."""
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)
    stages: list[StageSection] = Field(default_factory=list)
    """Stages trained one after the other; none: one stage of ``max_epochs``."""
    batch_size: int = Field(1, ge=1)
    """Items (events, windows, spectra) per optimizer step and worker."""
    workers: int = Field(1, ge=1)
    """DDP workers per trial; 1 runs the loop inside the trial without a worker group."""
    cpus_per_worker: float = Field(1.0, ge=0)
    gpus_per_worker: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0)
    seed: int = 0
    num_threads: int | None = Field(None, ge=1)
    """torch threads per worker; default: ``cpus_per_worker`` rounded up."""

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


def train_problems(train: TrainSection, task: type[Task], metrics: Sequence[str]) -> Problems:
    """What in ``train`` does not fit ``task``: (location below ``train``, message) pairs.

    Keys of ``optimizers`` and of a stage's ``lr`` must be the task's optimizer names, keys of
    ``loss_weights`` its loss terms (and some term must keep a nonzero weight), ``until.metric``
    one of ``metrics`` (the caller passes ``["train_loss", "val_<metric>", ...]``).
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
    return problems
