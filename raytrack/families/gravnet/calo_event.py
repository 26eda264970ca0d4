"""One calorimeter event in the sample store: hit features and per-hit truth, as HGCalML has them.

A store of the gravnet family holds one row per event, keyed by ``event_id``. Every hit column
belongs to the group ``hit`` (one value per hit, tracks included):

- ``features`` ``(N, 10)`` float32: HGCalML's rechit features in its order,
  :data:`FEATURE_NAMES` = ``[E, η, isTrack, θ, R, x, y, z, t, hitR]`` (energy in GeV, ``R`` the
  distance from the origin, ``x, y, z`` in cm, ``t`` in ns, ``hitR`` the cell's half size);
  a track is one extra point at the calorimeter front face with ``isTrack = 1``, its momentum as
  ``E`` and ``t = hitR = 0`` (HGCalML's track collection);
- ``layer`` int32: the active layer of the hit (0 = first; tracks −1);
- the truth of HGCalML's ``TrainData_NanoML``: ``t_idx`` (int32, the shower's index in the event,
  −1 for noise), ``t_energy`` (true energy, GeV), ``t_pos`` ``(N, 3)`` (impact point on the front
  face), ``t_time`` (impact time, ns), ``t_pid`` (PDG id, 0 for noise), ``t_spectator`` (spectator
  score: Mahalanobis distance from the shower's principal axes, 0 for noise),
  ``t_rec_energy`` (the deposited energy of the hit's shower: the sum of its hits' ``E``), and
  ``t_fully_contained`` (1 when the shower's leakage is below 5%). Noise hits carry their own
  ``E``, position and time as truth, as in the reference.

Event scalars: ``n_particles`` (signal particles generated) and ``n_pileup``.

Legend: ``N`` hits (tracks included) in the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from raytrack.store.columns import Column, StoreSchema

KEY = "event_id"

FEATURE_NAMES = (
    "recHitEnergy",
    "recHitEta",
    "isTrack",
    "recHitTheta",
    "recHitR",
    "recHitX",
    "recHitY",
    "recHitZ",
    "recHitTime",
    "recHitHitR",
)
"""HGCalML's feature order (``TrainData_NanoML.createFeatureDict``)."""

E, ETA, IS_TRACK, THETA, R, X, Y, Z, T, HIT_R = range(len(FEATURE_NAMES))
"""Column positions in ``features``."""

TRUTH_COLUMNS: dict[str, tuple[str, tuple[int | None, ...]]] = {
    "t_idx": ("int32", (None,)),
    "t_energy": ("float32", (None,)),
    "t_pos": ("float32", (None, 3)),
    "t_time": ("float32", (None,)),
    "t_pid": ("int32", (None,)),
    "t_spectator": ("float32", (None,)),
    "t_rec_energy": ("float32", (None,)),
    "t_fully_contained": ("float32", (None,)),
}

SCHEMA = StoreSchema(
    KEY,
    (
        Column("features", "float32", (None, len(FEATURE_NAMES)), "hit"),
        Column("layer", "int32", (None,), "hit"),
        *(Column(name, dtype, shape, "hit") for name, (dtype, shape) in TRUTH_COLUMNS.items()),
        Column("n_particles", "int32"),
        Column("n_pileup", "int32"),
    ),
)
"""The store schema of every gravnet data source."""


@dataclass(frozen=True)
class CaloEvent:
    """The hits of one event and their truth (see the module documentation).

    Shapes:
        ``features`` ``(N, 10)``; ``t_pos`` ``(N, 3)``; every other array ``(N,)``.
    """

    event_id: int
    features: np.ndarray
    layer: np.ndarray
    t_idx: np.ndarray
    t_energy: np.ndarray
    t_pos: np.ndarray
    t_time: np.ndarray
    t_pid: np.ndarray
    t_spectator: np.ndarray
    t_rec_energy: np.ndarray
    t_fully_contained: np.ndarray
    n_particles: int = 0
    n_pileup: int = 0

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features.ndim != 2 or self.features.shape[1] != len(FEATURE_NAMES):
            raise ValueError(
                f"event {self.event_id}: features must have shape (N, {len(FEATURE_NAMES)}), "
                f"but have {self.features.shape}"
            )
        for name in ("layer", *TRUTH_COLUMNS):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"event {self.event_id}: {name} has {len(getattr(self, name))} entries "
                    f"for {n} hits"
                )

    @property
    def num_hits(self) -> int:
        return len(self.features)

    @property
    def is_track(self) -> np.ndarray:
        return self.features[:, IS_TRACK] > 0.5

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {KEY: int(self.event_id)}
        for column in SCHEMA.columns:
            value = getattr(self, column.name)
            row[column.name] = (
                np.int32(value) if column.shape == () else np.asarray(value, column.dtype)
            )
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CaloEvent:
        missing = [c.name for c in SCHEMA.columns if c.name not in row]
        if missing:
            raise KeyError(
                f"row {row.get(KEY)!r} is not a calorimeter event: it lacks {missing} (gravnet "
                "models read stores of the calo_sim or hgcal_ntuple data sources)"
            )
        values = {c.name: np.asarray(row[c.name]) for c in SCHEMA.columns if c.shape != ()}
        return cls(
            int(row[KEY]),
            **values,
            n_particles=int(row["n_particles"]),
            n_pileup=int(row["n_pileup"]),
        )


def hit_features(
    energy: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, time: np.ndarray,
    hit_r: np.ndarray, is_track: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """``(N, 10)`` float32 features from hit energies and positions (HGCalML's derivation:
    ``R = |(x, y, z)|``, ``θ = arccos(z / R)``, ``η = −ln tan(θ / 2)``)."""
    r = np.sqrt(x * x + y * y + z * z)
    theta = np.arccos(np.clip(z / np.maximum(r, 1e-9), -1.0, 1.0))
    eta = -np.log(np.tan(np.clip(theta, 1e-9, np.pi - 1e-9) / 2.0))
    columns = (energy, eta, is_track, theta, r, x, y, z, time, hit_r)
    return np.stack([np.asarray(c, np.float64) for c in columns], axis=1).astype(np.float32)
