"""What a spectroscopist reads off a spectrum: the edge and the main peak, in eV.

- the **edge** position ``E_0``: the energy of the steepest rise of the absorption (the maximum
  of its derivative on the grid), the usual first-derivative convention and the reference's
  ``XANES.estimate_e0``; on a K-edge with a strong pre-edge peak it may sit on the pre-edge's
  flank, for the true and the predicted spectrum alike;
- the **main peak** (white line): the energy of the maximum absorption;
- the mean absolute error **per energy point** over a set of spectra.

Legend: ``S`` spectra; ``P`` grid points.
"""

from __future__ import annotations

import numpy as np


def edge_positions(energy: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """The steepest-rise energy ``E_0`` of each spectrum: ``(S, P)`` → ``(S,)`` eV."""
    slope = np.gradient(np.atleast_2d(spectra), energy, axis=-1)
    return energy[np.argmax(slope, axis=-1)]


def peak_positions(energy: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """The energy of the maximum absorption of each spectrum: ``(S, P)`` → ``(S,)`` eV."""
    return energy[np.argmax(np.atleast_2d(spectra), axis=-1)]


def mae_per_point(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The mean over spectra of ``|predicted - truth|`` at each point: ``(S, P)`` → ``(P,)``."""
    return np.abs(predicted - truth).mean(axis=0)
