"""Showers from a trained object-condensation model: condensation points and their hits.

HGCalML's inference (``OCHits2Showers``, after Kieseler 2020, arXiv:2002.03605): hits are taken
in decreasing β; a hit with ``β > t_beta`` that no shower holds yet becomes a condensation
point ``α`` and takes every free hit within ``t_d·dist_α`` of it in the clustering space (the
predicted distance scale, 1 with ``fix_distance_scale``). Hits no shower takes are noise (−1).

A shower's energy is the energy correction predicted at its condensation point times the sum of
its hits' energies; track points (``isTrack``) carry momenta and do not enter the sum.

Shapes:
    - inputs per event: ``beta, dist, energy, energy_corr`` ``(N,)``, ``ccoords`` ``(N, C)``,
      ``is_track`` ``(N,)`` bool
    - output: ``labels`` ``(N,)`` (shower number 0 … S−1 or −1), ``alpha`` ``(S,)``,
      ``energy`` and ``deposited`` ``(S,)``
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PredictedShowers:
    """The showers of one event (see the module documentation)."""

    labels: np.ndarray
    alpha: np.ndarray
    energy: np.ndarray
    deposited: np.ndarray

    @property
    def count(self) -> int:
        return len(self.alpha)


def condensation_clusters(
    beta: np.ndarray, ccoords: np.ndarray, dist: np.ndarray, *, t_beta: float, t_d: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, alpha)``: each hit's shower (−1: none) and the condensation points."""
    if not 0.0 <= t_beta < 1.0:
        raise ValueError(f"t_beta must be in [0, 1), but got t_beta={t_beta}")
    if t_d <= 0:
        raise ValueError(f"t_d must be positive, but got t_d={t_d}")
    labels = np.full(len(beta), -1, dtype=np.int64)
    alphas: list[int] = []
    candidates = np.flatnonzero(beta > t_beta)
    for hit in candidates[np.argsort(-beta[candidates], kind="stable")]:
        if labels[hit] >= 0:
            continue
        free = np.flatnonzero(labels < 0)
        d2 = ((ccoords[free] - ccoords[hit]) ** 2).sum(axis=1)
        labels[free[d2 <= (t_d * dist[hit]) ** 2]] = len(alphas)
        labels[hit] = len(alphas)
        alphas.append(int(hit))
    return labels, np.asarray(alphas, dtype=np.int64)


def predicted_showers(
    beta: np.ndarray, ccoords: np.ndarray, dist: np.ndarray, energy: np.ndarray,
    energy_corr: np.ndarray, is_track: np.ndarray, *, t_beta: float, t_d: float,
) -> PredictedShowers:  # fmt: skip
    """The showers of one event with their energies (see the module documentation)."""
    labels, alpha = condensation_clusters(beta, ccoords, dist, t_beta=t_beta, t_d=t_d)
    calo = (labels >= 0) & ~is_track
    deposited = np.bincount(labels[calo], energy[calo], minlength=len(alpha))
    return PredictedShowers(labels, alpha, energy_corr[alpha] * deposited, deposited)
