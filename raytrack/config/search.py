"""The search grammar and its translation to Ray Tune domains.

One entry of the experiment's ``search`` section is a :class:`~raytrack.config.schema.SearchParam`:

- ``{low, high}`` (optionally ``log``, ``step``): a range; integer when the setting is an
  integer (or, for untyped settings, when both bounds are integers), else float. ``high`` is
  included for integers. With ``step``, the values are the multiples of ``step`` from ``low``
  to ``high`` (both must be multiples of ``step``: Ray samples multiples of ``step``, Optuna
  ``low + k * step``, and the two agree only then).
- ``{choices: [...]}``: categorical; a choice may be a list (a regime) or a mapping.
- ``{grid: [...]}``: every value is tried (searchers ``random`` and ``grid``).

Ray's OptunaSearch hands categorical choices to Optuna, which stores only ``None``, bools,
numbers and strings; a list or mapping choice travels as its JSON text (:func:`encode_choice`)
and :func:`raytrack.config.resolve.apply_trial_config` decodes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from raytrack.config.paths import (
    Loc,
    Target,
    experiment_namespaces,
    numeric_kind,
    resolve_search_key,
)
from raytrack.config.schema import Experiment, SearchParam

Issue = tuple[Loc, str]
"""A problem inside one search entry: its location below the entry and the message."""


@dataclass(frozen=True)
class Spec:
    """A checked search entry."""

    kind: str  # "float" | "int" | "choice" | "grid"
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    values: tuple[Any, ...] = ()

    def samples(self) -> list[tuple[Loc, Any]]:
        """The values to check against the setting's type: both bounds, or every value."""
        if self.kind in ("float", "int"):
            return [(("low",), self.low), (("high",), self.high)]
        field = "choices" if self.kind == "choice" else "grid"
        return [((field, i), value) for i, value in enumerate(self.values)]

    def describe(self) -> str:
        if self.kind in ("float", "int"):
            extra = (" log" if self.log else "") + (f" step {self.step}" if self.step else "")
            return f"{self.kind} [{self.low}, {self.high}]{extra}"
        return f"{self.kind} of {len(self.values)}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _on_grid(value: float, step: float) -> bool:
    return math.isclose(value / step, round(value / step), rel_tol=1e-9, abs_tol=1e-9)


def parse_param(
    param: SearchParam, target: Target, searcher: str
) -> tuple[Spec | None, list[Issue]]:
    """Check one search entry's grammar against its setting; ``(spec, [])`` when it is sound."""
    # What the entry gives, by value (not by pydantic's fields-set, which a dump and reload
    # of the experiment fills with every field).
    given = {k for k in ("low", "high", "step", "choices", "grid") if getattr(param, k) is not None}
    if param.log:
        given.add("log")
    forms = [
        name
        for name, keys in (
            ("low/high", {"low", "high", "step", "log"}),
            ("choices", {"choices"}),
            ("grid", {"grid"}),
        )
        if given & keys
    ]
    if not forms:
        return None, [((), "nothing to search: give low and high (a range), choices or grid")]
    if len(forms) > 1:
        return None, [((), f"give one of low/high, choices or grid, not {' and '.join(forms)}")]
    form = forms[0]
    if param.type is not None:
        wanted = {"float": "low/high", "int": "low/high", "choice": "choices", "grid": "grid"}[
            param.type
        ]
        if wanted != form:
            return None, [(("type",), f"type {param.type} needs {wanted}, but {form} is given")]
    if form == "choices":
        return _listed("choice", param.choices)
    if form == "grid":
        if searcher == "optuna":
            return None, [
                (
                    ("grid",),
                    "tune.searcher optuna cannot run a grid (Ray's OptunaSearch "
                    "samples); use searcher random or grid, or give choices",
                )
            ]
        return _listed("grid", param.grid)
    return _range(param, target, searcher)


def _listed(kind: str, values: list[Any] | None) -> tuple[Spec | None, list[Issue]]:
    field = "choices" if kind == "choice" else "grid"
    if not values:
        return None, [((field,), f"{field} is empty: give at least one value")]
    return Spec(kind, values=tuple(values)), []


def _range(param: SearchParam, target: Target, searcher: str) -> tuple[Spec | None, list[Issue]]:
    low, high, step = param.low, param.high, param.step
    missing = [name for name, value in (("low", low), ("high", high)) if value is None]
    if missing:
        return None, [((), f"a range needs low and high (missing {' and '.join(missing)})")]
    setting = numeric_kind(target.annotation)
    if setting is None:
        return None, [((), f"{target.canonical} is not a number: search it with choices or grid")]
    kind = param.type or (
        setting if setting != "any" else ("int" if _is_int(low) and _is_int(high) else "float")
    )
    if setting == "int" and kind == "float":
        return None, [
            (("type",), f"wrong type: {target.canonical} is an integer, but type is float")
        ]
    issues: list[Issue] = []
    if kind == "int":
        for name, value in (("low", low), ("high", high), ("step", step)):
            if value is not None and not _is_int(value):
                issues.append(
                    (
                        (name,),
                        f"wrong type: {target.canonical} is an integer, but {name} is {value!r}",
                    )
                )
        if issues:
            return None, issues
    else:
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    for name, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and not math.isfinite(value):
            issues.append(((name,), f"{name} must be a finite number, but {name} is {value}"))
    if issues:
        return None, issues
    if low >= high:
        issues.append(((), f"low ({low}) must be below high ({high})"))
    if param.log and low <= 0:
        issues.append((("low",), f"a log range needs low > 0, but low is {low}"))
    if step is not None:
        if step <= 0:
            issues.append((("step",), f"step must be positive, but step is {step}"))
        elif low < high and step > high - low:
            issues.append((("step",), f"step ({step}) is larger than the range [{low}, {high}]"))
        elif not (_on_grid(low, step) and _on_grid(high, step)):
            issues.append(
                (
                    ("step",),
                    f"low ({low}) and high ({high}) must be multiples of step ({step}): "
                    "Ray samples the multiples of step",
                )
            )
        if param.log and searcher == "optuna":
            issues.append(
                (("step",), "Optuna cannot sample a log range with a step; drop step or log")
            )
    if kind == "int" and step == 1:
        step = None
    return (None, issues) if issues else (Spec(kind, low, high, param.log, step), [])


# -- Ray Tune ---------------------------------------------------------------------------------


def encode_choice(value: Any) -> Any:
    """A choice as Optuna can store it: lists and mappings as their JSON text."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(", ", ": "), sort_keys=True)
    return value


def tune_domain(spec: Spec) -> Any:
    """The Ray Tune domain sampling ``spec`` (integer ranges include ``high``)."""
    from ray import tune

    if spec.kind == "choice":
        return tune.choice([encode_choice(v) for v in spec.values])
    if spec.kind == "grid":
        return tune.grid_search([encode_choice(v) for v in spec.values])
    if spec.kind == "float":
        if spec.step:
            sample = tune.qloguniform if spec.log else tune.quniform
            return sample(spec.low, spec.high, spec.step)
        return (tune.loguniform if spec.log else tune.uniform)(spec.low, spec.high)
    if spec.step:  # quantized integers: Ray includes high
        return (tune.qlograndint if spec.log else tune.qrandint)(spec.low, spec.high, spec.step)
    # Ray's randint/lograndint exclude their upper bound
    return (tune.lograndint if spec.log else tune.randint)(spec.low, spec.high + 1)


def searched(exp: Experiment) -> list[tuple[str, Target, Spec]]:
    """Each search entry of a validated experiment: key, setting reached and checked spec."""
    ns, _ = experiment_namespaces(exp)
    out = []
    for key, param in exp.search.items():
        target = resolve_search_key(key, ns)
        spec, issues = parse_param(param, target, exp.tune.searcher) if target else (None, [])
        if spec is None:  # validate_experiment rejects these
            raise ValueError(f"search.{key} is invalid ({issues}); validate the experiment first")
        out.append((key, target, spec))
    return out


def search_keys(exp: Experiment) -> dict[str, str]:
    """Each search key → the canonical dotted path of the setting it searches."""
    return {key: target.canonical for key, target, _ in searched(exp)}


def epoch_budget(exp: Experiment) -> int:
    """ASHA's top rung and a trial's full length: ``tune.scheduler.max_t`` if set, else the
    largest ``train.max_epochs`` a trial can get (the searched maximum when it is searched)."""
    if exp.tune.scheduler.max_t is not None:
        return exp.tune.scheduler.max_t
    for _, target, spec in searched(exp):
        if target.canonical == "train.max_epochs":
            return int(max(value for _, value in spec.samples()))
    return exp.train.max_epochs


def trial_epochs(exp: Experiment, config: dict[str, Any]) -> int:
    """How many epochs a trial with Ray Tune ``config`` runs unless the scheduler stops it."""
    epochs = int(config.get("train.max_epochs", exp.train.max_epochs))
    max_t = exp.tune.scheduler.max_t
    if exp.tune.scheduler.name == "asha" and max_t is not None:
        return min(epochs, max_t)
    return epochs


def tune_search_space(exp: Experiment) -> dict[str, Any]:
    """Ray Tune's ``param_space`` for the search, keyed by canonical path (imports ray)."""
    return {target.canonical: tune_domain(spec) for _, target, spec in searched(exp)}
