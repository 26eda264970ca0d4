"""From a sweep's experiment to one trial's: set searched values, then validate again.

Ray hands a trial its sampled values keyed by canonical path (see
:func:`raytrack.config.search.tune_search_space`); :func:`apply_trial_config` writes them into
the experiment, :func:`fixed_experiment` makes the result a plain training run (for
``best.yaml``), and :func:`experiment_to_dict` gives its JSON-able form for loggers and files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from raytrack.config.errors import ConfigError, Problem
from raytrack.config.paths import (
    PathError,
    Target,
    experiment_namespaces,
    keyword_list,
    resolve_search_key,
    set_path,
)
from raytrack.config.schema import Experiment
from raytrack.config.validate import validate_experiment


def experiment_to_dict(exp: Experiment) -> dict[str, Any]:
    """The experiment as plain JSON-able data; search entries keep only the keys given."""
    data = exp.model_dump(mode="json")
    data["search"] = {
        key: param.model_dump(mode="json", exclude_defaults=True)
        for key, param in exp.search.items()
    }
    return data


def decode_value(value: Any, target: Target) -> Any:
    """A sampled value as the setting takes it.

    Numpy scalars become Python numbers, floats are cut to 12 significant digits, and a list or
    mapping choice comes back from the JSON text it travels as (see
    :func:`raytrack.config.search.encode_choice`) unless the setting takes that text itself.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value):
        value = float(f"{value:.12g}")  # quantized samples: 0.30000000000000004 -> 0.3
    if not isinstance(value, str) or value[:1] not in ("[", "{"):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    try:
        TypeAdapter(target.annotation).validate_python(value)
    except ValidationError:
        return parsed
    return value


def apply_trial_config(exp: Experiment, values: Mapping[str, Any]) -> Experiment:
    """``exp`` with each searched value set (the original is untouched), validated again.

    ``values`` are keyed by canonical path (``model.hparams.hidden``) or by search key
    (``hidden``). A toggle (``model.hparams.regime.pid``) adds its keyword to the fixed list or
    removes it. The ``search`` section is kept; :func:`fixed_experiment` empties it.
    """
    ns, entry = experiment_namespaces(exp)
    data = experiment_to_dict(exp)
    hparams = data["model"]["hparams"]
    toggles: dict[str, dict[str, bool]] = {}
    for path, value in values.items():
        try:
            target = resolve_search_key(path, ns)
        except PathError as err:
            raise ConfigError([Problem(path, str(err))], "trial config") from None
        assert target is not None  # the model is registered
        value = decode_value(value, target)
        if target.kind == "toggle":
            toggles.setdefault(target.name, {})[target.keyword] = value
        else:
            set_path(data, target.parts, value)
    for name, flags in toggles.items():
        hp = entry.hyperparameters()[name]
        base = list(hparams.get(name, () if hp.required else hp.default) or ())
        allowed = keyword_list(ns.hparams[name]) or ()
        kept = [k for k in base if flags.get(k, True)]
        hparams[name] = kept + [k for k in allowed if flags.get(k) is True and k not in kept]
    return validate_experiment(data, source="trial config")


def fixed_experiment(exp: Experiment, values: Mapping[str, Any]) -> Experiment:
    """A training run with ``values`` fixed: ``search`` emptied and ``tune.num_samples`` 1."""
    data = experiment_to_dict(apply_trial_config(exp, values))
    data["search"] = {}
    data["tune"]["num_samples"] = 1
    return validate_experiment(data, source="fixed experiment")


def fixed_run(experiment: Experiment) -> Experiment:
    """``experiment`` as a single trial: one sample, FIFO; it must have nothing to search."""
    if experiment.search:
        raise ValueError(
            f"a training run is a fixed experiment, but search has {len(experiment.search)} "
            f"setting(s): {', '.join(experiment.search)}; tune it instead"
        )
    scheduler = experiment.tune.scheduler.model_copy(update={"name": "fifo"})
    tune_section = experiment.tune.model_copy(update={"num_samples": 1, "scheduler": scheduler})
    return experiment.model_copy(update={"tune": tune_section})
