"""Which searched settings mattered: Optuna's fANOVA importance over a sweep's finished trials.

The study comes from the sweep's stored Optuna study (``optuna.db``, written by an Optuna
sweep, see :func:`raytrack.tune.tuner._searcher`), opened from a temporary copy so that the
sweep's own file is never touched; a sweep without one (random or grid search, or an older
sweep) gets an in-memory study built from its trials table, with the distributions Ray's
``OptunaSearch`` would have used. Either way a trial's value is its last reported metric, the
value Ray's ``OptunaSearch`` tells Optuna, for every trial that ended normally (completed or
stopped early by ASHA; failed and interrupted trials are left out).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from raytrack.tune.tuner import OPTUNA_DB

FINISHED = ("completed", "stopped early")


@dataclass(frozen=True)
class Importance:
    """fANOVA importances (setting → share of the metric's variance, summing to 1), the number
    of trials they rest on, where the study came from, and why there are none if so."""

    values: dict[str, float]
    trials: int
    source: str
    reason: str | None = None


def parameter_importance(sweep_dir: Path, experiment: Any, trials: pd.DataFrame) -> Importance:
    """The importance of each searched setting for the sweep's metric (see the module doc)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stored = Path(sweep_dir) / OPTUNA_DB
    if stored.is_file():
        with tempfile.TemporaryDirectory(prefix="raytrack-report-") as scratch:
            copy = Path(scratch) / OPTUNA_DB
            shutil.copyfile(stored, copy)
            storage = optuna.storages.RDBStorage(f"sqlite:///{copy}")
            names = optuna.get_all_study_names(storage)
            name = Path(sweep_dir).name if Path(sweep_dir).name in names else names[0]
            study = optuna.load_study(study_name=name, storage=storage)
            result = _fanova(study, f"stored study {OPTUNA_DB} (study {name!r})")
            storage.engine.dispose()
            return result
    return _fanova(_study_from_trials(experiment, trials), "in-memory study built from the trials")


def _fanova(study: Any, source: str) -> Importance:
    import optuna
    from optuna.importance import FanovaImportanceEvaluator

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(finished) < 2:
        return Importance({}, len(finished), source, f"{len(finished)} finished trial(s): need 2")
    try:
        values = optuna.importance.get_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=0)
        )
    except (ValueError, RuntimeError) as err:
        return Importance({}, len(finished), source, str(err))
    if not values:
        return Importance({}, len(finished), source, "no searched setting took two values")
    return Importance({key: float(value) for key, value in values.items()}, len(finished), source)


def _study_from_trials(experiment: Any, trials: pd.DataFrame) -> Any:
    """An in-memory study of the trials that ended normally, with Optuna's distributions for
    the searched settings (grid entries, which Optuna cannot sample, are left out)."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from raytrack.config.search import searched, tune_domain

    domains = {
        target.canonical: tune_domain(spec)
        for _, target, spec in searched(experiment)
        if spec.kind != "grid"
    }
    distributions = OptunaSearch.convert_search_space(domains) if domains else {}
    direction = "minimize" if experiment.tune.mode == "min" else "maximize"
    study = optuna.create_study(direction=direction)
    last = f"last_{experiment.tune.metric}"
    if last not in trials or "status" not in trials:
        return study
    for _, row in trials[trials["status"].isin(FINISHED)].iterrows():
        params = {key: _plain(row.get(f"config/{key}")) for key in distributions}
        value = _plain(row.get(last))
        if value is None or any(v is None for v in params.values()):
            continue
        try:
            study.add_trial(
                optuna.trial.create_trial(params=params, distributions=distributions, value=value)
            )
        except ValueError:  # a value outside its distribution (the space changed): skip it
            continue
    return study


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value; ``None`` for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
