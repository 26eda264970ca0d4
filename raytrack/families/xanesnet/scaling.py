"""Standardisation of descriptors and spectra, fitted on a trial's training samples.

``data.options`` (:class:`XanesOptions`) says which of the two kinds of vector are scaled to zero
mean and unit variance per feature (a descriptor's features span very different ranges; a
spectrum's points share one): the task fits the means and standard deviations on the training
split when it is set up (:meth:`~raytrack.tasks.base.Task.setup`), keeps them in its checkpoint
state, and scales the vector wherever it appears, as input or as target. The loss is computed on
scaled vectors; the metrics (``mse``, ``mae``) and every evaluation are in the stored units.
Features that do not vary over the training samples keep a scale of 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

KINDS = ("descriptor", "spectrum")


class XanesOptions(BaseModel):
    """The xanesnet family's dataset options (the experiment's ``data.options``)."""

    model_config = ConfigDict(extra="forbid")

    standardise_descriptor: bool = True
    """Scale each descriptor feature to zero mean and unit variance (training split)."""
    standardise_spectrum: bool = False
    """Scale each spectrum point likewise (off: shape losses such as emd and wcc read the
    spectrum as it is)."""


class Standardiser:
    """Per-feature ``(x - mean) / std`` for the kinds asked; identity until fitted."""

    def __init__(self, kinds: Iterable[str] = ()) -> None:
        self.kinds = tuple(kinds)
        self.mean: dict[str, np.ndarray] = {}
        self.std: dict[str, np.ndarray] = {}

    def fit(self, rows: Iterable[Mapping[str, Any]]) -> Standardiser:
        """Means and standard deviations of each kind over ``rows`` (streamed)."""
        sums: dict[str, list[np.ndarray]] = {}
        count = 0
        for row in rows:
            count += 1
            for kind in self.kinds:
                value = np.asarray(row[kind], dtype=np.float64)
                if kind not in sums:
                    sums[kind] = [np.zeros_like(value), np.zeros_like(value)]
                sums[kind][0] += value
                sums[kind][1] += value * value
        if count == 0:
            raise ValueError("cannot fit the standardisation: the training split has no samples")
        for kind, (total, squares) in sums.items():
            mean = total / count
            std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
            self.mean[kind] = mean
            self.std[kind] = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return self

    def scale(self, kind: str, value: np.ndarray) -> np.ndarray:
        if kind not in self.mean:
            return np.asarray(value, dtype=np.float32)
        return ((value - self.mean[kind]) / self.std[kind]).astype(np.float32)

    def unscale(self, kind: str, value: torch.Tensor) -> torch.Tensor:
        if kind not in self.mean:
            return value
        mean = torch.as_tensor(self.mean[kind], dtype=value.dtype, device=value.device)
        std = torch.as_tensor(self.std[kind], dtype=value.dtype, device=value.device)
        return value * std + mean

    def state_dict(self) -> dict[str, Any]:
        return {
            "kinds": list(self.kinds),
            "mean": {k: v.tolist() for k, v in self.mean.items()},
            "std": {k: v.tolist() for k, v in self.std.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.kinds = tuple(state.get("kinds", ()))
        self.mean = {k: np.asarray(v, dtype=np.float64) for k, v in state.get("mean", {}).items()}
        self.std = {k: np.asarray(v, dtype=np.float64) for k, v in state.get("std", {}).items()}
