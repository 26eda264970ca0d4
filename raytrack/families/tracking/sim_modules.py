"""Modules of the simulated detector as TrackML describes them: pitches, frames, overlaps.

The simulated detector (:mod:`raytrack.families.tracking.detector`) segments each layer into
modules; this module gives those modules what TrackML's ``detectors.csv`` holds for its own:

- **pitches and thickness per volume**, TrackML's (``detectors.csv`` of the challenge): pixel
  volumes 7-9 have 0.05 x 0.05625 mm pixels on 0.3 mm (``module_t = 0.15``, the half-thickness),
  short strips 12-14 0.08 x 1.2 mm on 0.5 mm, long strips 16/18 0.12 x 10.4 mm and 17
  0.12 x 10.8 mm on 0.7 mm. ``resolution: pitch`` smears hits by ``pitch / sqrt(12)``.
- **module frames** (``rot_*``): ``u`` along the azimuth, ``v`` along ``z`` (barrel) or outwards
  along ``r`` (disks), ``w`` the normal (outwards in the barrel, ``+-z`` on the disks), with the
  signs TrackML uses (a +z disk has ``u = (sin phi, -cos phi, 0)``, the barrel and -z disks
  ``u = (-sin phi, cos phi, 0)``), at the module's central azimuth.
- **overlaps**: a module covers ``module_overlap`` of its azimuthal width beyond each edge, so a
  crossing within that band of an edge is seen by the neighbouring module too.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from raytrack.families.tracking.detector import BARREL, Detector

PITCHES: dict[int, tuple[float, float, float]] = {
    7: (0.05, 0.05625, 0.15), 8: (0.05, 0.05625, 0.15), 9: (0.05, 0.05625, 0.15),
    12: (0.08, 1.2, 0.25), 13: (0.08, 1.2, 0.25), 14: (0.08, 1.2, 0.25),
    16: (0.12, 10.4, 0.35), 17: (0.12, 10.8, 0.35), 18: (0.12, 10.4, 0.35),
}  # fmt: skip
"""``volume_id -> (pitch_u, pitch_v, module_t)`` in mm, from TrackML's ``detectors.csv``."""

PIXEL_VOLUMES = (7, 8, 9)


def volume_pitches(volume_id: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pitch_u, pitch_v, module_t`` of every entry of ``volume_id``."""
    table = np.array([PITCHES[int(v)] for v in np.asarray(volume_id).ravel()]).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def module_place(
    det: Detector, surface: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where points lie in their modules: ``(k, iphi, n_phi, frac)``.

    ``k`` is the segment bin (ring or z row), ``iphi`` the azimuthal index within it, ``n_phi``
    the modules of the bin and ``frac`` the position across the module in azimuth (0 to 1).
    """
    surface = np.asarray(surface, np.int64)
    is_barrel = det.kind[surface] == BARREL
    seg_coord = np.where(is_barrel, z, np.hypot(x, y))
    k = (seg_coord[:, None] >= det.seg_edges[surface][:, 1:]).sum(axis=1)
    k = np.minimum(k, det.seg_count[surface] - 1)
    n_phi = det.seg_n_phi[surface, k]
    pos = (np.arctan2(y, x) + np.pi) / (2 * np.pi) * n_phi
    iphi = np.clip(np.floor(pos).astype(np.int64), 0, n_phi - 1)
    return k, iphi, n_phi, np.clip(pos - iphi, 0.0, 1.0)


def overlap_neighbours(
    det: Detector, surface: np.ndarray, x, y, z, overlap: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Crossings also seen by a neighbouring module, and that module's id.

    Returns ``(which, module_id)``: indices into the crossings and the 1-based id of the
    azimuthal neighbour whose overlap band (``overlap`` of a module width, one value or one
    per surface) holds the crossing.
    """
    overlap = np.broadcast_to(np.asarray(overlap, float), (det.n_surfaces,))[surface]
    if not np.any(overlap > 0) or len(surface) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    k, iphi, n_phi, frac = module_place(det, surface, x, y, z)
    low, high = frac < overlap, frac > 1.0 - overlap
    which = np.flatnonzero(low | high)
    step = np.where(low[which], -1, 1)
    neighbour = np.mod(iphi[which] + step, n_phi[which])
    module = det.seg_offset[np.asarray(surface)[which], k[which]] + neighbour + 1
    return which, module.astype(np.int32)


@cache
def detectors_frame(det: Detector) -> pd.DataFrame:
    """The simulated detector's modules in TrackML's ``detectors.csv`` columns (cached)."""
    rows = []
    for s in range(det.n_surfaces):
        for k in range(int(det.seg_count[s])):
            n_phi = int(det.seg_n_phi[s, k])
            iphi = np.arange(n_phi)
            rows.append(
                pd.DataFrame(
                    {
                        "surface": s,
                        "module_id": det.seg_offset[s, k] + iphi + 1,
                        "phi": -np.pi + (iphi + 0.5) * (2 * np.pi / n_phi),
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    s = frame.pop("surface").to_numpy()
    phi = frame.pop("phi").to_numpy()
    frame.insert(0, "volume_id", det.volume_id[s])
    frame.insert(1, "layer_id", det.layer_id[s])
    sin, cos, zero = np.sin(phi), np.cos(phi), np.zeros(len(phi))
    barrel = det.kind[s] == BARREL
    plus_disk = ~barrel & (det.z[s] > 0)
    sign = np.where(plus_disk, -1.0, 1.0)
    u = np.stack([-sin * sign, cos * sign, zero], axis=1)
    v = np.where(
        barrel[:, None], np.stack([zero, zero, zero + 1], 1), np.stack([cos, sin, zero], 1)
    )
    w = np.cross(u, v)
    for i, axis in enumerate("xyz"):
        frame[f"rot_{axis}u"], frame[f"rot_{axis}v"], frame[f"rot_{axis}w"] = (
            u[:, i],
            v[:, i],
            w[:, i],
        )
    pitch_u, pitch_v, module_t = volume_pitches(frame["volume_id"].to_numpy())
    frame["module_t"], frame["pitch_u"], frame["pitch_v"] = module_t, pitch_u, pitch_v
    frame.attrs["source"] = "the simulated detector (raytrack.families.tracking.sim_modules)"
    return frame


def module_rotations(det: Detector, volume, layer, module) -> np.ndarray:
    """``(n, 3, 3)`` rotation (columns ``u, v, w``) of each ``(volume, layer, module)``."""
    frame = detectors_frame(det)
    keys = pd.DataFrame({"volume_id": volume, "layer_id": layer, "module_id": module})
    cols = [f"rot_{a}{b}" for a in "xyz" for b in "uvw"]
    merged = keys.merge(frame, on=["volume_id", "layer_id", "module_id"], how="left")
    return merged[cols].to_numpy(np.float64).reshape(-1, 3, 3)
