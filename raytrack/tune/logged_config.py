"""What the experiment trackers record as a trial's configuration: the experiment it really ran.

A trial's Tune config holds the sampled values beside the experiment file's *base* values, so
logging it as is showed a trial that searched ``n_graph_iters: 2`` as 4 (the file's value). Every
logger (W&B, MLflow, TensorBoard) instead records the trial's resolved experiment, the one its
``best.yaml`` would hold (:func:`raytrack.config.fixed_experiment`), flattened with dotted keys
(``model.hparams.hidden``, ``train.optimizer.lr``), credentials in URIs masked, plus
``trial_id``.

Flattening: mappings become dotted keys; lists stay whole values (W&B and MLflow show them as
given; TensorBoard's hparams, which take scalars only, get their text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from raytrack.redact import redact_config
from raytrack.tune.trainable import EXPERIMENT_KEY, searched_values


def flatten_dotted(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` → ``{"a.b": 1, "c": [1, 2]}``; an empty mapping stays."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_dotted(value, f"{dotted}."))
        else:
            flat[dotted] = dict(value) if isinstance(value, Mapping) else value
    return flat


def resolved_experiment_dict(trial_config: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's experiment as its ``best.yaml`` would hold it (search emptied), as data."""
    from raytrack.config import fixed_experiment
    from raytrack.config.legacy import load_dumped
    from raytrack.config.resolve import experiment_to_dict

    base = load_dumped(trial_config[EXPERIMENT_KEY])
    data = experiment_to_dict(fixed_experiment(base, searched_values(trial_config)))
    data.pop("search", None)
    return data


def logged_config(trial_config: Mapping[str, Any], trial_id: str) -> dict[str, Any]:
    """The flat, redacted configuration every tracker records for one trial."""
    if EXPERIMENT_KEY not in trial_config:  # not a raytrack trial: log what Tune has
        return {**flatten_dotted(redact_config(dict(trial_config))), "trial_id": trial_id}
    flat = flatten_dotted(redact_config(resolved_experiment_dict(trial_config)))
    return {**flat, "trial_id": trial_id}


def as_scalar(value: Any) -> bool | int | float | str:
    """``value`` as a TensorBoard hparam (scalars only): lists, mappings and None as JSON text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)
