"""What a model family declares, once: its models, data sources, evaluators and commands.

A family is one package that exposes a :class:`Family` (conventionally ``family`` in a module of
its own that imports nothing heavy). raytrack finds it through the ``raytrack.families``
entry-point group or an experiment's ``plugins:`` list (:mod:`raytrack.registry`); nothing in
``config``, ``tune``, ``train`` or ``pipeline`` names a family.

Every implementation is a :data:`Ref`: the object itself, or ``"package.module:attribute"``
resolved with importlib when first needed, so that discovering families (and ``raytrack
--help``) imports no torch. Legend:

- a **model** is a builder (an ``nn.Module`` class or a function) whose keyword arguments are the
  model's hyperparameters, plus the :class:`~raytrack.tasks.base.Task` that trains it (its
  keyword arguments are hyperparameters too); annotations carry types and bounds;
- a **data source** turns a simulator's settings or a reader's files into rows of the generic
  sample store (:mod:`raytrack.store`); the platform writes, caches and checks the store;
- an **evaluator** turns a trained checkpoint's output on held-out data into physics or task
  metrics (``raytrack evaluate``, the last step of ``raytrack pipeline``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import BaseModel

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from raytrack.store.columns import StoreSchema

Ref = Union[str, Callable[..., Any], type]  # noqa: UP007 (a runtime alias, Python 3.10)
"""An implementation, or its ``"module:attribute"`` path (resolved on first use)."""


def resolve(ref: Ref, what: str) -> Any:
    """The object ``ref`` names; ``what`` says whose it is in the error message."""
    if not isinstance(ref, str):
        return ref
    module_name, sep, attribute = ref.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"{what}: {ref!r} is not a reference of the form 'package.module:attribute'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(f"{what}: cannot import {module_name!r} ({err})") from err
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"{what}: module {module_name!r} has no {attribute!r}") from None
    return obj


@dataclass(frozen=True)
class ModelSpec:
    """A model: its registry name, builder and task, and what it reads and how it is judged."""

    name: str
    builder: Ref
    """An ``nn.Module`` class or function; its keyword arguments are hyperparameters."""
    task: Ref
    """The :class:`~raytrack.tasks.base.Task` subclass that trains the model."""
    description: str = ""
    sources: tuple[str, ...] = ()
    """Data sources whose stores the model trains on; the first is the default ``data.source``.
    Empty for models that train on a previous stage's output (``raytrack infer``)."""
    evaluators: tuple[str, ...] = ()
    """Evaluators of the trained model; the first is ``raytrack evaluate``'s default."""
    example: Ref | None = None
    """A function returning a :class:`ContractExample`: tiny hyperparameters, options and
    rows on which the contract suite (:mod:`raytrack.tasks.contract`) runs the model."""


@dataclass(frozen=True)
class ContractExample:
    """Tiny inputs for one model's contract test: real rows, the smallest sensible model."""

    hparams: Mapping[str, Any]
    rows: list[Mapping[str, Any]]
    """At least two rows: the suite splits a batch of them in halves."""
    options: Mapping[str, Any] = field(default_factory=dict)
    context: Any = None
    """A :class:`~raytrack.tasks.base.TaskContext`: what :meth:`~raytrack.tasks.base.Task.setup` gets before the rows are prepared, for a
    task that prepares itself from its store (e.g. a graph constructor fitted on the training
    samples); ``None``: setup is not called, as outside a sweep."""


@dataclass(frozen=True)
class SourceOutput:
    """What a data source produces: the rows and how the store declares them."""

    rows: Iterable[Mapping[str, Any]]
    """Rows streamed into the store (one per event, clip, structure, ...)."""
    schema: StoreSchema | Callable[[Mapping[str, Any]], StoreSchema]
    """The store's schema, or a function of the first row that returns it."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """What the platform records beside seed and settings (file names, ...). It is serialised
    after the last row, so a reader may complete it while rows stream."""


@dataclass(frozen=True)
class DataSource:
    """Where a family's data come from: a simulator or a reader of a real format.

    ``produce(settings, count=..., seed=...)`` returns a :class:`SourceOutput`; a simulator
    gets the number of samples and a seed (``data.generate.events`` and ``seed``), a reader
    gets ``count=None`` and ``seed=None`` and finds its files through its settings (a field
    named ``path`` is the positional argument of ``raytrack convert``).
    """

    name: str
    settings: Ref
    """A pydantic model: ``data.generate.settings`` and the options of ``raytrack
    generate``/``convert``; it must forbid unknown keys."""
    produce: Ref
    kind: Literal["simulator", "reader"] = "simulator"
    description: str = ""
    describe: Ref | None = None
    """A function ``(store) -> str`` summarising a store it wrote (``raytrack generate``,
    ``raytrack convert``); default: the generic counts."""

    def settings_model(self) -> type[BaseModel]:
        return resolve(self.settings, f"settings of data source {self.name!r}")


@dataclass(frozen=True)
class Evaluation:
    """An evaluator's result: headline numbers and, optionally, one row per sample."""

    summary: dict[str, Any]
    per_item: pd.DataFrame | None = None

    def write(self, directory: str | Path, prefix: str = "evaluation") -> Path:
        """``<prefix>_summary.json`` and ``<prefix>_per_item.csv`` in ``directory``."""
        import json
        from pathlib import Path

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.per_item is not None:
            self.per_item.to_csv(directory / f"{prefix}_per_item.csv", index=False)
        text = json.dumps(self.summary, indent=1, default=float)
        (directory / f"{prefix}_summary.json").write_text(text + "\n")
        return directory


@dataclass(frozen=True)
class Evaluator:
    """Judges a trained model on held-out samples.

    ``evaluate(checkpoint, store, settings, *, ids, device, reference)`` gets the loaded
    checkpoint (:class:`raytrack.train.checkpoint.LoadedCheckpoint`: model, task, experiment),
    the store the model reads, the validated settings, the sample ids to judge (``None``: all),
    the torch device, and the store of the complete original samples when ``store`` is a later
    pipeline stage's output (else ``None``); it returns an :class:`Evaluation`.
    """

    name: str
    settings: Ref
    evaluate: Ref
    description: str = ""

    def settings_model(self) -> type[BaseModel]:
        return resolve(self.settings, f"settings of evaluator {self.name!r}")


@dataclass(frozen=True)
class Family:
    """One model family: everything it adds to raytrack."""

    name: str
    description: str = ""
    models: tuple[ModelSpec, ...] = ()
    sources: tuple[DataSource, ...] = ()
    evaluators: tuple[Evaluator, ...] = ()
    commands: tuple[Ref, ...] = ()
    """Functions ``add_commands(subparsers)`` adding the family's own CLI subcommands."""

    def __post_init__(self) -> None:
        for kind, items in (("model", self.models), ("data source", self.sources),
                            ("evaluator", self.evaluators)):  # fmt: skip
            names = [item.name for item in items]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"family {self.name!r} declares the {kind}(s) {repeated} twice")
