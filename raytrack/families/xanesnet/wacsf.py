"""Weighted atom-centred symmetry functions (wACSF) of the absorbing atom's environment.

The reference's default structure descriptor (XANESNET ``descriptors/wacsf.py``): M. Gastegger,
L. Schwiedrzik, M. Bittermann, F. Berzsenyi and P. Marquetand, "wACSF — Weighted atom-centered
symmetry functions as descriptors in machine learning potentials", J. Chem. Phys. 148 (2018)
241709, building on J. Behler, J. Chem. Phys. 134 (2011) 074106. For the absorber ``i`` and its
neighbours ``j, k`` closer than ``r_max``, with Behler's cosine cutoff
``f_c(r) = (cos(π r / r_max) + 1) / 2`` for ``r < r_max`` (0 beyond) and weights
``w_j = 0.1 Z_j``:

.. math::

    G^1 = \\sum_j f_c(r_{ij}), \\qquad
    G^2_s = \\sum_j w_j\\, e^{-\\eta_s (r_{ij} - \\mu_s)^2} f_c(r_{ij}),

    G^4_{s\\lambda\\zeta} = 2^{1-\\zeta} \\sum_{j<k} w_j w_k (1 + \\lambda \\cos\\theta_{jik})^\\zeta
        \\prod_{r \\in \\{r_{ij}, r_{ik}, r_{jk}\\}} e^{-\\eta_s (r - \\mu_s)^2} f_c(r).

``shifted`` radial functions have centres ``μ_s`` evenly spaced over ``r_min + 0.5 .. r_max -
0.5`` with one width ``η = 1 / (2 Δr²)``; ``centred`` ones have ``μ = 0`` and widths
``η_s = 1 / (2 r_s²)`` for ``r_s`` evenly spaced over ``r_min + 1 .. r_max - 0.5``. ``n_g4`` is
split over every ``(λ, ζ)`` pair of ``l`` and ``z``. Two deliberate differences from the
reference code: its cosine cutoff is not clamped at ``r_max`` (so neighbour pairs further than
``r_max`` apart still add to G4), and its G4 widths are the first ``n_g4 / (|l| |z|)`` of
``n_g4`` widths (covering only the inner part of ``r_min .. r_max``); here the cutoff is
Behler's and the widths span the whole range.

Legend: ``F = 1 + n_g2 + n_g4`` features.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from raytrack.families.xanesnet.structure import Structure

Parameterisation = Literal["shifted", "centred"]


class WacsfParams(BaseModel):
    """wACSF settings, under the reference's names and with its defaults."""

    model_config = ConfigDict(extra="forbid")

    r_min: float = Field(1.0, ge=0.0, description="inner radius of the radial grid (Å)")
    r_max: float = Field(6.0, gt=0.0, description="cutoff radius around the absorber (Å)")
    n_g2: int = Field(16, ge=0, description="number of G2 (radial) functions")
    n_g4: int = Field(32, ge=0, description="number of G4 (angular) functions")
    l: list[float] = Field(default_factory=lambda: [1.0, -1.0], min_length=1)  # noqa: E741
    z: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    g2_parameterisation: Parameterisation = "shifted"
    g4_parameterisation: Parameterisation = "centred"

    @model_validator(mode="after")
    def _consistent(self) -> WacsfParams:
        pairs = len(self.l) * len(self.z)
        if self.n_g4 % pairs:
            raise ValueError(
                f"n_g4 must be a multiple of len(l) * len(z) = {pairs} (one radial function per "
                f"(lambda, zeta) pair), but got n_g4={self.n_g4}"
            )
        for name, n, kind in (("n_g2", self.n_g2, self.g2_parameterisation),
                              ("n_g4", self.n_g4 // pairs, self.g4_parameterisation)):  # fmt: skip
            if n:
                radii(n, self.r_min, self.r_max, kind, name)
        if any(zeta < 1 for zeta in self.z):
            raise ValueError(f"every zeta (z) must be at least 1, but got z={self.z}")
        if any(abs(lam) > 1 for lam in self.l):
            raise ValueError(f"every lambda (l) must lie in [-1, 1], but got l={self.l}")
        return self


def radii(n: int, r_min: float, r_max: float, kind: Parameterisation, name: str) -> np.ndarray:
    """The ``n`` radii of a parameterisation; an error names ``name`` when they do not fit."""
    low, high = (r_min + 0.5, r_max - 0.5) if kind == "shifted" else (r_min + 1.0, r_max - 0.5)
    if kind == "shifted" and n < 2:
        raise ValueError(f"{name}: shifted radial functions need at least 2, but got {n}")
    if not high > low:
        raise ValueError(
            f"{name}: {kind} radial functions span r_min + {low - r_min:g} .. r_max - 0.5 Å, "
            f"which is empty for r_min={r_min}, r_max={r_max}"
        )
    return np.linspace(low, high, n)


def _widths(n: int, params: WacsfParams, kind: Parameterisation, name: str):
    r = radii(n, params.r_min, params.r_max, kind, name)
    if kind == "shifted":
        return np.full(n, 1.0 / (2.0 * (r[1] - r[0]) ** 2)), r
    return 1.0 / (2.0 * r**2), np.zeros(n)


class WACSF:
    """The wACSF vector of one atom of a structure (see the module docstring).

    Shapes:
        - output: ``(F,)`` float64 with ``F = 1 + n_g2 + n_g4``
    """

    def __init__(self, params: WacsfParams) -> None:
        self.params = params
        self.n_features = 1 + params.n_g2 + params.n_g4
        pairs = len(params.l) * len(params.z)
        self.g2 = (
            _widths(params.n_g2, params, params.g2_parameterisation, "n_g2")
            if params.n_g2
            else None
        )
        self.g4 = (
            _widths(params.n_g4 // pairs, params, params.g4_parameterisation, "n_g4")
            if params.n_g4
            else None
        )

    def cutoff(self, r: np.ndarray) -> np.ndarray:
        r_max = self.params.r_max
        return np.where(r < r_max, 0.5 * (np.cos(np.pi * r / r_max) + 1.0), 0.0)

    def __call__(self, structure: Structure, index: int) -> np.ndarray:
        positions = structure.positions
        offsets = positions - positions[index]
        r = np.linalg.norm(offsets, axis=1)
        near = np.flatnonzero((r > 0.0) & (r < self.params.r_max))
        features = np.zeros(self.n_features)
        if len(near) == 0:
            return features
        weight = 0.1 * structure.numbers[near].astype(np.float64)
        r_ij, fc_ij = r[near], self.cutoff(r[near])
        features[0] = fc_ij.sum()
        if self.g2 is not None:
            eta, mu = self.g2
            gauss = np.exp(-eta[:, None] * (r_ij[None, :] - mu[:, None]) ** 2)
            features[1 : 1 + len(eta)] = gauss @ (weight * fc_ij)
        if self.g4 is not None and len(near) > 1:
            features[1 + self.params.n_g2 :] = self._g4(offsets[near], r_ij, fc_ij, weight)
        return features

    def _g4(self, offsets, r_ij, fc_ij, weight) -> np.ndarray:
        j, k = np.triu_indices(len(r_ij), k=1)
        r_jk = np.linalg.norm(offsets[j] - offsets[k], axis=1)
        cos = np.einsum("pd,pd->p", offsets[j], offsets[k]) / (r_ij[j] * r_ij[k])
        eta, mu = self.g4
        radial = np.ones((len(eta), len(j)))
        for dist, fc in ((r_ij[j], fc_ij[j]), (r_ij[k], fc_ij[k]), (r_jk, self.cutoff(r_jk))):
            radial *= np.exp(-eta[:, None] * (dist[None, :] - mu[:, None]) ** 2) * fc[None, :]
        radial *= (weight[j] * weight[k])[None, :]
        values = [
            (radial * (1.0 + lam * cos)[None, :] ** zeta).sum(axis=1) * 2.0 ** (1.0 - zeta)
            for lam in self.params.l
            for zeta in self.params.z
        ]
        return np.stack(values, axis=1).reshape(-1)  # per radial function: every (λ, ζ)
