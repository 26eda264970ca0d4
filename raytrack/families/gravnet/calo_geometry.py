"""A layered sampling calorimeter with a silicon-like readout, after the CMS HGCAL endcap.

Two sections along +z, starting at ``z_front``: an electromagnetic one (``em_layers`` layers,
each behind ``em_layer_x0`` radiation lengths of tungsten/lead-like absorber, λ = X0 / 30) and a
hadronic one (``had_layers`` layers behind ``had_layer_lambda`` interaction lengths of steel-like
absorber, X0 = λ / 9.5). Each active layer is a plane of square cells (``cell_size_em`` /
``cell_size_had``) that samples the energy deposited in the absorber in front of it. Energies
are calibrated to the electromagnetic scale: a minimum-ionising particle (MIP) crossing a layer
reads the energy it lost in that layer's absorber (10 MeV per X0 in the EM section, 190 MeV per
λ in the hadronic one).

Depths: ``cum_x0[l]`` and ``cum_lambda[l]`` are the depths at the back of absorber ``l``; energy
deposited at a depth ``d`` with ``cum[l - 1] < d <= cum[l]`` is read by layer ``l``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raytrack.families.gravnet.calo_settings import CaloSimSettings

LAMBDA_PER_X0_EM = 1.0 / 30.0
"""Interaction lengths per radiation length of the EM absorber (W/Pb with Cu: ~1/30)."""
X0_PER_LAMBDA_HAD = 9.5
"""Radiation lengths per interaction length of the hadronic absorber (steel: 16.8 / 1.76)."""
MIP_PER_X0_EM = 0.010
"""Calibrated energy (GeV) a MIP loses per radiation length of EM absorber."""
MIP_PER_LAMBDA_HAD = 0.19
"""Calibrated energy (GeV) a MIP loses per interaction length of steel (11.4 MeV/cm × 16.8 cm)."""


@dataclass(frozen=True)
class SamplingCalorimeter:
    """Layer positions, depths, cell sizes and MIP energies (see the module documentation).

    Shapes:
        every array is ``(L,)``, ``L = em_layers + had_layers``.
    """

    z: np.ndarray
    cum_x0: np.ndarray
    cum_lambda: np.ndarray
    cell_size: np.ndarray
    mip: np.ndarray
    em_layers: int

    @classmethod
    def from_settings(cls, settings: CaloSimSettings) -> SamplingCalorimeter:
        n_em, n_had = settings.em_layers, settings.had_layers
        x0 = np.r_[np.full(n_em, settings.em_layer_x0),
                   np.full(n_had, settings.had_layer_lambda * X0_PER_LAMBDA_HAD)]  # fmt: skip
        lam = np.r_[np.full(n_em, settings.em_layer_x0 * LAMBDA_PER_X0_EM),
                    np.full(n_had, settings.had_layer_lambda)]  # fmt: skip
        pitch = np.r_[np.full(n_em, settings.em_layer_pitch),
                      np.full(n_had, settings.had_layer_pitch)]  # fmt: skip
        z = settings.z_front + np.concatenate([[0.0], np.cumsum(pitch[1:])])
        mip = np.r_[np.full(n_em, settings.em_layer_x0 * MIP_PER_X0_EM),
                    np.full(n_had, settings.had_layer_lambda * MIP_PER_LAMBDA_HAD)]  # fmt: skip
        cells = np.r_[np.full(n_em, settings.cell_size_em), np.full(n_had, settings.cell_size_had)]
        return cls(z, np.cumsum(x0), np.cumsum(lam), cells, mip, n_em)

    @property
    def num_layers(self) -> int:
        return len(self.z)

    def layer_at_x0(self, depth: np.ndarray) -> np.ndarray:
        """The layer reading energy deposited at ``depth`` radiation lengths (−1: behind the last)."""
        layer = np.searchsorted(self.cum_x0, np.maximum(depth, 0.0), side="left")
        return np.where(layer < self.num_layers, layer, -1)

    def layer_at_lambda(self, depth: np.ndarray) -> np.ndarray:
        """The layer reading energy deposited at ``depth`` interaction lengths (−1: behind the last)."""
        layer = np.searchsorted(self.cum_lambda, np.maximum(depth, 0.0), side="left")
        return np.where(layer < self.num_layers, layer, -1)

    def x0_of_lambda(self, depth: np.ndarray | float) -> np.ndarray:
        """Radiation lengths at the depth of ``depth`` interaction lengths."""
        return np.interp(depth, np.r_[0.0, self.cum_lambda], np.r_[0.0, self.cum_x0])

    def cells(self, layer: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Integer cell indices ``(ix, iy)`` of points ``(x, y)`` in ``layer``."""
        size = self.cell_size[layer]
        return np.floor(x / size).astype(np.int64), np.floor(y / size).astype(np.int64)

    def cell_centres(
        self, layer: np.ndarray, ix: np.ndarray, iy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        size = self.cell_size[layer]
        return (ix + 0.5) * size, (iy + 0.5) * size
