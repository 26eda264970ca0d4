"""The ``showers`` evaluator: reconstructed showers of a trained model against the truth.

``raytrack evaluate CHECKPOINT STORE [--set split=test] --out DIR``: per event, the model's
outputs → condensation showers (:mod:`.condensation`, ``t_beta``, ``t_d``) → matching to the
truth showers (:mod:`.showers_matcher`, ``iou_threshold``). The summary holds the efficiency,
fake rate, energy response and resolution (:mod:`.shower_metrics`); the table per item one row
per truth and per predicted shower; ``DIR`` also gets the per-energy-bin table
(``showers_binned.csv``) and the PNG plots (``showers_efficiency.png``,
``showers_fake_rate.png``, ``showers_response.png``, ``showers_event_<id>.png``).

Thresholds default to the model's task (its ``t_beta``, ``t_d``, ``iou_threshold``). Without
``--ids``, ``split`` picks the samples: ``all``, or the ``train``/``val``/``test`` split of the
checkpoint's experiment (its ``data.split`` fractions and seed applied to this store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from raytrack.families.gravnet.calo_event import IS_TRACK, CaloEvent
from raytrack.families.gravnet.condensation import predicted_showers
from raytrack.families.gravnet.shower_metrics import binned, counts, figures, shower_rows
from raytrack.families.gravnet.showers_matcher import match_showers
from raytrack.family import Evaluation


class ShowerSettings(BaseModel):
    """Settings of the ``showers`` evaluator (``--set name=value``)."""

    model_config = ConfigDict(extra="forbid")

    t_beta: float | None = Field(None, ge=0, lt=1, description="condensation β threshold")
    t_d: float | None = Field(None, gt=0, description="condensation distance threshold")
    iou_threshold: float | None = Field(None, gt=0, le=1, description="least matching IoU")
    energy_bins: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 10.0, 20.0, 40.0, 70.0, 100.0, 200.0],
        description="edges of the energy bins of the curves (GeV)",
    )
    split: Literal["all", "train", "val", "test"] = Field(
        "all", description="samples judged when no ids are given"
    )
    plots: bool = Field(True, description="draw the PNG plots")
    event_displays: int = Field(2, ge=0, le=100, description="events drawn hit by hit")

    @field_validator("energy_bins")
    @classmethod
    def _increasing(cls, edges: list[float]) -> list[float]:
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"energy_bins must be at least 2 increasing edges, but got {edges}")
        return edges


@dataclass(frozen=True)
class ShowerEvaluation(Evaluation):
    """An evaluation that also writes its tables (CSV) and figures (PNG)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)

    def write(self, directory: str | Path, prefix: str = "evaluation") -> Path:
        directory = super().write(directory, prefix)
        for name, table in self.tables.items():
            table.to_csv(directory / f"{prefix}_{name}.csv", index=False)
        for name, png in self.figures.items():
            (directory / f"{prefix}_{name}.png").write_bytes(png)
        return directory


def _ids(checkpoint: Any, store: Any, split: str) -> list[int] | None:
    if split == "all":
        return None
    from raytrack.data.build import splits_of

    return list(getattr(splits_of(checkpoint.experiment.data, store), split))


def evaluate_showers(
    checkpoint: Any, store: Any, settings: ShowerSettings, *, ids: list[int] | None = None,
    device: str = "cpu", reference: Any = None,
) -> ShowerEvaluation:  # fmt: skip
    """Judge the showers of ``checkpoint``'s model on ``store`` (see the module documentation).

    ``reference``: a store holding the same events with their truth, when ``store`` lacks it.
    """
    model, task = checkpoint.model, checkpoint.task
    t_beta = task.t_beta if settings.t_beta is None else settings.t_beta
    t_d = task.t_d if settings.t_d is None else settings.t_d
    iou = task.iou_threshold if settings.iou_threshold is None else settings.iou_threshold
    ids = ids if ids is not None else _ids(checkpoint, store, settings.split)
    model.to(device).eval()
    frames, displays = [], {}
    with torch.no_grad():
        for row in store.iter_rows(ids=ids):
            truth = CaloEvent.from_row(row if reference is None else reference.row(row[store.key]))
            sample = task.prepare(row)
            features = torch.as_tensor(sample["features"], device=device)
            out = model(features, torch.as_tensor([0, len(features)], device=device))
            out = {k: v.float().cpu().numpy() for k, v in out.items()}
            is_track = sample["features"][:, IS_TRACK] > 0.5
            energy = sample["features"][:, 0].astype(np.float64)
            showers = predicted_showers(out["beta"], out["ccoords"], out["dist"], energy,
                                        out["energy_corr"], is_track, t_beta=t_beta, t_d=t_d)  # fmt: skip
            matching = match_showers(truth.t_idx, showers.labels, energy, is_track,
                                     showers.count, iou_threshold=iou)  # fmt: skip
            frames.append(shower_rows(truth.event_id, truth.t_idx, truth.t_energy, truth.t_pid,
                                      showers, matching))  # fmt: skip
            if settings.plots and len(displays) < settings.event_displays:
                displays[truth.event_id] = (sample["features"], truth.t_idx, showers.labels)
    if not frames:
        raise ValueError(f"no events to evaluate in {store.path}")
    rows = pd.concat(frames, ignore_index=True)
    bins = binned(rows, settings.energy_bins)
    summary: dict[str, Any] = {"events": len(frames), **counts(rows),
                               **figures(counts(rows)), "t_beta": t_beta, "t_d": t_d,
                               "iou_threshold": iou}  # fmt: skip
    pngs = _plots(rows, bins, displays) if settings.plots else {}
    summary["figures"] = sorted(pngs)
    return ShowerEvaluation(summary, rows, tables={"binned": bins}, figures=pngs)


def _plots(rows: pd.DataFrame, bins: pd.DataFrame, displays: dict) -> dict[str, bytes]:
    from raytrack.families.gravnet import plots

    pngs = {
        "efficiency": plots.rate_plot(
            bins,
            value="efficiency",
            count="true_showers",
            xlabel="true energy (GeV)",
            ylabel="efficiency",
            title="matched truth showers",
        ),  # fmt: skip
        "fake_rate": plots.rate_plot(
            bins,
            value="fake_rate",
            count="pred_showers",
            xlabel="predicted energy (GeV)",
            ylabel="fake rate",
            title="unmatched predicted showers",
        ),  # fmt: skip
        "response": plots.response_plot(bins, rows, "energy response of matched showers"),
    }
    for event_id, (features, t_idx, labels) in displays.items():
        pngs[f"event_{event_id}"] = plots.event_display(
            features, t_idx, labels, f"event {event_id}"
        )
    return pngs
