"""W&B sweep files to raytrack experiments and back (pure translation: no Ray, no wandb).

A W&B sweep file (https://docs.wandb.ai/models/sweeps/sweep-config-keys) names a ``method``, a
``metric``, ``parameters`` and optionally ``early_terminate`` and ``run_cap``. In raytrack terms:

=====================================  =======================================================
W&B                                    raytrack
=====================================  =======================================================
``method: bayes | random | grid``      ``tune.searcher: optuna (TPE) | random | grid``
``metric: {name, goal}``               ``tune.metric``, ``tune.mode`` (minimize → min)
``run_cap``                            ``tune.num_samples`` (grid: each combination once)
``name``, ``description``              the experiment's ``name`` and ``description``
``project``, ``entity``                ``logging.wandb.project``, ``logging.wandb.entity``
``early_terminate: hyperband``         ASHA: ``grace_period = min_iter`` (or ``max_iter / eta**s``),
                                       ``reduction_factor = eta`` (W&B's default 3),
                                       ``max_t = max_iter``; none: FIFO
``values`` (categorical)               ``{choices: [...]}`` (``{grid: [...]}`` for grid)
``value`` (constant)                   a fixed setting (``hidden`` → ``model.hparams.hidden``)
``int_uniform``, ``uniform``           ``{type: int | float, low, high}``
``log_uniform_values``                 ``{type: float, low, high, log: true}``
``log_uniform`` (bounds are ln)        the same, with ``low = e**min``, ``high = e**max``
``q_uniform``, ``q_log_uniform[_values]``  ``{low, high, step: q}`` (and ``log``); integer when
                                       ``min``, ``max`` and ``q`` are integers
nested ``parameters``                  dotted keys (``train: {parameters: {batch_size: ...}}``
                                       → ``train.batch_size``)
=====================================  =======================================================

Parameter keys are raytrack search keys as they are (bare hyperparameter names, toggles such
as ``regime.pid``, dotted paths from the root); an export writes canonical paths
(``model.hparams.hidden``), the names loggers give the trial's flattened config. What one side
cannot express is returned as :class:`Untranslated` items, never dropped without a word.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from raytrack.config.paths import set_path
from raytrack.config.schema import Experiment
from raytrack.suggest import unknown_message

SEARCHER_OF_METHOD = {"bayes": "optuna", "random": "random", "grid": "grid"}
METHOD_OF_SEARCHER = {searcher: method for method, searcher in SEARCHER_OF_METHOD.items()}
MODE_OF_GOAL = {"minimize": "min", "maximize": "max"}
GOAL_OF_MODE = {mode: goal for goal, mode in MODE_OF_GOAL.items()}
NAME_PATTERN = Experiment.model_fields["name"].metadata[0].pattern
W_AND_B_ETA = 3
"""W&B's hyperband ``eta`` when the file gives none."""

NO_EQUIVALENT = ("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta",
                 "inv_log_uniform", "inv_log_uniform_values")  # fmt: skip
RANGES = ("int_uniform", "uniform", "log_uniform_values", "log_uniform", "q_uniform",
          "q_log_uniform_values", "q_log_uniform")  # fmt: skip
LEFT_TO_W_AND_B = ("program", "command", "controller", "job", "image_uri", "apiVersion", "kind",
                   "scheduler", "metrics")  # fmt: skip
"""Top-level keys about how W&B launches runs; raytrack launches its trials itself."""


@dataclass(frozen=True)
class Untranslated:
    """One thing of a sweep file (or experiment) the other side cannot express exactly."""

    key: str
    """Where it is: ``parameters.momentum``, ``early_terminate.strict``, ``tune.seed``."""
    reason: str

    def format(self) -> str:
        return f"{self.key}: {self.reason}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: float) -> float:
    """``e**ln(1e-4)`` is 1.0000000000000009e-04; 12 significant digits are what was meant."""
    return float(f"{value:.12g}")


# -- W&B → raytrack --------------------------------------------------------------------------


def flatten_parameters(parameters: Any, prefix: str = "") -> dict[str, Any]:
    """Nested ``parameters`` (``{train: {parameters: {...}}}``) as dotted keys."""
    flat: dict[str, Any] = {}
    for name, spec in (parameters or {}).items():
        key = f"{prefix}{name}"
        if isinstance(spec, Mapping) and set(spec) == {"parameters"}:
            flat.update(flatten_parameters(spec["parameters"], key + "."))
        else:
            flat[key] = spec
    return flat


def search_entry(key: str, spec: Any, method: str, notes: list[Untranslated]) -> Any:
    """The raytrack form of one W&B parameter: ``("search", entry)``, ``("fixed", value)`` or
    ``None`` (then a note says why)."""
    where = f"parameters.{key}"
    if not isinstance(spec, Mapping):
        notes.append(Untranslated(where, f"a parameter is a mapping (value, values, min/max, ...), "
                                         f"got {spec!r}"))  # fmt: skip
        return None
    dist = spec.get("distribution") or (
        "constant" if "value" in spec
        else "categorical" if "values" in spec
        else "int_uniform" if _is_int(spec.get("min")) and _is_int(spec.get("max"))
        else "uniform"
    )  # fmt: skip
    extra = sorted(set(spec) - _keys_of(dist) - {"distribution"})
    if extra and dist not in NO_EQUIVALENT:
        notes.append(Untranslated(where, f"key(s) {', '.join(map(str, extra))} do not belong to "
                                         f"distribution {dist}; not searched"))  # fmt: skip
        return None
    if dist == "constant" and "value" in spec:
        return "fixed", spec["value"]
    if dist in ("categorical", "categorical_w_probabilities") and spec.get("values"):
        if dist == "categorical_w_probabilities":
            notes.append(Untranslated(f"{where}.probabilities", "raytrack samples choices "
                                      "uniformly; the probabilities are not kept"))  # fmt: skip
        values = list(spec["values"])
        return "search", ({"grid": values} if method == "grid" else {"choices": values})
    if dist in NO_EQUIVALENT:
        notes.append(Untranslated(where, f"distribution {dist} has no raytrack equivalent "
                                         "(ranges are uniform or log-uniform); not searched"))  # fmt: skip
        return None
    if dist not in RANGES or not (_number(spec.get("min")) and _number(spec.get("max"))):
        what = f"distribution {dist!r}" if dist not in RANGES else "a range without numeric min/max"
        notes.append(Untranslated(where, f"{what} cannot be translated; not searched"))
        return None
    return _range_entry(where, spec, dist, method, notes)


def _keys_of(dist: str) -> set[str]:
    """The keys a W&B parameter of distribution ``dist`` may have (W&B's schema)."""
    if dist in ("constant", "categorical", "categorical_w_probabilities"):
        return {"constant": {"value"}, "categorical": {"values"}}.get(
            dist, {"values", "probabilities"}
        )
    return {"min", "max", "q"} if dist.startswith("q_") else {"min", "max"}


def _range_entry(where: str, spec: Mapping[str, Any], dist: str, method: str,
                 notes: list[Untranslated]) -> Any:  # fmt: skip
    low, high = spec["min"], spec["max"]
    if dist in ("log_uniform", "q_log_uniform"):
        low, high = _short(math.exp(low)), _short(math.exp(high))
    step = spec.get("q", 1) if dist.startswith("q_") else None
    if dist == "int_uniform":
        if not (_is_int(low) and _is_int(high)):
            notes.append(Untranslated(where, "int_uniform needs integer min and max"))
            return None
        kind = "int"
    elif step is not None:
        kind = "int" if _is_int(low) and _is_int(high) and _is_int(step) else "float"
    else:
        kind = "float"
    if kind == "float":
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    elif step == 1:
        step = None
    entry: dict[str, Any] = {"type": kind, "low": low, "high": high}
    if "log" in dist:
        entry["log"] = True
    if step is not None:
        entry["step"] = step
    if method != "grid":
        return "search", entry
    if kind == "int" and "log" not in entry:
        return "search", {"grid": list(range(low, high + 1, step or 1))}
    if step is not None and "log" not in entry:
        count = int(round((high - low) / step))
        return "search", {"grid": [_short(low + i * step) for i in range(count + 1)]}
    notes.append(Untranslated(where, f"grid search cannot try every value of {dist}; give values"))
    return None


def set_fixed(data: dict[str, Any], key: str, value: Any, notes: list[Untranslated]) -> None:
    """Write a W&B constant into the experiment mapping under the setting ``key`` names."""
    parts = key.split(".")
    if parts[:2] == ["model", "hparams"] and len(parts) == 4:
        parts = parts[2:]  # a toggle by its canonical path
    elif parts[:2] == ["model", "hparams"] and len(parts) == 3:
        parts = parts[2:]
    if len(parts) == 1:
        set_path(data, ("model", "hparams", parts[0]), value)
    elif parts[0] in Experiment.model_fields or len(parts) != 2:
        if not set_path(data, tuple(parts), value):
            notes.append(Untranslated(f"parameters.{key}", "a parent of this key is not a mapping"))
    else:  # <keyword list>.<keyword>: add the keyword to the fixed list or remove it
        hparams = data.setdefault("model", {}).setdefault("hparams", {})
        current = hparams.get(parts[0])
        if not isinstance(current, list) or not isinstance(value, bool):
            notes.append(Untranslated(f"parameters.{key}", f"a constant toggle needs a true/false "
                                      f"value and model.hparams.{parts[0]} as a list in the base"))  # fmt: skip
            return
        kept = [k for k in current if k != parts[1]]
        hparams[parts[0]] = kept + [parts[1]] if value else kept


def scheduler_section(early: Any, base: Mapping[str, Any], notes: list[Untranslated]) -> dict:
    """``tune.scheduler`` from ``early_terminate`` (none: FIFO)."""
    if early is None:
        return {"name": "fifo"}
    if not isinstance(early, Mapping) or early.get("type") != "hyperband":
        notes.append(Untranslated("early_terminate", "only type hyperband translates (to ASHA); "
                                                     "trials run to the end (FIFO)"))  # fmt: skip
        return {"name": "fifo"}
    for key in sorted(set(early) - {"type", "min_iter", "max_iter", "s", "eta"}):
        reason = ("ASHA stops by rung ranking only (W&B's stricter rule has no equivalent)"
                  if key == "strict" else "unknown key")  # fmt: skip
        notes.append(Untranslated(f"early_terminate.{key}", reason))
    eta = early.get("eta", W_AND_B_ETA)
    min_iter, max_iter, s = early.get("min_iter"), early.get("max_iter"), early.get("s")
    section = {**base, "name": "asha", "reduction_factor": eta}
    if max_iter is not None:
        section["max_t"] = max_iter
    if min_iter is not None:
        section["grace_period"] = min_iter
        if s is not None and (max_iter is None or max_iter != min_iter * eta**s):
            notes.append(Untranslated("early_terminate.s", "ASHA's rungs follow from min_iter, eta "
                                      "and max_iter (rungs at min_iter * eta**k); s not used"))  # fmt: skip
    elif max_iter is not None and s is not None:
        section["grace_period"] = max(1, int(max_iter / eta**s))
    else:
        notes.append(Untranslated("early_terminate", "hyperband needs min_iter, or max_iter and s"))
    return section


def import_sweep(sweep: Any, base: Mapping[str, Any]) -> tuple[dict[str, Any], list[Untranslated]]:
    """The experiment mapping ``base`` with the sweep's search space, searcher, metric, scheduler
    and sample count (its other ``tune`` settings kept) and the sweep's constants set.

    Raises ``ValueError`` for a file that is not a sweep (no mapping, unknown ``method`` or
    ``metric.goal``); everything else it cannot translate is in the returned list.
    """
    if not isinstance(sweep, Mapping) or not isinstance(base, Mapping):
        raise ValueError("a W&B sweep file and its base experiment are YAML mappings")
    method = sweep.get("method")
    if method not in SEARCHER_OF_METHOD:
        raise ValueError(unknown_message("method", method, list(SEARCHER_OF_METHOD)))
    notes: list[Untranslated] = []
    data = copy.deepcopy(dict(base))
    tune = dict(data.get("tune") or {})
    tune["searcher"] = SEARCHER_OF_METHOD[method]
    _metric(sweep.get("metric"), tune, notes)
    search: dict[str, Any] = {}
    for key, spec in flatten_parameters(sweep.get("parameters")).items():
        translated = search_entry(key, spec, method, notes)
        if translated is not None and translated[0] == "search":
            search[key] = translated[1]
        elif translated is not None:
            set_fixed(data, key, translated[1], notes)
    scheduler = scheduler_section(sweep.get("early_terminate"), tune.get("scheduler") or {}, notes)
    tune["scheduler"] = scheduler
    if method == "grid":
        tune["num_samples"] = 1
        if "run_cap" in sweep:
            notes.append(Untranslated("run_cap", "raytrack's grid search tries every combination"))
    elif "run_cap" in sweep:
        tune["num_samples"] = sweep["run_cap"]
    else:
        notes.append(Untranslated("run_cap", f"none given (W&B runs until stopped); kept "
                                             f"tune.num_samples {tune.get('num_samples', 1)}"))  # fmt: skip
    for key in ("entity", "project"):
        if key in sweep:
            set_path(data, ("logging", "wandb", key), sweep[key])
    if "description" in sweep:
        data["description"] = sweep["description"]
    if "name" in sweep and re.fullmatch(NAME_PATTERN, str(sweep["name"])):
        data["name"] = sweep["name"]  # the sweep directory's name, as W&B's sweep name
    elif "name" in sweep:
        notes.append(Untranslated("name", f"not an experiment name ({NAME_PATTERN}); kept "
                                          f"{data.get('name')!r}"))  # fmt: skip
    for key in sweep:
        if key in LEFT_TO_W_AND_B:
            notes.append(Untranslated(key, "raytrack runs its trials itself (`raytrack tune`)"))
        elif key not in ("method", "metric", "parameters", "early_terminate", "run_cap", "name",
                         "entity", "project", "description"):  # fmt: skip
            notes.append(Untranslated(key, "unknown top-level key of a W&B sweep"))
    data["search"], data["tune"] = search, tune
    return data, notes


def _metric(metric: Any, tune: dict[str, Any], notes: list[Untranslated]) -> None:
    if metric is None:
        notes.append(Untranslated("metric", f"none given; kept tune.metric "
                                            f"{tune.get('metric', 'val_loss')!r}"))  # fmt: skip
        return
    if not isinstance(metric, Mapping) or "name" not in metric:
        raise ValueError(f"metric is a mapping with a name and a goal, got {metric!r}")
    goal = metric.get("goal", "minimize")
    if goal not in MODE_OF_GOAL:
        raise ValueError(unknown_message("metric.goal", goal, list(MODE_OF_GOAL)))
    tune["metric"], tune["mode"] = metric["name"], MODE_OF_GOAL[goal]
    for key in sorted(set(metric) - {"name", "goal"}):
        notes.append(Untranslated(f"metric.{key}", "no raytrack equivalent"))


# -- raytrack → W&B --------------------------------------------------------------------------


def parameter_of(spec: Any, method: str, where: str, notes: list[Untranslated]) -> dict:
    """The W&B parameter sampling what the checked search entry ``spec`` samples."""
    if spec.kind in ("choice", "grid"):
        if spec.kind == "grid" and method != "grid":
            notes.append(Untranslated(where, "W&B's random search samples grid values instead "
                                             "of trying each (only its grid method tries all)"))  # fmt: skip
        return {"values": list(spec.values)}
    bounds = {"min": spec.low, "max": spec.high}
    if spec.kind == "int" and (spec.log or spec.step):
        name = "q_log_uniform_values" if spec.log else "q_uniform"
        return {"distribution": name, **bounds, "q": spec.step or 1}
    if spec.kind == "int":
        return {"distribution": "int_uniform", **bounds}
    if spec.step:
        name = "q_log_uniform_values" if spec.log else "q_uniform"
        return {"distribution": name, **bounds, "q": spec.step}
    return {"distribution": "log_uniform_values" if spec.log else "uniform", **bounds}


def export_sweep(exp: Experiment) -> tuple[dict[str, Any], list[Untranslated]]:
    """The W&B sweep of a validated experiment, and what W&B cannot express of it.

    Parameters are keyed by canonical path; the fixed model hyperparameters and
    ``train.max_epochs`` go along as constants (``value``), so the sweep page shows them and an
    import restores them. No ``program`` or ``command``: raytrack launches its trials itself
    (``raytrack tune``), a W&B agent has nothing to run. (Imports the model registry.)
    """
    from raytrack.config.search import searched

    notes: list[Untranslated] = []
    tune = exp.tune
    method = METHOD_OF_SEARCHER[tune.searcher]
    sweep: dict[str, Any] = {"name": exp.name}
    if exp.description:
        sweep["description"] = exp.description
    sweep["method"] = method
    sweep["metric"] = {"name": tune.metric, "goal": GOAL_OF_MODE[tune.mode]}
    parameters: dict[str, Any] = {}
    for key, target, spec in searched(exp):
        where = f"search.{key}"
        parameters[target.canonical] = parameter_of(spec, method, where, notes)
    for name, value in exp.model.hparams.items():
        parameters.setdefault(f"model.hparams.{name}", {"value": value})
    parameters.setdefault("train.max_epochs", {"value": exp.train.max_epochs})
    sweep["parameters"] = parameters
    if tune.scheduler.name == "asha":
        sweep["early_terminate"] = _hyperband(tune.scheduler, notes)
    if method == "grid" and tune.num_samples > 1:
        notes.append(Untranslated("tune.num_samples", "W&B's grid runs each combination once, "
                                  f"raytrack's {tune.num_samples} times"))  # fmt: skip
    elif method != "grid":
        sweep["run_cap"] = tune.num_samples
    if tune.searcher == "optuna":
        notes.append(Untranslated("tune.searcher", "optuna (TPE) exported as W&B's bayes "
                                                   "(a Gaussian process): same space, other sampler"))  # fmt: skip
    for key in ("seed", "max_concurrent_trials", "time_budget_s"):
        if getattr(tune, key) is not None:
            notes.append(Untranslated(f"tune.{key}", "a W&B sweep file has no such setting"))
    sweep["project"] = exp.logging.wandb.project
    if exp.logging.wandb.entity:
        sweep["entity"] = exp.logging.wandb.entity
    return sweep, notes


def _hyperband(scheduler: Any, notes: list[Untranslated]) -> dict[str, Any]:
    """W&B hyperband stopping at ASHA's rungs: ``min_iter * eta**k``. With ``max_iter``, W&B
    places the rungs at ``max_iter / eta**i`` (i = 1..s), so ``max_iter`` goes along only when
    it is ``grace_period * eta**s`` for a whole ``s``."""
    grace, eta, max_t = scheduler.grace_period, scheduler.reduction_factor, scheduler.max_t
    eta = int(eta) if float(eta).is_integer() else eta
    early: dict[str, Any] = {"type": "hyperband", "min_iter": grace, "eta": eta}
    if scheduler.brackets > 1:
        notes.append(Untranslated("tune.scheduler.brackets", "W&B's hyperband has one bracket"))
    if max_t is not None:
        s = round(math.log(max_t / grace, eta)) if max_t > grace else 0
        if s >= 1 and math.isclose(grace * eta**s, max_t):
            early.update(max_iter=max_t, s=s)
        else:
            notes.append(Untranslated("tune.scheduler.max_t", f"{max_t} is not grace_period * "
                                      "reduction_factor**s; W&B cannot place ASHA's top rung"))  # fmt: skip
    return early
