"""Read CMS HGCAL ntuples (ROOT) into calorimeter events, as HGCalML's ``TrainData_NanoML`` does.

Per entry of the tree (and per endcap with ``split_endcaps``): the hits' features are derived
from energy, position, time and cell radius (:func:`~.calo_event.hit_features`, ``isTrack`` 0);
a hit's truth is the shower its ``hit_truth_index`` names, unless that index is negative, out of
range, names a shower that is not ``truth_trainable``, or a shower in the other endcap: then the
hit is noise (``t_idx = −1``) with its own energy, position and time as truth. As in the
reference, a muon's ``t_energy`` is its deposited energy; ``t_rec_energy`` is the sum of the
shower's hit energies; ``t_fully_contained`` is ``|impact z| < contained_z``; spectator scores
come from :mod:`.spectators`. Track collections are not read.

Needs ``uproot`` (``pip install 'raytrack[gravnet]'``). Branch names are settings
(:class:`~.ntuple_settings.NtupleSettings`), so ntuples of other layouts can be mapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from raytrack.families.gravnet.calo_event import CaloEvent, hit_features
from raytrack.families.gravnet.ntuple_settings import NtupleSettings
from raytrack.families.gravnet.spectators import spectator_scores


def _uproot() -> Any:
    try:
        import uproot
    except ImportError as err:
        raise ImportError(
            "the hgcal_ntuple reader needs uproot: pip install 'raytrack[gravnet]' (or uproot)"
        ) from err
    return uproot


def ntuple_files(path: str) -> list[Path]:
    """``path`` itself, or the ``.root`` files of the directory ``path`` (sorted)."""
    where = Path(path).expanduser()
    if where.is_dir():
        files = sorted(where.glob("*.root"))
        if not files:
            raise FileNotFoundError(f"path: no .root files in the directory {where}")
        return files
    if not where.is_file():
        raise FileNotFoundError(f"path: {where} is neither a .root file nor a directory")
    return [where]


def _tree(uproot: Any, file: Path, settings: NtupleSettings) -> Any:
    handle = uproot.open(file)
    try:
        tree = handle[settings.tree]
    except KeyError:
        raise KeyError(
            f"tree: {file} has no tree {settings.tree!r}; it holds {sorted(handle.keys())}"
        ) from None
    present = set(tree.keys())
    fields = NtupleSettings.model_fields
    for name, value in settings.model_dump().items():
        if name in fields and isinstance(value, str) and name not in ("path", "tree"):
            if value not in present:
                raise KeyError(
                    f"{name}: branch {value!r} is not in {file}:{settings.tree}; map {name} to "
                    f"one of its branches: {sorted(present)[:40]}"
                )
    return tree


def read_ntuples(settings: NtupleSettings, provenance: dict[str, Any]) -> Iterator[CaloEvent]:
    """Every event (per endcap) of the ntuples at ``settings.path``; fills ``provenance``."""
    uproot = _uproot()
    files = ntuple_files(settings.path)
    provenance.update({"reader": "raytrack.families.gravnet.ntuple_reader",
                       "files": [f.name for f in files], "tree": settings.tree, "entries": {}})  # fmt: skip
    branches = settings.hit_branches() + settings.truth_branches()
    event_id = 0
    for file in files:
        tree = _tree(uproot, file, settings)
        provenance["entries"][file.name] = int(tree.num_entries)
        for chunk in tree.iterate(branches, step_size=settings.step_size, library="np"):
            layer_z = None
            if settings.hit_layer is None:
                all_z = np.concatenate([np.abs(z) for z in chunk[settings.hit_z]] or [np.zeros(0)])
                layer_z = np.unique(np.round(all_z, 1))
            for entry in range(len(chunk[settings.hit_energy])):
                values = {name: np.asarray(chunk[name][entry]) for name in branches}
                sides = (1.0, -1.0) if settings.split_endcaps else (0.0,)
                for side in sides:
                    event = _event(event_id, values, side, layer_z, settings)
                    if event is not None:
                        yield event
                        event_id += 1


def _event(
    event_id: int, v: dict[str, np.ndarray], side: float, layer_z: np.ndarray | None,
    s: NtupleSettings,
) -> CaloEvent | None:  # fmt: skip
    z_all = v[s.hit_z].astype(np.float64)
    keep = z_all * side > 0 if side else np.ones(len(z_all), bool)
    if not keep.any():
        return None
    e = v[s.hit_energy][keep].astype(np.float64)
    x, y, z = v[s.hit_x][keep], v[s.hit_y][keep], z_all[keep]
    time, hit_r = v[s.hit_time][keep], v[s.hit_r][keep]
    index = v[s.hit_truth_index][keep].astype(np.int64)
    n_truth = len(v[s.truth_energy])
    valid = (index >= 0) & (index < n_truth)
    safe = np.where(valid, index, 0)
    if s.truth_trainable and n_truth:
        valid &= v[s.truth_trainable].astype(bool)[safe]
    if n_truth:
        valid &= v[s.truth_z][safe] * z > 0  # a stray hit in the other endcap is noise
    t_idx = np.where(valid, index, -1)
    features = hit_features(e, x, y, z, time, hit_r, np.zeros(len(e)))
    pick = (lambda branch, own: np.where(valid, v[branch][safe], own)) if n_truth else (
        lambda branch, own: np.asarray(own))  # fmt: skip
    rec = np.bincount(t_idx[valid], e[valid], minlength=n_truth)
    pid = pick(s.truth_pid, np.zeros(len(e))).astype(np.int64)
    t_energy = pick(s.truth_energy, e)
    t_energy = np.where(valid & (np.abs(pid) == 13), rec[safe] if n_truth else e, t_energy)
    t_pos = np.stack([pick(s.truth_x, x), pick(s.truth_y, y), pick(s.truth_z, z)], axis=1)
    if s.hit_layer is not None:
        layer = v[s.hit_layer][keep].astype(np.int64)
    else:
        layer = np.searchsorted(layer_z, np.round(np.abs(z), 1))
    return CaloEvent(
        event_id, features, layer.astype(np.int32),
        t_idx=t_idx.astype(np.int32), t_energy=t_energy, t_pos=t_pos,
        t_time=pick(s.truth_time, time), t_pid=pid.astype(np.int32),
        t_spectator=spectator_scores(features[:, 5:8], t_idx),
        t_rec_energy=np.where(valid, rec[safe] if n_truth else e, e),
        t_fully_contained=np.where(valid, np.abs(t_pos[:, 2]) < s.contained_z, True).astype(
            np.float32),
        n_particles=int(len(np.unique(t_idx[valid]))), n_pileup=0,
    )  # fmt: skip
