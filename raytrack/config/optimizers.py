"""The optimizer table and ``train.optimizer``: a ``torch.optim`` class and its keyword arguments.

An optimizer section takes ``name``, ``lr``, ``weight_decay`` (0 for every optimizer, as raytrack
has always passed it) and any other keyword argument of its ``torch.optim`` class, checked
against the class's signature, typed from it and range-checked by building the class once. This
check imports torch; nothing else in the config does.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from raytrack.config.sections import Problems, Section, raise_problems
from raytrack.suggest import unknown_message

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
