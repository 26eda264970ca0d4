"""Validate an experiment completely and report every problem at once, each with its YAML path.

Beyond the schema (unknown keys, types, bounds), the checks that need the model: its name,
its hyperparameters (names, types, bounds, regime keywords, required ones), the task's dataset
options and metrics; the simulation settings; every search entry (its grammar, and each bound,
choice or grid value against the setting it searches); and the tuner's settings against the
training ones. Only the model lookup imports torch; nothing here imports ray.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from raytrack.config.cross_checks import (
    allowed_metrics,
    frozen_module_problems,
    train_task_problems,
    tune_problems,
)
from raytrack.config.errors import ConfigError, Problem, pydantic_errors, pydantic_message
from raytrack.config.lookup import lookup
from raytrack.config.paths import (
    Loc,
    Namespaces,
    PathError,
    Target,
    field_annotation,
    format_path,
    keyword_list,
    resolve_search_key,
    set_path,
    strip,
    unknown_message,
)
from raytrack.config.schema import Experiment, SearchParam
from raytrack.config.search import Spec, parse_param
from raytrack.config.training import train_problems


def validate_experiment(
    raw: Any, *, source: str | None = None, lines: Mapping[str, int] | None = None
) -> Experiment:
    """Validate a parsed experiment file; raise :class:`ConfigError` listing every problem.

    ``lines`` maps dotted paths (as :func:`raytrack.config.paths.format_path` writes them) to
    line numbers; a problem gets the line of its path or of its nearest ancestor.
    """
    checker = _Checker(raw, lines or {})
    experiment = checker.run()
    if checker.problems or experiment is None:
        raise ConfigError(checker.problems, source)
    return experiment


class _Checker:
    def __init__(self, raw: Any, lines: Mapping[str, int]) -> None:
        self.raw = raw
        self.lines = lines
        self.problems: list[Problem] = []
        self.entry: Any = None

    def add(self, loc: Loc, message: str) -> None:
        line = next(
            (
                self.lines[p]
                for i in range(len(loc), -1, -1)
                if (p := format_path(loc[:i])) in self.lines
            ),
            None,
        )
        problem = Problem(format_path(loc), message, line)
        if problem not in self.problems:
            self.problems.append(problem)

    def setting(self, path: str) -> Any:
        """The schema setting at ``path`` validated on its own: its default when absent, ``None``
        when invalid (the schema pass reports why). Lets one bad key leave its siblings checked."""
        model: Any = Experiment
        for part in path.split("."):
            field = model.model_fields[part]
            model = strip(field.annotation)
        node: Any = self.raw
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None if field.is_required() else field.get_default(call_default_factory=True)
            node = node[part]
        try:
            return TypeAdapter(field_annotation(field)).validate_python(node)
        except ValidationError:
            return None

    def run(self) -> Experiment | None:
        if not isinstance(self.raw, Mapping):
            kind = "empty" if self.raw is None else f"a {type(self.raw).__name__}"
            what = "an experiment is a mapping of sections (name, model, data, ...)"
            self.add((), f"{what}, but this is {kind}")
            return None
        experiment = None
        try:
            experiment = Experiment.model_validate(self.raw)
        except ValidationError as err:
            for error in err.errors():
                self.add(*pydantic_message(error, Experiment))
        data = self.raw.get("data")
        generate = data.get("generate") if isinstance(data, Mapping) else None
        ns, entry, issues = lookup(
            self.setting("model.name"),
            self.setting("plugins"),
            self.setting("data.source"),
            generate,
        )
        for loc, message in issues:
            self.add(loc, message)
        fixed = self.setting("model.hparams")
        hparams = self.check_hparams(fixed, ns)
        options = self.setting("data.options")
        if ns.options is not None and options is not None:
            self.check_open(("data", "options"), ns.options, options)
        settings = self.setting("data.generate.settings")
        if settings is not None and generate and ns.settings is not None:
            self.check_open(("data", "generate", "settings"), ns.settings, settings)
        self.entry = entry
        specs = self.check_search(ns)
        if fixed is not None and entry is not None:
            self.check_required(entry, fixed, specs)
        searched = specs.get("train.max_epochs")
        epochs = [value for _, value in searched[1].samples()] if searched else None
        for loc, message in (
            *tune_problems(entry, self.setting, epochs),
            *train_task_problems(entry, self.setting),
            *frozen_module_problems(entry, self.setting),
        ):
            self.add(loc, message)
        if experiment is None or self.problems:
            return None
        model = experiment.model.model_copy(update={"hparams": hparams})
        return experiment.model_copy(update={"model": model})

    # -- model ------------------------------------------------------------------------------

    def hparam_issues(
        self, name: str, annotation: Any, value: Any, subject: str = ""
    ) -> list[tuple[Loc, str]]:
        not_finite = list(non_finite(value))
        if not_finite:
            return [
                (loc, f"{name} must hold finite numbers, but got {bad}") for loc, bad in not_finite
            ]
        keywords = keyword_list(annotation)
        if keywords is not None and isinstance(value, (list, tuple)):
            owner = f" for {subject}" if subject else ""
            unknown = [
                ((i,), unknown_message(f"{name} keyword", item, list(keywords), owner))
                for i, item in enumerate(value)
                if not isinstance(item, str) or item not in keywords
            ]
            if unknown:
                return unknown
        return pydantic_errors(annotation, value, subject)

    def check_hparams(self, fixed: Mapping[str, Any] | None, ns: Namespaces) -> dict[str, Any]:
        if fixed is None or ns.hparams is None:
            return {}
        coerced = {}
        for name, value in fixed.items():
            loc = ("model", "hparams", name)
            if name not in ns.hparams:
                self.add(
                    loc,
                    unknown_message(
                        "hyperparameter", name, sorted(ns.hparams), f" of model {ns.model!r}"
                    ),
                )
                continue
            issues = self.hparam_issues(name, ns.hparams[name], value)
            for sub, message in issues:
                self.add(loc + sub, message)
            if not issues:
                coerced[name] = TypeAdapter(ns.hparams[name]).validate_python(value)
        return coerced

    def check_required(
        self, entry: Any, fixed: Mapping[str, Any], specs: dict[str, tuple[Target, Spec]]
    ) -> None:
        searched = {
            target.name for target, _ in specs.values() if target.kind in ("hparam", "toggle")
        }
        for hp in entry.hyperparameters().values():
            if hp.required and hp.name not in fixed and hp.name not in searched:
                self.add(
                    ("model", "hparams"),
                    f"missing required hyperparameter {hp.name!r} of model {entry.name!r} "
                    f"(set it here or search it)",
                )

    def check_open(self, prefix: Loc, model: type[BaseModel], values: Mapping[str, Any]) -> None:
        for loc, message in pydantic_errors(model, dict(values)):
            self.add(prefix + loc, message)

    # -- search -----------------------------------------------------------------------------

    def check_search(self, ns: Namespaces) -> dict[str, tuple[Target, Spec]]:
        raw_search = self.raw.get("search")
        if not isinstance(raw_search, Mapping):
            return {}
        searcher = self.setting("tune.searcher") or "random"
        by_path: dict[str, tuple[Target, Spec]] = {}
        keys: dict[str, str] = {}
        for key, raw_param in raw_search.items():
            loc = ("search", key)
            try:
                param = SearchParam.model_validate(raw_param)
            except ValidationError:
                continue  # reported by the schema pass
            try:
                target = resolve_search_key(str(key), ns)
            except PathError as err:
                self.add(loc, str(err))
                continue
            if target is None:
                continue  # depends on the unknown model, already reported
            spec, issues = parse_param(param, target, searcher)
            for sub, message in issues:
                self.add(loc + sub, message)
            if spec is None:
                continue
            if searcher == "grid" and spec.kind != "grid":
                self.add(
                    loc,
                    f"tune.searcher grid tries grid values only, but this is a {spec.describe()}: "
                    f"give grid: [...] or use searcher random",
                )
            clash = keys.get(target.canonical) or next(
                (
                    keys[p]
                    for p in keys
                    if p.startswith(target.canonical + ".") or target.canonical.startswith(p + ".")
                ),
                None,
            )
            if clash is not None:
                self.add(loc, f"{target.canonical} is already searched by search.{clash}")
                continue
            bad = False
            for sub, value in spec.samples():
                for vloc, message in self.value_issues(target, value, ns):
                    self.add(loc + sub + vloc, message)
                    bad = True
            keys[target.canonical] = str(key)
            if not bad:
                by_path[target.canonical] = (target, spec)
        return by_path

    def value_issues(self, target: Target, value: Any, ns: Namespaces) -> list[tuple[Loc, str]]:
        """Why ``value`` cannot be the setting ``target`` (empty when it can)."""
        subject = target.canonical
        if target.kind == "hparam":
            return self.hparam_issues(target.name, target.annotation, value, subject)
        if target.kind == "toggle":
            return (
                []
                if isinstance(value, bool)
                else [((), f"wrong type for {subject}: a toggle is true or false, got {value!r}")]
            )
        if target.kind == "schema":
            root, data, parts = Experiment, self.raw, target.parts
        else:
            root = ns.options if target.kind == "option" else ns.settings
            data = self.setting(
                "data.options" if target.kind == "option" else "data.generate.settings"
            )
            if data is None:
                return []
            parts = (target.name,)
        substituted = copy.deepcopy(dict(data)) if isinstance(data, Mapping) else None
        if substituted is None or not set_path(substituted, parts, value):
            return []
        before = set(pydantic_errors(root, data, subject))
        after = pydantic_errors(root, substituted, subject)
        if not after and parts[0] == "train" and self.entry is not None:
            # valid on its own; the task may still not take it (e.g. an optimizer it lacks)
            trained = TypeAdapter(field_annotation(Experiment.model_fields["train"]))
            train = trained.validate_python(substituted.get("train", {}))
            after = [
                (("train", *loc), m)
                for loc, m in train_problems(
                    train,
                    self.entry.task,
                    allowed_metrics(self.entry),
                    self.entry.hyperparameters(),
                )  # fmt: skip
            ]
        found = []
        for loc, message in after:
            related = loc[: len(parts)] == parts or parts[: len(loc)] == loc
            if related and (loc, message) not in before:
                found.append((loc[len(parts) :], message))
        return found


def non_finite(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, float]]:
    """``(location, value)`` of every NaN or infinity in ``value`` (numbers, lists, mappings)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from non_finite(item, (*loc, i))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from non_finite(item, (*loc, key))
