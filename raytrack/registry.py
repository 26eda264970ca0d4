"""The model registry: names in experiment files → a builder and the family's task.

A builder is a plain function (or class) whose keyword arguments are the model's
hyperparameters, annotated with their types (``Literal[...]`` for choices, ``Annotated[int,
Field(ge=1)]`` for bounds). The registry never passes a config object to a model: it splits a
flat hyperparameter mapping between the builder and the task by their signatures, and
:mod:`raytrack.config` validates values against the same annotations.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from torch import nn

from raytrack.config.paths import unknown_message
from raytrack.tasks.base import Task


@dataclass(frozen=True)
class Hyperparameter:
    """One keyword argument of a builder or a task."""

    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    owner: str  # "model" or "task"

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, its task class and the family it belongs to."""

    name: str
    family: str
    builder: Callable[..., nn.Module]
    task: type[Task]
    description: str = ""

    def hyperparameters(self) -> dict[str, Hyperparameter]:
        """Every settable hyperparameter, the builder's first, then the task's."""
        found: dict[str, Hyperparameter] = {}
        for owner, target in (("model", self.builder), ("task", self.task)):
            for param in _keyword_parameters(target):
                if param.name not in found:
                    found[param.name] = Hyperparameter(
                        param.name, param.annotation, param.default, owner
                    )
        return found

    def split(self, hparams: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split ``hparams`` into builder and task keyword arguments (a name may go to both).

        Raises ``KeyError`` naming every hyperparameter neither accepts: none is dropped.
        """
        model_names = {p.name for p in _keyword_parameters(self.builder)}
        task_names = {p.name for p in _keyword_parameters(self.task)}
        unknown = sorted(set(hparams) - model_names - task_names)
        if unknown:
            raise KeyError(f"model {self.name!r} has no hyperparameter(s) {unknown}")
        model_kwargs = {k: v for k, v in hparams.items() if k in model_names}
        task_kwargs = {k: v for k, v in hparams.items() if k in task_names}
        return model_kwargs, task_kwargs

    def build(
        self, hparams: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> tuple[nn.Module, Task]:
        """Build the model and its task; ``options`` are the experiment's ``data.options``."""
        model_kwargs, task_kwargs = self.split(hparams)
        task = self.task(**task_kwargs)
        task.options = self.task.Options.model_validate(dict(options or {}))
        return self.builder(**model_kwargs), task


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, *, family: str, task: type[Task], description: str = ""
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under ``name``."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(name, family, builder, task, description)
        return builder

    return decorate


def _load_families() -> None:
    # Importing a family package registers its models.
    import raytrack.families.exatrkx  # noqa: F401


def model_names() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def iter_models() -> Iterator[ModelEntry]:
    _load_families()
    return iter(_REGISTRY[name] for name in sorted(_REGISTRY))


def get_model(name: str) -> ModelEntry:
    """Resolve a model name; a miss lists close matches and every valid choice."""
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(unknown_message("model", name, sorted(_REGISTRY))) from None


def _keyword_parameters(target: Callable[..., Any]) -> list[inspect.Parameter]:
    func = target.__init__ if inspect.isclass(target) else target
    params = list(inspect.signature(func, eval_str=True).parameters.values())
    if inspect.isclass(target):
        params = params[1:]  # self
    return [
        p
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
