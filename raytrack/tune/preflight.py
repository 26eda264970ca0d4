"""Checks a sweep must pass before anything is simulated or Ray starts.

The experiment file is valid (:mod:`raytrack.config`); these checks look at the machine and the
disk: the packages of the enabled loggers and searcher import, the sweep's storage can be written, its store exists (or its data source can build it) and is
the one asked for, the sweep's name is a plain name not yet taken, and, on a local Ray, one trial's
resources fit on this machine. ``raytrack validate`` runs them too, so a sweep that cannot run is
found in a second, without a half-made sweep directory left behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment
from raytrack.data.build import resolve_path
from raytrack.errors import one_line

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""A sweep name: letters, digits, ``_``, ``.`` and ``-``, no path separator, not hidden."""


def writable(path: Path) -> str | None:
    """Why ``path`` (a directory, maybe not there yet) cannot be created or written, or ``None``."""
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} cannot be written (permission denied)"
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a sweep directory, or ``None``."""
    if not NAME.match(name):
        return (
            f"--name {name!r} is not a plain name: use letters, digits, '_', '.' and '-' (no path "
            "separators, not starting with '.')"
        )
    return None


def sweep_taken(storage: Path, name: str) -> str | None:
    """Why the sweep ``name`` cannot be created in ``storage`` (it exists), or ``None``."""
    path = storage / name
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        return (
            f"a sweep named {name!r} exists in {storage}: choose another --name, continue it with "
            f"`raytrack resume {path}`, or pass --overwrite to replace it"
        )
    return None


def local_resources() -> dict[str, float]:
    """What a local Ray started here would have: every CPU core and every visible GPU."""
    import torch

    return {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}


def preflight(
    experiment: Experiment, *, name: str | None = None, address: str | None = None,
    overwrite: bool = False,
) -> list[str]:  # fmt: skip
    """Every reason ``experiment`` cannot start a sweep here (empty when it can)."""
    from raytrack.tune.resources import placement_problem

    problems: list[str] = []
    storage = resolve_path(experiment.storage)
    problem = writable(storage)
    if problem:
        problems.append(f"storage: {problem}")
    if name is not None:
        problem = name_problem(name) or (None if overwrite else sweep_taken(storage, name))
        if problem:
            problems.append(problem)
    problems += missing_packages(experiment)
    problems += store_problems(experiment)
    if not (address or os.environ.get("RAY_ADDRESS")):  # a local Ray: this machine is the cluster
        problem = placement_problem(experiment.train, local_resources())
        if problem:
            problems.append(f"train: {problem}")
    return problems


def missing_packages(experiment: Experiment) -> list[str]:
    """Each logger and searcher the experiment enables whose package cannot be imported."""
    import importlib.util

    wanted = {
        "logging.wandb.enabled": ("wandb", experiment.logging.wandb.enabled),
        "logging.mlflow.enabled": ("mlflow", experiment.logging.mlflow.enabled),
        "tune.searcher: optuna": ("optuna", experiment.tune.searcher == "optuna"),
    }
    return [
        f"{setting} needs the {package} package, which is not installed (pip install {package})"
        for setting, (package, enabled) in wanted.items()
        if enabled and importlib.util.find_spec(package) is None
    ]


def store_problems(experiment: Experiment) -> list[str]:
    """The store exists and is the one asked for, or its data source can build it."""
    from raytrack.data.build import check_matches, source_of
    from raytrack.store.sample_store import SampleStore

    data = experiment.data
    path = resolve_path(data.store)
    if not (path / "meta.json").is_file():
        if data.generate is None:
            return [
                f"data.store: no sample store at {path}; create one (`raytrack generate`, "
                "`raytrack convert`, `raytrack infer`) or add data.generate to build it on first use"
            ]
        problem = writable(path.parent)
        return [f"data.store: {problem}"] if problem else []
    try:
        store = SampleStore(path)
        source: Any = source_of(experiment) if (data.generate is not None or data.source) else None
    except (OSError, ValueError, KeyError) as err:
        return [f"data.store: {one_line(err)}"]
    problem = check_matches(store, source, data) if source is not None else None
    if problem:
        return [f"data.store: {problem}; delete the store or point data.store elsewhere"]
    return task_store_problems(experiment, store)


def hparam_values(experiment: Experiment, names: Any) -> dict[str, list[Any]]:
    """Every value each hyperparameter in ``names`` (name → default) may take in the sweep."""
    values: dict[str, list[Any]] = {}
    for name, default in names.items():
        param = experiment.search.get(name) or experiment.search.get(f"model.hparams.{name}")
        if param is None:
            values[name] = [experiment.model.hparams.get(name, default)]
        else:
            bounds = [v for v in (param.low, param.high) if v is not None]
            values[name] = [*bounds, *(param.choices or ()), *(param.grid or ())]
    return values


def task_store_problems(experiment: Experiment, store: Any) -> list[str]:
    """The model's task against the existing store, over every value the search may give it."""
    from raytrack.data.build import splits_of
    from raytrack.registry import get_model

    try:
        entry = get_model(experiment.model.name, experiment.plugins)
        splits = splits_of(experiment.data, store).as_dict()
    except (KeyError, ValueError) as err:
        return [f"data: {one_line(err)}"]
    defaults = {h.name: h.default for h in entry.hyperparameters().values() if h.owner != "model"}
    return list(entry.task.store_problems(store, splits, hparam_values(experiment, defaults)))
