"""The ``xanes_spectra`` evaluator: a trained XANESNET model on held-out structures.

``raytrack evaluate CHECKPOINT STORE [--set ensemble=N --set plot=FILE.png] [--out DIR]``
predicts every judged sample of ``STORE`` (an ``xyz_xanes`` store built like the training
store: the same grid, normalisation and descriptor, e.g. the Fe set's ``xyz_test`` folder) and
reports, in the stored units:

- ``mse``, ``rmse`` and ``mae`` of the prediction, and the mean absolute error per energy point
  (``<prefix>_per_point.csv``);
- for spectra, the edge (``E_0``, steepest rise) and main-peak positions in eV of the true and
  predicted spectra and their errors (:mod:`.spectrum_figures`);
- the reference's evaluation idea: the model against naive baselines (:mod:`.baselines`: the
  mean training target; the target of the nearest training input), each with one-sided paired
  tests of the per-item MSEs (``p_<baseline>_t``, ``p_<baseline>_wilcoxon``) and whether the
  model beats it at level ``alpha`` (by the t-test, as the reference);
- a PNG of predicted against true vectors (:mod:`.plots`), written with the summary (``--out``:
  ``<prefix>_spectra.png``) and, with ``plot``, to that file too.

The baselines use the samples the model trained on (the training split of its training store,
kept in the checkpoint). ``ensemble: N`` averages the N best models of the checkpoint's sweep
(:mod:`.ensemble`); a ``kfold`` model is already the mean of its fold members.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from raytrack.families.xanesnet.baselines import mean_baseline, nearest_neighbour, paired_test
from raytrack.families.xanesnet.ensemble import ensemble_members
from raytrack.families.xanesnet.plots import spectra_png
from raytrack.families.xanesnet.spectrum_figures import (
    edge_positions,
    mae_per_point,
    peak_positions,
)
from raytrack.families.xanesnet.store_check import check_same_data, check_store
from raytrack.family import Evaluation
from raytrack.tasks.base import move_to


class SpectraSettings(BaseModel):
    """Settings of the ``xanes_spectra`` evaluator (``--set name=value``)."""

    model_config = ConfigDict(extra="forbid")

    ensemble: int = Field(1, ge=1, description="average the models of the sweep's N best trials")
    alpha: float = Field(0.05, gt=0, lt=1, description="level of the one-sided paired tests")
    plot: str | None = Field(None, description="also write the PNG of the spectra to this file")
    plot_items: int = Field(10, ge=1, description="structures shown in the PNG")
    batch_size: int = Field(64, ge=1, description="samples per forward pass")


@dataclass(frozen=True)
class SpectraEvaluation(Evaluation):
    """An evaluation with its picture and its per-point errors."""

    figure: bytes | None = None
    per_point: pd.DataFrame | None = None

    def write(self, directory: str | Path, prefix: str = "evaluation") -> Path:
        """The summary and per-item CSV, ``<prefix>_per_point.csv`` and ``<prefix>_spectra.png``."""
        directory = super().write(directory, prefix)
        if self.per_point is not None:
            self.per_point.to_csv(directory / f"{prefix}_per_point.csv", index=False)
        if self.figure is not None:
            (directory / f"{prefix}_spectra.png").write_bytes(self.figure)
        return directory


def _predict(member: Any, rows: list[dict], batch_size: int, device: str) -> np.ndarray:
    task, model = member.task, member.model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = task.collate([task.prepare(row) for row in rows[start : start + batch_size]])
            out.append(task.predict(model, move_to(batch, device)).double().cpu().numpy())
    return np.concatenate(out)


def training_samples(loaded: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(inputs, targets, stems)`` of the samples the model trained on, in stored units."""
    from raytrack.store.sample_store import SampleStore

    task, state = loaded.task, loaded.task.data_state
    if "store" in state:
        store, ids = SampleStore(state["store"]), state["train_ids"]
    else:  # trained without Task.setup: the experiment's store and split
        from raytrack.data.build import resolve_path, splits_of

        store = SampleStore(resolve_path(loaded.experiment.data.store))
        ids = splits_of(loaded.experiment.data, store).train
    rows = list(store.iter_rows(ids=ids, columns=[task.source, task.target, "stem"]))
    source = np.stack([np.asarray(r[task.source], np.float64) for r in rows])
    target = np.stack([np.asarray(r[task.target], np.float64) for r in rows])
    return source, target, [r["stem"] for r in rows]


def evaluate_spectra(
    checkpoint: Any, store: Any, settings: SpectraSettings, *, ids: list[int] | None = None,
    device: str = "cpu", reference: Any = None,
) -> SpectraEvaluation:  # fmt: skip
    """Judge ``checkpoint``'s model on ``store`` (see the module docstring)."""
    task = checkpoint.task
    judged = check_store(store, task.n_descriptor, task.n_points)
    members = ensemble_members(checkpoint, settings.ensemble, device)
    for member in members:
        if member.task.data_state:
            check_same_data(member.task.data_state, judged)
    rows = [
        {key: np.copy(v) if isinstance(v, np.ndarray) else v for key, v in row.items()}
        for row in store.iter_rows(ids=ids)
    ]
    if not rows:
        raise ValueError(f"no samples to judge in {store.path} (ids {ids})")
    predicted = np.mean([_predict(m, rows, settings.batch_size, device) for m in members], axis=0)
    truth = np.stack([np.asarray(r[task.target], np.float64) for r in rows])
    inputs = np.stack([np.asarray(r[task.source], np.float64) for r in rows])
    train_inputs, train_targets, train_stems = training_samples(checkpoint)
    baselines = {"mean": mean_baseline(train_targets, len(rows))}
    neighbours = nearest_neighbour(train_inputs, inputs)
    baselines["nn"] = train_targets[neighbours]

    per_item = pd.DataFrame({
        "sample_id": [int(r["sample_id"]) for r in rows],
        "stem": [r["stem"] for r in rows],
        "mse": ((predicted - truth) ** 2).mean(1),
        "mae": np.abs(predicted - truth).mean(1),
        **{f"mse_{name}_baseline": ((b - truth) ** 2).mean(1) for name, b in baselines.items()},
        "nn_stem": [train_stems[i] for i in neighbours],
    })  # fmt: skip
    summary: dict[str, Any] = {
        "direction": task.direction, "samples": len(rows), "ensemble": len(members),
        "mse": float(per_item["mse"].mean()), "rmse": float(np.sqrt(per_item["mse"].mean())),
        "mae": float(per_item["mae"].mean()),
    }  # fmt: skip
    for name in baselines:
        mse = per_item[f"mse_{name}_baseline"].to_numpy()
        test = paired_test(per_item["mse"].to_numpy(), mse)
        summary[f"mse_{name}_baseline"] = float(mse.mean())
        summary[f"p_{name}_t"], summary[f"p_{name}_wilcoxon"] = test["t_p"], test["wilcoxon_p"]
        summary[f"beats_{name}_baseline"] = bool(test["t_p"] < settings.alpha)
    first = rows[0]
    if task.target == "spectrum":
        axis, xlabel = np.asarray(first["energy"], np.float64), "energy (eV)"
        edges = _edges(axis, truth, predicted, baselines, per_item, summary)
    else:
        axis, xlabel, edges = (
            np.arange(truth.shape[1], dtype=np.float64),
            "descriptor feature",
            None,
        )
    per_point = pd.DataFrame({
        "energy_ev" if task.target == "spectrum" else "feature": axis,
        "mae": mae_per_point(predicted, truth),
        **{f"mae_{name}_baseline": mae_per_point(b, truth) for name, b in baselines.items()},
    })  # fmt: skip
    worst = int(per_point["mae"].to_numpy().argmax())
    summary["mae_per_point_max"] = float(per_point["mae"].iloc[worst])
    summary["mae_per_point_max_at"] = float(axis[worst])
    figure = spectra_png(
        axis, truth, predicted, baselines["mean"], list(per_item["stem"]), xlabel=xlabel,
        edges=edges, count=settings.plot_items,
    )  # fmt: skip
    if settings.plot is not None:
        Path(settings.plot).expanduser().parent.mkdir(parents=True, exist_ok=True)
        Path(settings.plot).expanduser().write_bytes(figure)
        summary["plot"] = str(Path(settings.plot).expanduser().resolve())
    return SpectraEvaluation(summary, per_item, figure=figure, per_point=per_point)


def _edges(energy, truth, predicted, baselines, per_item, summary) -> tuple[np.ndarray, np.ndarray]:
    """Edge and peak positions and errors (eV) into ``per_item`` and ``summary``."""
    for what, locate in (("edge", edge_positions), ("peak", peak_positions)):
        true_at, predicted_at = locate(energy, truth), locate(energy, predicted)
        error = predicted_at - true_at
        per_item[f"{what}_true_ev"], per_item[f"{what}_predicted_ev"] = true_at, predicted_at
        per_item[f"{what}_error_ev"] = error
        summary[f"{what}_error_ev_mean"] = float(np.abs(error).mean())
        summary[f"{what}_error_ev_median"] = float(np.median(np.abs(error)))
        summary[f"{what}_bias_ev"] = float(error.mean())
        for name, baseline in baselines.items():
            summary[f"{what}_error_ev_{name}_baseline"] = float(
                np.abs(locate(energy, baseline) - true_at).mean()
            )
    return per_item["edge_true_ev"].to_numpy(), per_item["edge_predicted_ev"].to_numpy()
