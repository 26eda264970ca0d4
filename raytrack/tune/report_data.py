"""What ``raytrack report`` shows, gathered from a sweep directory without writing to it.

:func:`gather_report` computes the sweep's summary in memory (:func:`~raytrack.tune.results.
compute_summary`, the same tables ``trials.csv`` and ``history.csv`` hold), and adds what the
plots need: the searched settings, ASHA's rungs and which trials it stopped, the parameter
importance (:mod:`raytrack.tune.report_importance`) and the plots and summaries an evaluator
wrote into the sweep directory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from raytrack.errors import UserError
from raytrack.tune.report_importance import Importance, parameter_importance

EVALUATOR_SUMMARY = "*_summary.json"  # raytrack.family.Evaluation.write
EVALUATOR_PLOT = "*.png"


@dataclass(frozen=True)
class SearchedSetting:
    """One searched setting: its column in the trials table and how to draw its axis."""

    key: str  # the canonical dotted path, e.g. ``train.optimizer.lr``
    kind: str  # "float" | "int" | "choice" | "grid"
    log: bool

    @property
    def column(self) -> str:
        return f"config/{self.key}"

    @property
    def label(self) -> str:
        return self.key.removeprefix("model.hparams.")


@dataclass(frozen=True)
class Rungs:
    """ASHA's milestones: a trial continues past ``epochs[k]`` only if it is in the top
    ``1 / reduction_factor`` of the trials that reached it."""

    grace_period: int
    reduction_factor: float
    max_t: int
    brackets: int
    epochs: tuple[int, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything the page and the PNGs show; ``summary`` is what the leaderboard prints."""

    name: str
    path: Path
    metric: str
    mode: str
    summary: Any  # raytrack.tune.results.SweepSummary
    settings: tuple[SearchedSetting, ...]
    rungs: Rungs | None  # None: the scheduler is FIFO
    stopped: frozenset[str]  # ids of the trials ASHA stopped
    importance: Importance
    evaluator_files: tuple[Path, ...]

    @property
    def trials(self) -> pd.DataFrame:
        return self.summary.trials

    @property
    def history(self) -> pd.DataFrame:
        history = self.summary.history
        return history if history is not None else pd.DataFrame()


def gather_report(sweep_dir: str | Path, skip: Path | None = None) -> ReportData:
    """Read the sweep at ``sweep_dir`` (nothing in it is written); ``skip``: a folder whose
    files are not evaluator outputs (the report's own output folder)."""
    from ray.tune import ExperimentAnalysis, ResultGrid

    from raytrack.config.search import epoch_budget, searched
    from raytrack.tune.early_stops import early_stopped
    from raytrack.tune.results import compute_summary
    from raytrack.tune.tuner import Sweep

    path = Path(sweep_dir)
    if not (path / "sweep.json").is_file():
        raise UserError(f"{sweep_dir} is not a sweep directory (no sweep.json)")
    sweep = Sweep.load(path)
    try:
        analysis = ExperimentAnalysis(str(path.resolve()))
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        raise UserError(f"{sweep_dir} has no readable Ray Tune state yet ({err})") from None
    summary = compute_summary(ResultGrid(analysis), sweep)
    experiment = sweep.experiment_model()
    tune_cfg = experiment.tune
    settings = tuple(
        SearchedSetting(target.canonical, spec.kind, spec.log)
        for _, target, spec in searched(experiment)
    )
    rungs = None
    if tune_cfg.scheduler.name == "asha":
        sched = tune_cfg.scheduler
        budget = epoch_budget(experiment)
        rungs = asha_rungs(sched.grace_period, sched.reduction_factor, budget, sched.brackets)
    return ReportData(
        name=sweep.name,
        path=path,
        metric=tune_cfg.metric,
        mode=tune_cfg.mode,
        summary=summary,
        settings=settings,
        rungs=rungs,
        stopped=frozenset(early_stopped(path)),
        importance=parameter_importance(path, experiment, summary.trials),
        evaluator_files=evaluator_files(path, skip),
    )


def asha_rungs(grace_period: int, reduction_factor: float, max_t: int, brackets: int = 1) -> Rungs:
    """The milestones of ASHA's first bracket, as Ray Tune's ``_Bracket`` places them:
    ``grace_period * reduction_factor**k`` for ``k = 0 .. log(max_t / grace_period, rf)``."""
    count = int(math.log(max_t / grace_period) / math.log(reduction_factor) + 1)
    epochs = tuple(int(grace_period * reduction_factor**k) for k in range(count))
    return Rungs(grace_period, reduction_factor, max_t, brackets, epochs)


def evaluator_files(sweep_dir: Path, skip: Path | None = None) -> tuple[Path, ...]:
    """The plots and summaries an evaluator wrote anywhere in the sweep directory
    (``raytrack evaluate --out``: ``<name>_summary.json`` and PNG plots), sorted."""
    found = []
    skipped = skip.resolve() if skip is not None else None
    for pattern in (EVALUATOR_SUMMARY, EVALUATOR_PLOT):
        for file in sweep_dir.rglob(pattern):
            hidden = any(part.startswith(".") for part in file.relative_to(sweep_dir).parts)
            inside_skip = skipped is not None and file.resolve().is_relative_to(skipped)
            if file.is_file() and not hidden and not inside_skip:
                found.append(file)
    return tuple(sorted(found))
