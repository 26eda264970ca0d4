"""Spectator scores: how far a hit lies from the core of its shower, as HGCalML defines them.

HGCalML (``TrainData_NanoML._createSpectators``) standardises the ``(x, y, z)`` of each truth
shower's hits, projects them on the shower's two leading principal components and scores every
hit with its Mahalanobis distance from the mean in that plane (rounded to 0.1). Showers with
fewer than 10 hits and noise score 0. The loss turns scores into spectator weights: a hit
scoring above 5 is a spectator with weight 0.9 (``CreateTruthSpectatorWeights(threshold=5,
minimum=0.1)``), which takes it out of the potentials and the payload.
"""

from __future__ import annotations

import numpy as np

MIN_HITS = 10
SPECTATOR_THRESHOLD = 5.0
SPECTATOR_WEIGHT = 0.9


def shower_scores(points: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each of ``points`` ``(n, 3)`` in its 2-D principal plane."""
    n = len(points)
    if n < MIN_HITS:
        return np.zeros(n)
    std = points.std(axis=0)
    scaled = (points - points.mean(axis=0)) / np.where(std > 0, std, 1.0)
    _, _, vt = np.linalg.svd(scaled, full_matrices=False)
    projected = scaled @ vt[:2].T
    centred = projected - projected.mean(axis=0)
    cov = np.cov(centred.T)
    inverse = np.linalg.pinv(cov)
    d2 = np.einsum("ni,ij,nj->n", centred, inverse, centred)
    return np.round(np.sqrt(np.maximum(d2, 0.0)), 1)


def spectator_scores(positions: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    """``(N,)`` scores of hits at ``positions`` ``(N, 3)`` by their shower ``t_idx`` (−1: noise)."""
    scores = np.zeros(len(t_idx))
    for shower in np.unique(t_idx[t_idx >= 0]):
        members = np.flatnonzero(t_idx == shower)
        scores[members] = shower_scores(positions[members].astype(np.float64))
    return scores


def spectator_weights(scores: np.ndarray) -> np.ndarray:
    """HGCalML's spectator weights: 0.9 above a score of 5, else 0."""
    return np.where(scores > SPECTATOR_THRESHOLD, SPECTATOR_WEIGHT, 0.0)
