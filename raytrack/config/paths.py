"""Paths into the experiment: YAML locations, pydantic error locations and search keys.

A location is a tuple of keys and list indices (``("search", "train.optimizer.lr", "low")``);
:func:`format_path` writes it for people (``search.train.optimizer.lr.low``, ``data.split[2]``).

A search key names one setting. :func:`resolve_search_key` turns it into a :class:`Target`: its
canonical dotted path from the experiment's root, what kind of setting it is and the type its
values must have. Nothing here imports torch or ray.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from raytrack.config.schema import Experiment, Section
from raytrack.suggest import unknown_message

Loc = tuple[str | int, ...]

SEARCHABLE_ROOTS = ("model", "data", "train")
"""Top-level sections whose settings a sweep may search (``model`` only below ``hparams``)."""


def format_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def set_path(data: dict[str, Any], parts: tuple[str, ...], value: Any) -> bool:
    """Set ``value`` at ``parts`` in nested mappings, creating missing ones; ``False`` (and
    nothing set) when a parent on the way is not a mapping."""
    node: Any = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return False
    node[parts[-1]] = value
    return True


# -- annotations -----------------------------------------------------------------------------


def strip(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` metadata and without ``Optional``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def field_annotation(field: FieldInfo) -> Any:
    """A pydantic field's type with its constraints (``Field(ge=1)``), for a ``TypeAdapter``."""
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def numeric_kind(annotation: Any) -> str | None:
    """``"int"`` or ``"float"`` for numeric annotations, ``"any"`` for untyped, else ``None``."""
    base = strip(annotation)
    if base in (Any, inspect.Parameter.empty):
        return "any"
    if base is int:
        return "int"
    if base is float:
        return "float"
    if typing.get_origin(base) in (Union, types.UnionType):
        kinds = {numeric_kind(a) for a in typing.get_args(base) if a is not type(None)}
        if kinds <= {"int", "float"} and kinds:
            return "float" if "float" in kinds else "int"
    return None


def keyword_list(annotation: Any) -> tuple[str, ...] | None:
    """The allowed keywords of a regime-like list (``tuple[Literal[...], ...]``), else ``None``."""
    base = strip(annotation)
    if typing.get_origin(base) not in (tuple, list):
        return None
    args = [a for a in typing.get_args(base) if a is not Ellipsis]
    if len(args) != 1 or typing.get_origin(strip(args[0])) is not Literal:
        return None
    return tuple(str(a) for a in typing.get_args(strip(args[0])))


def literal_choices(annotation: Any) -> list[Any] | None:
    base = strip(annotation)
    return list(typing.get_args(base)) if typing.get_origin(base) is Literal else None


def walk(annotation: Any, loc: Loc) -> tuple[Loc, Any]:
    """Follow a pydantic error location through ``annotation``.

    Returns the location without pydantic's union-member tags (``low.float`` → ``low``) and the
    annotation found at its end (``Any`` where the walk leaves the typed schema).
    """
    clean: list[str | int] = []
    current: Any = annotation
    for part in loc:
        base = strip(current)
        origin = typing.get_origin(base)
        if inspect.isclass(base) and issubclass(base, BaseModel):
            clean.append(part)
            field = base.model_fields.get(part) if isinstance(part, str) else None
            current = field.annotation if field is not None else Any
        elif origin is dict:
            clean.append(part)
            current = typing.get_args(base)[1]
        elif origin in (list, tuple) and isinstance(part, int):
            clean.append(part)
            args = [a for a in typing.get_args(base) if a is not Ellipsis]
            current = (
                args[part]
                if origin is tuple and len(args) > 1 and part < len(args)
                else (args[0] if args else Any)
            )
        elif base is Any or isinstance(part, int):
            clean.append(part)
            current = Any
        # else: a tag naming the union member (or scalar type) pydantic tried; not a key
    return tuple(clean), current


# -- search keys -----------------------------------------------------------------------------


class PathError(ValueError):
    """A search key that names no setting."""


@dataclass(frozen=True)
class Target:
    """The setting a search key reaches.

    ``kind``: ``schema`` (a field of the experiment schema), ``hparam`` (a model
    hyperparameter), ``toggle`` (one keyword of a regime-like hyperparameter list), ``option``
    (a ``data.options`` entry) or ``setting`` (a ``data.generate.settings`` entry).
    """

    canonical: str
    kind: str
    annotation: Any
    name: str = ""
    """The hyperparameter, option or setting name (``kind`` other than ``schema``)."""
    keyword: str = ""
    """The toggled keyword (``kind == "toggle"``)."""

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.canonical.split("."))


@dataclass(frozen=True)
class Namespaces:
    """The open mappings of one experiment: what ``model.hparams``, ``data.options`` and
    ``data.generate.settings`` accept. ``hparams`` is ``None`` while the model is unknown."""

    model: str
    hparams: dict[str, Any] | None  # name -> annotation
    options: type[BaseModel] | None
    settings: type[BaseModel] | None
    source: str | None = None
    """The data source whose settings ``settings`` is (``None`` while unknown)."""


def resolve_search_key(key: str, ns: Namespaces) -> Target | None:
    """The setting ``key`` names, or ``None`` when that depends on an unknown model.

    A bare name is a model hyperparameter; ``<list hparam>.<keyword>`` toggles one keyword of a
    regime-like list; any other dotted key is a path from the root. Raises :class:`PathError`.
    """
    parts = tuple(key.split("."))
    if any(not p for p in parts):
        raise PathError(f"{key!r} is not a dotted path (empty part)")
    if len(parts) == 1 or (ns.hparams is not None and parts[0] in ns.hparams and len(parts) == 2):
        return _hparam_target(parts, ns)
    return _schema_target(parts, ns)


def _hparam_target(parts: tuple[str, ...], ns: Namespaces) -> Target | None:
    if ns.hparams is None:
        return None
    if parts[0] not in ns.hparams:
        names = sorted(ns.hparams)
        raise PathError(
            unknown_message("hyperparameter", parts[0], names, f" of model {ns.model!r}")
        )
    name, annotation = parts[0], ns.hparams[parts[0]]
    canonical = "model.hparams." + ".".join(parts)
    if len(parts) == 1:
        return Target(canonical, "hparam", annotation, name)
    keywords = keyword_list(annotation)
    if keywords is None:
        raise PathError(
            f"{name!r} is not a keyword list, so {'.'.join(parts)!r} toggles nothing; "
            f"search {name!r} itself"
        )
    if parts[1] not in keywords:
        raise PathError(unknown_message(f"{name} keyword", parts[1], list(keywords)))
    return Target(canonical, "toggle", bool, name, parts[1])


def _schema_target(parts: tuple[str, ...], ns: Namespaces) -> Target | None:
    if parts[0] not in Experiment.model_fields:
        raise PathError(unknown_message("section", parts[0], list(Experiment.model_fields)))
    if parts[0] not in SEARCHABLE_ROOTS:
        raise PathError(
            f"{parts[0]!r} cannot be searched (only model hyperparameters and settings under "
            f"{', '.join(SEARCHABLE_ROOTS[1:])})"
        )
    model: type[Section] = Experiment
    keyed = False  # the part names an entry of a mapping of sections (train.optimizers.<name>)
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        rest = parts[depth + 1 :]
        if keyed:
            keyed = False
            if not rest:
                raise PathError(f"{here!r} is a section, not a setting; search one of its keys")
            continue
        if part not in model.model_fields:
            extra = getattr(model, "extra_annotation", None)
            annotation = extra(part) if extra is not None else None
            if annotation is not None and not rest:
                return Target(".".join(parts), "schema", annotation)
            raise PathError(
                unknown_message(
                    "key", part, list(model.model_fields), f" in {here.rpartition('.')[0]}"
                )
            )
        field = model.model_fields[part]
        if here == "model.hparams":
            if not 1 <= len(rest) <= 2:
                raise PathError(
                    "search one hyperparameter (model.hparams.<name>) or one keyword "
                    "of a keyword list (model.hparams.<name>.<keyword>)"
                )
            return _hparam_target(rest, ns)
        if here in ("data.options", "data.generate.settings"):
            return _open_target(here, rest, ns)
        if here == "model.name":
            raise PathError("the model cannot be searched: write one experiment file per model")
        if here == "data.source":
            raise PathError(
                "the data source cannot be searched: write one experiment file per source"
            )
        base = strip(field.annotation)
        if typing.get_origin(base) is dict:
            value = strip(typing.get_args(base)[1])
            if inspect.isclass(value) and issubclass(value, BaseModel) and rest:
                model, keyed = value, True
                continue
        if inspect.isclass(base) and issubclass(base, BaseModel):
            if not rest:
                raise PathError(
                    f"{here!r} is a section, not a setting; search one of its keys "
                    f"({', '.join(base.model_fields)})"
                )
            model = base
            continue
        if rest:
            raise PathError(
                f"{here!r} is a setting, not a section, so {'.'.join(parts)!r} names nothing"
            )
        return Target(".".join(parts), "schema", field_annotation(field))
    raise AssertionError("unreachable")


def _open_target(here: str, rest: tuple[str, ...], ns: Namespaces) -> Target | None:
    model = ns.options if here == "data.options" else ns.settings
    kind, what = (
        ("option", "data option")
        if here == "data.options"
        else ("setting", f"setting of data source {ns.source!r}")
    )
    if model is None:
        return None
    if len(rest) != 1:
        raise PathError(f"search one {what} at a time ({here}.<name>)")
    if rest[0] not in model.model_fields:
        raise PathError(unknown_message(what, rest[0], list(model.model_fields)))
    return Target(f"{here}.{rest[0]}", kind, field_annotation(model.model_fields[rest[0]]), rest[0])


def model_namespaces(
    model: str, *, plugins: tuple[str, ...] | list[str] = (), source: str | None = None
) -> tuple[Namespaces, Any]:
    """The namespaces of a registered model and its registry entry (imports torch).

    ``source`` is the experiment's ``data.source`` (default: the model's first source), whose
    settings model is what ``data.generate.settings`` accepts. Raises ``KeyError`` with the
    registry's message (close matches, every choice) for an unknown model or source, and
    ``ImportError`` for a plug-in that cannot be imported.
    """
    from raytrack.registry import get_model, get_source

    entry = get_model(model, plugins)
    hparams = {name: hp.annotation for name, hp in entry.hyperparameters().items()}
    source = source or (entry.spec.sources[0] if entry.spec.sources else None)
    settings = get_source(source).settings_model() if source is not None else None
    return Namespaces(model, hparams, entry.task.Options, settings, source), entry


def experiment_namespaces(exp: Any) -> tuple[Namespaces, Any]:
    """:func:`model_namespaces` of a validated experiment (its plug-ins and data source)."""
    return model_namespaces(exp.model.name, plugins=exp.plugins, source=exp.data.source)
