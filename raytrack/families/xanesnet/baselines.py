"""Naive predictors a trained model must beat (the reference's evaluation idea).

- **mean**: every structure gets the mean target (spectrum or descriptor) of the training
  samples;
- **nearest neighbour**: a structure gets the target of the training sample whose input is
  closest in Euclidean distance, the inputs standardised per feature on the training samples
  (a descriptor's features span very different ranges).

The model and a baseline are compared on the same held-out items by a one-sided paired test of
their per-item MSEs (:func:`paired_test`): Student's t on the differences (as the reference)
and, not assuming normal differences, the Wilcoxon signed-rank test.

Legend: ``N`` training samples; ``S`` judged samples; ``I``/``O`` input/output features.
"""

from __future__ import annotations

import math

import numpy as np


def mean_baseline(train_targets: np.ndarray, count: int) -> np.ndarray:
    """``(N, O)`` training targets → ``(count, O)`` copies of their mean."""
    return np.repeat(train_targets.mean(axis=0, keepdims=True), count, axis=0)


def nearest_neighbour(train_inputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """For each of ``inputs`` ``(S, I)``, the index of the nearest of ``train_inputs`` ``(N, I)``
    after standardising both with the training inputs' mean and standard deviation."""
    mean, std = train_inputs.mean(axis=0), train_inputs.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    a, b = (train_inputs - mean) / std, (inputs - mean) / std
    distance = (b**2).sum(1)[:, None] - 2.0 * b @ a.T + (a**2).sum(1)[None, :]
    return np.argmin(distance, axis=1)


def paired_test(model: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """One-sided paired tests that the model's per-item errors are smaller than the baseline's:
    ``{"t_p", "wilcoxon_p", "mean_difference"}`` (NaN p-values for fewer than 2 items)."""
    from scipy import stats

    difference = np.asarray(model, np.float64) - np.asarray(baseline, np.float64)
    result = {"mean_difference": float(difference.mean()), "t_p": math.nan, "wilcoxon_p": math.nan}
    if len(difference) >= 2:
        if np.allclose(difference, difference[0]):  # no spread: t undefined
            result["t_p"] = 0.0 if difference[0] < 0 else 1.0
        else:
            result["t_p"] = float(stats.ttest_rel(model, baseline, alternative="less").pvalue)
        if np.any(difference != 0):
            result["wilcoxon_p"] = float(stats.wilcoxon(difference, alternative="less").pvalue)
    return result
