"""TrackML-like cells of simulated hits: clusters from the track's crossing of its module.

A particle crosses its module's sensitive depth ``T`` along its direction ``d`` in the module
frame ``(u, v, w)``; the crossing spans ``T |d_u / d_w|`` along ``u`` and ``T |d_v / d_w|`` along
``v``, widened by ``CHARGE_SPREAD`` (diffusion) on each side and, in the pixel barrel (where the
field is across the sensor's drift field), by the Lorentz drift ``LORENTZ_TAN * T`` along ``u``; it
starts at a uniformly random place within a channel. ``T`` is ``module_t`` (TrackML's
half-thickness): the real event's pixel-barrel clusters grow as ``0.15 mm * |cot theta| / pitch_v``
along ``v``, not as twice that. The cluster covers ``nb_u`` channels along ``u``
and ``nb_v`` along ``v``; its cells are a staircase of ``nb_u + nb_v - 1`` channels from one
corner to the other (a straight track through a pixel grid), ``ch0`` along ``u`` and ``ch1``
along ``v`` as in TrackML's cells files.

Values: strip cells read ``1`` (binary read-out, as TrackML's strip cells); pixel cells share the
hit's charge, ``PIXEL_MIP_CHARGE * path / T`` times a Landau-like (Moyal) fluctuation
(``1 + CHARGE_FLUCTUATION * (X - 1.27)``, ``X`` Moyal), equally.
Noise hits get cells of a particle from the beam spot (their direction is their position).

:func:`simulated_cell_features` then runs the real event's path
(:func:`raytrack.families.tracking.cells.cell_features`) on these cells and the simulated
detector's ``detectors.csv``-like frame (:func:`~raytrack.families.tracking.sim_modules.detectors_frame`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raytrack.families.tracking.cells import cell_features
from raytrack.families.tracking.detector import Detector
from raytrack.families.tracking.sim_modules import (
    PIXEL_VOLUMES,
    detectors_frame,
    module_rotations,
    volume_pitches,
)

CHARGE_SPREAD = 0.005
"""mm of charge diffusion added at each side of a crossing's projection."""

LORENTZ_TAN = 0.4
"""Tangent of the Lorentz angle in the pixel barrel: the real event's pixel-barrel clusters span
two columns along ``u`` at any incidence (its strip-barrel clusters often one strip: no drift
is modelled there)."""

PIXEL_MIP_CHARGE = {"barrel": 0.16, "disk": 0.3}
"""Charge of a pixel hit crossing the sensor at normal incidence, calibrated on the real event:
its pixel-barrel hits with ``|cot theta| < 0.2`` sum to 0.16 (median), its endcap pixel hits
(near-normal) to 0.30."""

CHARGE_FLUCTUATION = 0.045
"""Relative width of the charge fluctuation (the real endcap pixel hits: 5-95% within -15%/+16%
of the median)."""

BARREL_VOLUMES = (8, 13, 17)

MAX_CHANNELS = 400
"""Longest cluster along one axis (a track nearly parallel to the sensor)."""


def simulated_cells(
    det: Detector, hits: dict[str, np.ndarray], direction: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Cells (``hit_id, ch0, ch1, value``) of ``hits``, crossed along ``direction`` ``(n, 3)``.

    ``hits`` needs ``hit_id, x, y, z, volume_id, layer_id, module_id``; a row of ``direction``
    that is not finite (a noise hit) is replaced by the hit's position.
    """
    n = len(hits["hit_id"])
    pos = np.stack([hits[c].astype(np.float64) for c in "xyz"], axis=1)
    d = np.where(np.isfinite(direction).all(axis=1)[:, None], direction, pos)
    d = d / np.maximum(np.linalg.norm(d, axis=1), 1e-12)[:, None]
    rot = module_rotations(det, hits["volume_id"], hits["layer_id"], hits["module_id"])
    local = np.einsum("nji,nj->ni", rot, d)  # rot's columns are u, v, w: local = rot^T d
    pitch_u, pitch_v, thickness = volume_pitches(hits["volume_id"])
    barrel = np.isin(hits["volume_id"], BARREL_VOLUMES)
    dw = np.maximum(np.abs(local[:, 2]), 1e-3)
    pixel = np.isin(hits["volume_id"], PIXEL_VOLUMES)
    lorentz = np.where(barrel & pixel, LORENTZ_TAN * thickness, 0.0)
    span_u = thickness * np.abs(local[:, 0]) / dw + 2 * CHARGE_SPREAD + lorentz
    span_v = thickness * np.abs(local[:, 1]) / dw + 2 * CHARGE_SPREAD
    start_u = rng.random(n) * pitch_u
    start_v = rng.random(n) * pitch_v
    nb_u = np.minimum(np.floor((start_u + span_u) / pitch_u).astype(np.int64) + 1, MAX_CHANNELS)
    nb_v = np.minimum(np.floor((start_v + span_v) / pitch_v).astype(np.int64) + 1, MAX_CHANNELS)
    count = nb_u + nb_v - 1

    moyal = -np.log(np.maximum(rng.standard_normal(n) ** 2, 1e-12))  # Moyal(0, 1): mean 1.27
    path = thickness / dw
    mip = np.where(barrel, PIXEL_MIP_CHARGE["barrel"], PIXEL_MIP_CHARGE["disk"])
    fluctuation = np.clip(1.0 + CHARGE_FLUCTUATION * (moyal - 1.27), 0.5, 3.0)
    charge = mip * path / thickness * fluctuation

    which = np.repeat(np.arange(n), count)
    j = np.arange(which.size) - np.repeat(np.cumsum(count) - count, count)
    base_u = rng.integers(0, 300, n)  # the cluster's first channel (its place in the module)
    base_v = rng.integers(0, 300, n)
    ch0 = base_u[which] + np.minimum(j, nb_u[which] - 1)
    ch1 = base_v[which] + np.maximum(0, j - (nb_u[which] - 1))
    value = np.where(pixel[which], charge[which] / count[which], 1.0)
    return pd.DataFrame(
        {
            "hit_id": np.asarray(hits["hit_id"], np.int64)[which],
            "ch0": ch0.astype(np.int64),
            "ch1": ch1.astype(np.int64),
            "value": value,
        }
    )


def simulated_cell_features(
    det: Detector, hits: dict[str, np.ndarray], direction: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The Exa.TrkX cell features of simulated ``hits``, by the real event's path."""
    cells = simulated_cells(det, hits, direction, rng)
    frame = pd.DataFrame(
        {k: np.asarray(hits[k]) for k in ("hit_id", "volume_id", "layer_id", "module_id")}
    )
    return cell_features(frame, cells, detectors_frame(det), cells_file="simulated cells")
