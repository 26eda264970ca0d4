"""The registry: names in experiment files → models, data sources and evaluators of families.

Families are found in two ways (see :mod:`raytrack.family` for what one declares):

- installed packages declare an entry point in the ``raytrack.families`` group (raytrack's own
  families are registered so in its ``pyproject.toml``), loaded on the first lookup;
- an experiment's ``plugins: [my_lab.my_family]`` names modules imported before its model is
  looked up, each exposing ``family`` — a lab adds a model without forking raytrack.

A model's hyperparameters are the keyword arguments of its builder and of its task, with their
annotations (``Literal[...]`` for choices, ``Annotated[int, Field(ge=1)]`` for bounds). A name
both take is one hyperparameter passed to both, so both must annotate it with the same object
and give it the same default (one source of truth for its type and bounds): the registry
refuses a model where they differ. The registry never passes a config object to a model.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from raytrack.family import DataSource, Evaluator, Family, ModelSpec, resolve
from raytrack.suggest import unknown_message

ENTRY_POINT_GROUP = "raytrack.families"


@dataclass(frozen=True)
class Hyperparameter:
    """One keyword argument of a builder or a task."""

    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    owner: str  # "model", "task" or "model+task"

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


class ModelEntry:
    """A registered model: its declaration, its family, and its resolved builder and task."""

    def __init__(self, spec: ModelSpec, family: str) -> None:
        self.spec = spec
        self.family = family
        self.name = spec.name
        self.description = spec.description

    @cached_property
    def builder(self) -> Callable[..., Any]:
        return resolve(self.spec.builder, f"builder of model {self.name!r}")

    @cached_property
    def task(self) -> type:
        return resolve(self.spec.task, f"task of model {self.name!r}")

    def hyperparameters(self) -> dict[str, Hyperparameter]:
        """Every settable hyperparameter, the builder's first, then the task's.

        Raises ``TypeError`` when the builder and the task annotate a shared name differently
        or give it different defaults.
        """
        found: dict[str, Hyperparameter] = {}
        for owner, target in (("model", self.builder), ("task", self.task)):
            for param in keyword_parameters(target):
                known = found.get(param.name)
                if known is None:
                    found[param.name] = Hyperparameter(
                        param.name, param.annotation, param.default, owner
                    )
                    continue
                if known.annotation != param.annotation or known.default != param.default:
                    raise TypeError(
                        f"model {self.name!r}: the builder and the task both take "
                        f"{param.name!r} but declare it differently (builder: "
                        f"{known.annotation} = {known.default!r}, task: {param.annotation} = "
                        f"{param.default!r}); annotate it once (a shared type alias) with one default"
                    )
                found[param.name] = Hyperparameter(
                    param.name, known.annotation, known.default, "model+task"
                )
        return found

    def split(self, hparams: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split ``hparams`` into builder and task keyword arguments (a name may go to both).

        Raises ``KeyError`` naming every hyperparameter neither accepts: none is dropped.
        """
        model_names = {p.name for p in keyword_parameters(self.builder)}
        task_names = {p.name for p in keyword_parameters(self.task)}
        unknown = sorted(set(hparams) - model_names - task_names)
        if unknown:
            raise KeyError(f"model {self.name!r} has no hyperparameter(s) {unknown}")
        model_kwargs = {k: v for k, v in hparams.items() if k in model_names}
        task_kwargs = {k: v for k, v in hparams.items() if k in task_names}
        return model_kwargs, task_kwargs

    def build(
        self, hparams: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> tuple[Any, Any]:
        """Build the model and its task; ``options`` are the experiment's ``data.options``."""
        model_kwargs, task_kwargs = self.split(hparams)
        task = self.task(**task_kwargs)
        task.options = self.task.Options.model_validate(dict(options or {}))
        return self.builder(**model_kwargs), task

    def __repr__(self) -> str:
        return f"ModelEntry({self.name!r}, family={self.family!r})"


class _Registry:
    def __init__(self) -> None:
        self.families: dict[str, tuple[Family, str]] = {}
        self.models: dict[str, ModelEntry] = {}
        self.sources: dict[str, tuple[DataSource, str]] = {}
        self.evaluators: dict[str, tuple[Evaluator, str]] = {}
        self.discovered = False

    def add(self, family: Family, origin: str) -> None:
        if not isinstance(family, Family):
            raise TypeError(
                f"{origin} must be a raytrack.family.Family, but is a {type(family).__name__}"
            )
        if family.name in self.families:
            if self.families[family.name][0] is family:
                return
            raise ValueError(
                f"family {family.name!r} from {origin} is already registered from "
                f"{self.families[family.name][1]}"
            )
        for kind, table, items in (("model", self.models, family.models),
                                   ("data source", self.sources, family.sources),
                                   ("evaluator", self.evaluators, family.evaluators)):  # fmt: skip
            for item in items:
                if item.name in table:
                    owner = table[item.name]
                    owner = owner.family if isinstance(owner, ModelEntry) else owner[1]
                    raise ValueError(
                        f"{kind} {item.name!r} of family {family.name!r} ({origin}) is already "
                        f"registered by family {owner!r}"
                    )
        self.families[family.name] = (family, origin)
        for spec in family.models:
            self.models[spec.name] = ModelEntry(spec, family.name)
        for source in family.sources:
            self.sources[source.name] = (source, family.name)
        for evaluator in family.evaluators:
            self.evaluators[evaluator.name] = (evaluator, family.name)

    def remove(self, name: str) -> None:
        family, _ = self.families.pop(name)
        for spec in family.models:
            self.models.pop(spec.name, None)
        for source in family.sources:
            self.sources.pop(source.name, None)
        for evaluator in family.evaluators:
            self.evaluators.pop(evaluator.name, None)

    def discover(self) -> None:
        if self.discovered:
            return
        self.discovered = True
        from importlib.metadata import entry_points

        for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            origin = f"entry point {point.name!r} ({point.value})"
            try:
                self.add(point.load(), origin)
            except Exception as err:  # noqa: BLE001 - one broken plug-in must not hide the others
                warnings.warn(f"raytrack: cannot load the family of {origin}: {err}", stacklevel=3)


_REGISTRY = _Registry()


def register_family(family: Family, origin: str = "register_family()") -> None:
    """Register ``family`` (its models, data sources and evaluators) in this process."""
    _REGISTRY.add(family, origin)


def unregister_family(name: str) -> None:
    """Remove a registered family (tests that register one of their own clean up with this)."""
    _REGISTRY.remove(name)


def load_plugins(modules: Iterable[str]) -> None:
    """Import each module of an experiment's ``plugins:`` and register its ``family``."""
    _REGISTRY.discover()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise ImportError(
                f"plugins: cannot import {name!r} ({err}); it must be importable here and on every "
                "Ray node (installed, or on PYTHONPATH)"
            ) from err
        family = getattr(module, "family", None)
        if family is None:
            raise ImportError(
                f"plugins: module {name!r} has no `family` (a raytrack.family.Family)"
            )
        _REGISTRY.add(family, f"plugin {name!r}")


def families() -> list[Family]:
    _REGISTRY.discover()
    return [family for family, _ in _REGISTRY.families.values()]


def installed_families() -> list[Family]:
    """The families installed packages declare (entry points), not those registered at run time."""
    _REGISTRY.discover()
    return [
        family for family, origin in _REGISTRY.families.values() if origin.startswith("entry point")
    ]


def model_names() -> list[str]:
    _REGISTRY.discover()
    return sorted(_REGISTRY.models)


def iter_models() -> Iterator[ModelEntry]:
    _REGISTRY.discover()
    return iter([_REGISTRY.models[name] for name in sorted(_REGISTRY.models)])


def get_model(name: str, plugins: Iterable[str] = ()) -> ModelEntry:
    """Resolve a model name (after loading ``plugins``); a miss lists close matches and every choice."""
    load_plugins(plugins)
    try:
        return _REGISTRY.models[name]
    except KeyError:
        raise KeyError(unknown_message("model", name, sorted(_REGISTRY.models))) from None


def source_names() -> list[str]:
    _REGISTRY.discover()
    return sorted(_REGISTRY.sources)


def get_source(name: str) -> DataSource:
    _REGISTRY.discover()
    try:
        return _REGISTRY.sources[name][0]
    except KeyError:
        raise KeyError(unknown_message("data source", name, sorted(_REGISTRY.sources))) from None


def evaluator_names() -> list[str]:
    _REGISTRY.discover()
    return sorted(_REGISTRY.evaluators)


def get_evaluator(name: str) -> Evaluator:
    _REGISTRY.discover()
    try:
        return _REGISTRY.evaluators[name][0]
    except KeyError:
        raise KeyError(unknown_message("evaluator", name, sorted(_REGISTRY.evaluators))) from None


def keyword_parameters(target: Callable[..., Any]) -> list[inspect.Parameter]:
    """The keyword-settable parameters of a function or of a class's ``__init__``."""
    func = target.__init__ if inspect.isclass(target) else target
    params = list(inspect.signature(func, eval_str=True).parameters.values())
    if inspect.isclass(target):
        params = params[1:]  # self
    return [
        p
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def register_model(
    name: str, *, family: str, task: type, description: str = "", sources: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering one builder as a one-model family (notebooks, tests).

    A package with several models, data sources or evaluators declares a
    :class:`~raytrack.family.Family` instead.
    """

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        spec = ModelSpec(name, builder, task, description, sources=sources)
        known = _REGISTRY.families.get(family)
        models: tuple[ModelSpec, ...] = (spec,)
        if known is not None:  # add to the family an earlier register_model made
            if name in _REGISTRY.models and _REGISTRY.models[name].spec.builder is builder:
                return builder
            models = (*known[0].models, spec)
            _REGISTRY.remove(family)
        register_family(Family(family, models=models), f"register_model({name!r})")
        return builder

    return decorate
