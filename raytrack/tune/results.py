"""What a sweep leaves behind: a leaderboard, every trial's results, and the best experiment.

Written into the sweep directory:

- ``trials.parquet`` / ``trials.csv``: one row per trial (status, epochs run, best and last
  value of the tuned metric, the searched values, the best checkpoint);
- ``history.parquet`` / ``history.csv``: every reported epoch of every trial;
- ``best.yaml``: the complete experiment with the best trial's values fixed in place and no
  search section — ``raytrack train best.yaml`` re-runs it;
- ``best.json``: the best trial, its metric and the path of its best checkpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from raytrack.train.epoch_log import EPOCH_LOG, checkpoints_by_epoch, finished_run, read_epochs
from raytrack.train.failures import FAILURE_FILE, recorded_failure
from raytrack.tune.trainable import ddp_run_name, searched_values

CHECKPOINT_PATH_METRIC = "checkpoint_path"  # how Ray's TuneReportCallback passes DDP checkpoints


@dataclass(frozen=True)
class SweepSummary:
    """A sweep's results in memory; :func:`write_summary` writes them as the files above.

    ``best_yaml`` is where the best experiment is (or would be) written; ``history`` holds every
    epoch of every trial, ``best`` the content of ``best.json`` and ``best_experiment`` that of
    ``best.yaml`` (``None`` when no trial reported the metric).
    """

    trials: pd.DataFrame
    best_yaml: Path | None
    best_checkpoint: str | None
    best_value: float | None
    history: pd.DataFrame | None = None
    best: dict[str, Any] | None = None
    best_experiment: Any = None


def summarize_results(results: Iterable[Any], sweep: Any) -> SweepSummary:
    """Compute the sweep's results from a Ray Tune ``ResultGrid`` and write its result files."""
    summary = compute_summary(results, sweep)
    write_summary(summary, sweep.path)
    return summary


def write_summary(summary: SweepSummary, out: Path) -> None:
    """Write ``summary`` into the sweep directory ``out`` (see the module docstring)."""
    from raytrack.config import dump_experiment

    out = Path(out)
    summary.trials.to_parquet(out / "trials.parquet")
    summary.trials.to_csv(out / "trials.csv", index=False)
    if summary.history is not None:
        summary.history.to_parquet(out / "history.parquet")
        summary.history.to_csv(out / "history.csv", index=False)
    if summary.best is None:
        return
    dump_experiment(summary.best_experiment, out / "best.yaml")
    (out / "best.json").write_text(json.dumps(summary.best, indent=1, default=str))


def compute_summary(results: Iterable[Any], sweep: Any) -> SweepSummary:
    """The sweep's results from a Ray Tune ``ResultGrid``, reading files only (writes nothing)."""
    from raytrack.config import fixed_experiment
    from raytrack.tune.early_stops import early_stopped

    experiment = sweep.experiment_model()
    metric, mode = experiment.tune.metric, experiment.tune.mode
    rows, histories, configs = [], [], {}
    states = _trial_states(results)
    stopped = early_stopped(sweep.path)
    for index, result in enumerate(results):
        state = states[index] if index < len(states) else None
        history = _trial_history(result, _trial_id(result))
        values = searched_values(result.config or {})
        if history is None or history.empty or metric not in history:
            rows.append(
                {
                    "trial_id": _trial_id(result),
                    "status": _status(result, 0, experiment, state, stopped, _roots(result, sweep)),
                    "epochs": 0,
                    **{f"config/{key}": _cell(value) for key, value in values.items()},
                    "error": _error_line(result),
                }
            )
            continue
        trial_id = str(history["trial_id"].iloc[-1])
        best_index = history[metric].idxmin() if mode == "min" else history[metric].idxmax()
        configs[trial_id] = values
        epochs = int(history["training_iteration"].max())
        rows.append(
            {
                "trial_id": trial_id,
                "status": _status(
                    result, epochs, experiment, state, stopped, _roots(result, sweep)
                ),
                "epochs": epochs,
                f"best_{metric}": float(history.loc[best_index, metric]),
                f"last_{metric}": float(history[metric].iloc[-1]),
                "best_epoch": int(history.loc[best_index, "training_iteration"]),
                **{f"config/{key}": _cell(value) for key, value in values.items()},
                "checkpoint": _best_checkpoint(result, history, best_index, metric, mode, sweep),
                "error": _error_line(result),
            }
        )
        histories.append(history.drop(columns=[c for c in history if c.startswith("config/")]))
    trials = pd.DataFrame(rows)
    best_column = f"best_{metric}"
    if best_column in trials:
        trials = trials.sort_values(best_column, ascending=(mode == "min"), na_position="last")
    trials = trials.reset_index(drop=True)
    history_all = pd.concat(histories, ignore_index=True) if histories else None
    if best_column not in trials or trials[best_column].isna().all():
        return SweepSummary(trials, None, None, None, history_all)
    best = trials.iloc[0]
    best_yaml = Path(sweep.path) / "best.yaml"
    summary = {
        "trial_id": best["trial_id"],
        "metric": metric,
        "mode": mode,
        "value": float(best[best_column]),
        "epoch": int(best["best_epoch"]),
        "checkpoint": best["checkpoint"],
        "config": configs[best["trial_id"]],
        "best_yaml": str(best_yaml),
    }
    return SweepSummary(
        trials,
        best_yaml,
        best["checkpoint"],
        float(best[best_column]),
        history_all,
        summary,
        fixed_experiment(experiment, configs[best["trial_id"]]),
    )


def leaderboard(summary: SweepSummary, metric: str, limit: int = 10) -> str:
    """The top trials as a text table."""
    trials = summary.trials.head(limit)
    if trials.empty:
        return "no trial reported a result"
    columns = ["trial_id", "status", "epochs", f"best_{metric}", "best_epoch"]
    columns += [c for c in trials.columns if c.startswith("config/")]
    shown = trials[[c for c in columns if c in trials]].rename(
        columns=lambda c: c.removeprefix("config/").removeprefix("model.hparams.")
    )
    return shown.to_string(index=True, float_format=lambda v: f"{v:.4g}")


def _trial_id(result: Any) -> str:
    metrics = result.metrics or {}
    return str(metrics.get("trial_id", Path(str(result.path)).name.removeprefix("trial_")))


def _roots(result: Any, sweep: Any) -> list[Path]:
    """Where a trial's checkpoints are: its directory, and its DDP run's under the storage."""
    roots = [Path(str(result.path))] if result.path else []
    return [*roots, Path(sweep.storage_root) / ddp_run_name(sweep.name, _trial_id(result))]


def _trial_history(result: Any, trial_id: str) -> pd.DataFrame | None:
    """Every epoch the trial trained, once: its own ``epochs.jsonl`` (complete whatever moment
    a driver died at, see :mod:`raytrack.train.epoch_log`), else what Tune recorded."""
    records = read_epochs(Path(str(result.path)) / EPOCH_LOG) if result.path else []
    if records:
        history = pd.DataFrame(records)
        history.insert(0, "trial_id", trial_id)
        history["training_iteration"] = history["epoch"]
        return history
    history = result.metrics_dataframe
    if history is None or history.empty:
        return None
    return history.drop_duplicates("training_iteration", keep="last").reset_index(drop=True)


def _trial_states(results: Any) -> list[str | None]:
    """Tune's status of each trial (``TERMINATED``, ``ERROR``, ``PENDING``, ...), in order.

    A ``ResultGrid`` keeps its trials in its analysis; a plain list of results has none.
    """
    analysis = getattr(results, "_experiment_analysis", None)
    trials = getattr(analysis, "trials", None) or []
    return [getattr(trial, "status", None) for trial in trials]


def _status(
    result: Any, epochs: int, experiment: Any, state: str | None, stopped: set[str],
    roots: list[Path],
) -> str:  # fmt: skip
    """``completed``, ``stopped early`` (by the scheduler), ``interrupted`` (stopped before it
    ended otherwise: Ctrl-C, a time budget, a driver that died; ``raytrack resume`` continues
    it), ``diverged`` or ``build failed`` (failures that repeat, not retried), or ``error``."""
    if result.error is not None or state == "ERROR":
        failure = recorded_failure(Path(str(result.path)) / FAILURE_FILE) if result.path else None
        return failure.status if failure is not None else "error"
    from raytrack.config import trial_epochs

    budget = trial_epochs(experiment, result.config or {})
    if epochs >= budget:
        return "completed"
    if _trial_id(result) in stopped:
        return "stopped early"
    if finished_run(roots, budget) is not None:
        return "completed"  # its last stage ended early (``until``)
    return "interrupted"


def _error_line(result: Any) -> str | None:
    """The failure of an errored trial in one line (its recorded cause, else Ray's last line)."""
    if result.error is None:
        return None
    failure = recorded_failure(Path(str(result.path)) / FAILURE_FILE) if result.path else None
    if failure is not None:
        return failure.message
    lines = [line.strip() for line in str(result.error).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(result.error).__name__


def _best_checkpoint(
    result: Any, history: pd.DataFrame, best_index: Any, metric: str, mode: str,
    sweep: Any,
) -> str | None:  # fmt: skip
    """The checkpoint of the trial's best epoch: found by its ``metrics.json`` in the trial
    directory (or its DDP run's), else the one Tune or Ray Train reported."""
    best_epoch = int(history.loc[best_index, "training_iteration"])
    found = checkpoints_by_epoch(_roots(result, sweep))
    if best_epoch in found:
        return str(found[best_epoch])
    if CHECKPOINT_PATH_METRIC in history and isinstance(
        history.loc[best_index, CHECKPOINT_PATH_METRIC], str
    ):
        return history.loc[best_index, CHECKPOINT_PATH_METRIC]
    try:
        checkpoint = result.get_best_checkpoint(metric, mode)
    except (RuntimeError, ValueError, KeyError):
        checkpoint = None
    checkpoint = checkpoint or result.checkpoint
    return checkpoint.path if checkpoint is not None else None


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
