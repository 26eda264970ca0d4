"""The Python entry points behind ``raytrack tune`` and ``raytrack train``.

    import raytrack

    experiment = raytrack.load_experiment("search_spaces/quickstart.yaml")
    result = raytrack.tune_experiment(experiment)      # the sweep, on a local Ray or RAY_ADDRESS
    print(result.best_value, result.best_config)
    again = raytrack.train_experiment(raytrack.load_experiment(result.best_config))

Both validate the experiment again, start (or connect to) Ray, run the trials and write the
sweep's result files (:mod:`raytrack.tune.results`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raytrack.config.schema import Experiment


@dataclass(frozen=True)
class SweepResult:
    """Where a finished sweep is and what it found."""

    directory: Path
    trials: Any
    """One row per trial (a pandas DataFrame, as ``trials.csv``)."""
    best_value: float | None
    best_config: Path | None
    """``best.yaml``: the experiment with the best trial's values fixed."""
    best_checkpoint: str | None


def _experiment(experiment: Experiment | str | Path) -> Experiment:
    if isinstance(experiment, Experiment):
        from raytrack.config import experiment_to_dict, validate_experiment

        return validate_experiment(experiment_to_dict(experiment), source=experiment.name)
    from raytrack.config import load_experiment

    return load_experiment(experiment)


def tune_experiment(
    experiment: Experiment | str | Path, *, name: str | None = None, address: str | None = None,
    verbose: int = 1, overwrite: bool = False,
) -> SweepResult:  # fmt: skip
    """Run the sweep of ``experiment`` (an :class:`Experiment` or a YAML file) to the end.

    ``name``: the sweep directory's name (default ``<name>-<timestamp>``); an existing one is an
    error unless ``overwrite``. Problems found before anything runs raise
    :class:`~raytrack.errors.UserError`.
    """
    from raytrack.tune.tuner import run_sweep

    sweep, summary = run_sweep(
        _experiment(experiment), name=name, address=address, verbose=verbose, overwrite=overwrite
    )
    return SweepResult(
        sweep.path, summary.trials, summary.best_value, summary.best_yaml, summary.best_checkpoint
    )


def train_experiment(
    experiment: Experiment | str | Path, *, name: str | None = None, address: str | None = None,
    verbose: int = 1,
) -> SweepResult:  # fmt: skip
    """Train one fixed experiment (e.g. a sweep's ``best.yaml``) as a single trial."""
    from raytrack.config.resolve import fixed_run

    return tune_experiment(
        fixed_run(_experiment(experiment)), name=name, address=address, verbose=verbose
    )
