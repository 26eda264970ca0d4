"""Exa.TrkX cell features of TrackML hits, from the cells file and the detector geometry.

Follows the Exa.TrkX TrackML preprocessing (``detector_utils.py`` of the Tracking-ML-Exa.TrkX
pipelines, as adapted by gnn_tracking), per hit:

- ``cell_count``: number of pixel cells of the hit's cluster; ``cell_val``: sum of their values;
- ``lx = nb_u * pitch_u``, ``ly = nb_v * pitch_v``: the cluster's extent in the module frame, with
  ``nb_u = max(ch0) - min(ch0) + 1`` (``nb_v`` from ``ch1``) and the module's pitches;
  ``lz = 2 * module_t`` (twice the module half-thickness);
- ``leta, lphi``: pseudorapidity and azimuth of the vector ``(lx, ly, lz)`` in the module frame;
- ``geta, gphi``: the same for that vector rotated into the global frame by the module's
  rotation matrix ``[[rot_xu, rot_xv, rot_xw], [rot_yu, rot_yv, rot_yw], [rot_zu, rot_zv, rot_zw]]``.

Unlike the reference (which aligns group-by results with the hits by position), values are joined
by ``hit_id``; a hit without cells gets ``cell_count = cell_val = 0`` and NaN shape features.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

DETECTOR_COLUMNS = (
    "volume_id", "layer_id", "module_id",
    "rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv", "rot_yw", "rot_zu", "rot_zv", "rot_zw",
    "module_t", "pitch_u", "pitch_v",
)  # fmt: skip
CELLS_COLUMNS = ("hit_id", "ch0", "ch1", "value")
CELL_FEATURES = ("cell_count", "cell_val", "leta", "lphi", "lx", "ly", "lz", "geta", "gphi")


def missing_columns_error(missing: list[str], file: str | os.PathLike) -> ValueError:
    names = ", ".join(repr(name) for name in missing)
    word = "column" if len(missing) == 1 else "columns"
    return ValueError(f"missing {word} {names} in file {file}")


def load_detectors(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TrackML ``detectors.csv[.gz]`` (an unnamed leading index column is dropped)."""
    path = Path(path)
    frame = pd.read_csv(path)
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed") or str(c).strip() == ""]
    frame = frame.drop(columns=unnamed)
    missing = [c for c in DETECTOR_COLUMNS if c not in frame.columns]
    if missing:
        raise missing_columns_error(missing, path)
    frame.attrs["source"] = str(path)
    return frame


def _eta_phi(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r3 = np.sqrt(x**2 + y**2 + z**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(z / r3)
        eta = -np.log(np.tan(0.5 * theta))
    return eta, np.arctan2(y, x)


def cell_features(
    hits: pd.DataFrame, cells: pd.DataFrame, detectors: pd.DataFrame, *, cells_file: str = "cells"
) -> dict[str, np.ndarray]:
    """Exa.TrkX cell features of ``hits`` (in their row order) as float32 arrays.

    ``hits`` needs ``hit_id, volume_id, layer_id, module_id``; ``cells`` the TrackML cells
    columns ``hit_id, ch0, ch1, value``; ``detectors`` a frame from :func:`load_detectors`.
    """
    missing = [c for c in CELLS_COLUMNS if c not in cells.columns]
    if missing:
        raise missing_columns_error(missing, cells_file)
    grouped = cells.groupby("hit_id", sort=False)
    agg = pd.DataFrame(
        {
            "cell_count": grouped["value"].count(),
            "cell_val": grouped["value"].sum(),
            "nb_u": grouped["ch0"].max() - grouped["ch0"].min() + 1,
            "nb_v": grouped["ch1"].max() - grouped["ch1"].min() + 1,
        }
    )
    per_hit = agg.reindex(hits["hit_id"].to_numpy())
    keys = ["volume_id", "layer_id", "module_id"]
    geometry = hits[keys].merge(
        detectors[list(DETECTOR_COLUMNS)], on=keys, how="left", validate="many_to_one"
    )
    unknown = geometry["module_t"].isna().to_numpy()
    if unknown.any():
        bad = hits.loc[unknown, keys].drop_duplicates().head(3).to_numpy().tolist()
        source = detectors.attrs.get("source", "the detectors file")
        raise ValueError(
            f"{int(unknown.sum())} hits lie on modules missing from {source} "
            f"(volume_id, layer_id, module_id), e.g. {bad}"
        )
    nb_u = per_hit["nb_u"].to_numpy(dtype=np.float64)
    nb_v = per_hit["nb_v"].to_numpy(dtype=np.float64)
    lx = nb_u * geometry["pitch_u"].to_numpy(dtype=np.float64)
    ly = nb_v * geometry["pitch_v"].to_numpy(dtype=np.float64)
    lz = 2.0 * geometry["module_t"].to_numpy(dtype=np.float64)
    lz = np.where(np.isnan(nb_u), np.nan, lz)
    rot = geometry[list(DETECTOR_COLUMNS[3:12])].to_numpy(dtype=np.float64).reshape(-1, 3, 3)
    g = np.einsum("nij,nj->ni", rot, np.stack([lx, ly, lz], axis=1))
    leta, lphi = _eta_phi(lx, ly, lz)
    geta, gphi = _eta_phi(g[:, 0], g[:, 1], g[:, 2])
    features = {
        "cell_count": per_hit["cell_count"].fillna(0).to_numpy(),
        "cell_val": per_hit["cell_val"].fillna(0).to_numpy(),
        "leta": leta,
        "lphi": lphi,
        "lx": lx,
        "ly": ly,
        "lz": lz,
        "geta": geta,
        "gphi": gphi,
    }
    return {name: np.asarray(values, dtype=np.float32) for name, values in features.items()}
