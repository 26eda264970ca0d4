"""One detector event in memory: its hits and its particles, as columns of numpy arrays.

This is the contract between the event store, the readers and generators that fill it, and the
model families that train on it. A stored row (what Ray Data yields per event) holds the hit
columns under their own names, the particle columns under ``p_<name>`` and, for events written
by a pipeline stage (``raytrack infer``), the stage's output graph under ``e_<name>``:
``e_src, e_dst`` (int64 positions in this event's hit arrays) and ``e_score`` (float32, the
stage's edge score). :meth:`Event.from_row` and :meth:`Event.to_row` convert between the forms.

Legend (TrackML conventions, lengths in mm, momenta in GeV):

- ``r, phi, eta``: cylindrical radius, azimuth and pseudorapidity of a hit;
- ``particle_id == 0``: a noise hit (no particle);
- ``weight``: TrackML score weight of a hit;
- ``pt``: transverse momentum, ``hypot(px, py)``; ``q``: charge; ``nhits``: hits per particle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

HIT_COLUMNS: dict[str, np.dtype] = {
    "hit_id": np.dtype("int64"),
    "x": np.dtype("float32"),
    "y": np.dtype("float32"),
    "z": np.dtype("float32"),
    "volume_id": np.dtype("int32"),
    "layer_id": np.dtype("int32"),
    "module_id": np.dtype("int32"),
    "particle_id": np.dtype("int64"),
    "weight": np.dtype("float32"),
    "r": np.dtype("float32"),
    "phi": np.dtype("float32"),
    "eta": np.dtype("float32"),
}
"""Hit columns every stored event has (derived ``r, phi, eta`` included)."""

CELL_COLUMNS: dict[str, np.dtype] = {
    name: np.dtype("float32")
    for name in ("cell_count", "cell_val", "leta", "lphi", "lx", "ly", "lz", "geta", "gphi")
}
"""Optional Exa.TrkX cell features of a hit (present when the source had cells and detectors)."""

PARTICLE_COLUMNS: dict[str, np.dtype] = {
    "particle_id": np.dtype("int64"),
    "vx": np.dtype("float32"),
    "vy": np.dtype("float32"),
    "vz": np.dtype("float32"),
    "px": np.dtype("float32"),
    "py": np.dtype("float32"),
    "pz": np.dtype("float32"),
    "q": np.dtype("int32"),
    "nhits": np.dtype("int32"),
    "pt": np.dtype("float32"),
    "eta": np.dtype("float32"),
}
"""Particle columns every stored event has (derived ``pt, eta`` included)."""

PARTICLE_PREFIX = "p_"
EDGE_PREFIX = "e_"
EDGE_COLUMNS: dict[str, np.dtype] = {
    "src": np.dtype("int64"),
    "dst": np.dtype("int64"),
    "score": np.dtype("float32"),
}
"""Columns of a stored graph: edge ``src → dst`` between hit positions, and its score."""


@dataclass(frozen=True)
class Event:
    """Hits and particles of one event, each a mapping of column name to a 1-D numpy array."""

    event_id: int
    hits: Mapping[str, np.ndarray]
    particles: Mapping[str, np.ndarray]
    edges: Mapping[str, np.ndarray] = field(default_factory=dict)
    """The graph a pipeline stage wrote for this event (empty if none): see ``EDGE_COLUMNS``."""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_hits(self) -> int:
        return len(self.hits["hit_id"])

    @property
    def num_particles(self) -> int:
        return len(self.particles["particle_id"])

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """Build an event from a stored row (hit columns plain, particle columns ``p_``-prefixed)."""
        hits: dict[str, np.ndarray] = {}
        particles: dict[str, np.ndarray] = {}
        edges: dict[str, np.ndarray] = {}
        for name, value in row.items():
            if name == "event_id":
                continue
            if name.startswith(PARTICLE_PREFIX):
                particles[name[len(PARTICLE_PREFIX) :]] = np.asarray(value)
            elif name.startswith(EDGE_PREFIX):
                edges[name[len(EDGE_PREFIX) :]] = np.asarray(value)
            else:
                hits[name] = np.asarray(value)
        return cls(event_id=int(row["event_id"]), hits=hits, particles=particles, edges=edges)

    @property
    def edge_index(self) -> np.ndarray | None:
        """The stored graph as a ``(2, E)`` int64 array, or None when the event has none."""
        if "src" not in self.edges:
            return None
        return np.stack([np.asarray(self.edges["src"]), np.asarray(self.edges["dst"])]).astype(
            np.int64
        )

    def to_row(self) -> dict[str, Any]:
        """The stored-row form of this event (the inverse of :meth:`from_row`)."""
        row: dict[str, Any] = {"event_id": int(self.event_id)}
        row.update({name: np.asarray(col) for name, col in self.hits.items()})
        row.update(
            {PARTICLE_PREFIX + name: np.asarray(col) for name, col in self.particles.items()}
        )
        row.update({EDGE_PREFIX + name: np.asarray(col) for name, col in self.edges.items()})
        return row

    @classmethod
    def from_frames(cls, event_id: int, hits: pd.DataFrame, particles: pd.DataFrame) -> Event:
        return cls(
            event_id=int(event_id),
            hits={name: hits[name].to_numpy() for name in hits.columns},
            particles={name: particles[name].to_numpy() for name in particles.columns},
        )

    def hits_frame(self) -> pd.DataFrame:
        return pd.DataFrame(dict(self.hits))

    def particles_frame(self) -> pd.DataFrame:
        return pd.DataFrame(dict(self.particles))
