"""The realism steps of the simulation: material per volume, resolutions per volume,
secondary particles and module-overlap hits (settings in
:class:`~raytrack.families.tracking.sim_settings.SimulationSettings`).

- **Secondaries** (``secondary_fraction``): ``Poisson(secondary_fraction * n_primaries)``
  particles, each produced at a uniformly chosen crossing of a primary (a displaced vertex on
  the primary's path, as a material interaction), in a direction within a Gaussian 0.3 rad of
  the primary's there, with a pT of ``pt_min`` plus an exponential of slope
  :data:`SECONDARY_PT_SCALE`, and a random charge. They are
  propagated like primaries (starting on that crossing's surface) and spawn nothing further;
  the primary keeps its momentum. A secondary's ``particle_id`` has its own vertex number (after
  the interaction vertices) and particle number 1; its ``vx, vy, vz`` is the production point.
- **Overlap hits** (``module_overlap``, ``module_overlap_by_volume``): a crossing inside the overlap band of its module's
  azimuthal neighbour (:func:`~raytrack.families.tracking.sim_modules.overlap_neighbours`)
  leaves a second hit of the same particle on the same layer, on the neighbouring module, at
  the same true point and smeared independently; it follows the first hit in the particle's
  order.
"""

from __future__ import annotations

import numpy as np

from raytrack.families.tracking.detector import BARREL, Detector
from raytrack.families.tracking.helix import Crossings, propagate
from raytrack.families.tracking.sim_modules import overlap_neighbours, volume_pitches
from raytrack.families.tracking.sim_settings import SimulationSettings

SECONDARY_ANGLE = 0.3
"""rad: Gaussian spread of a secondary's direction around its parent's."""

SECONDARY_PT_SCALE = 0.17
"""GeV: slope of the secondaries' pT above ``pt_min`` (the real event's particles produced more
than 10 mm from the beam line: pT 0.16 / 0.22 / 0.34 GeV at 25 / 50 / 75%)."""


def per_surface(det: Detector, by_volume: dict[int, float], default: float) -> float | np.ndarray:
    """``default``, or one value per surface where ``by_volume`` names its volume."""
    if not by_volume:
        return default
    return np.array([by_volume.get(int(v), default) for v in det.volume_id], float)


def material_per_surface(det: Detector, s: SimulationSettings) -> float | np.ndarray:
    """Layer thickness in X0: ``material_budget``, or one per surface with ``material_by_volume``."""
    return per_surface(det, s.material_by_volume, s.material_budget)


def resolutions(
    det: Detector, s: SimulationSettings, surface: np.ndarray
) -> tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float]:
    """``(sigma_rphi, sigma_z_barrel, sigma_r_disk)`` of crossings on ``surface`` (mm)."""
    barrel = det.kind[surface] == BARREL
    if s.resolution == "fixed":
        return (
            np.where(barrel, s.barrel_resolution_rphi, s.endcap_resolution_rphi),
            s.barrel_resolution_z,
            s.endcap_resolution_r,
        )
    pitch_u, pitch_v, _ = volume_pitches(det.volume_id[surface])
    root12 = np.sqrt(12.0)
    return pitch_u / root12, pitch_v / root12, pitch_v / root12


def _concat(parts: list[Crossings]) -> Crossings:
    return Crossings(
        *(np.concatenate([getattr(c, f) for c in parts]) for f in Crossings.__dataclass_fields__)
    )


def add_secondaries(det, rng, s: SimulationSettings, cross: Crossings, particles: dict, n_vtx: int):
    """Crossings and particle arrays with secondaries added (see the module docstring).

    ``particles`` holds ``particle_id, position, momentum, q``; returns the same with the
    secondaries appended, and the crossings of all particles.
    """
    n_prim = len(particles["q"])
    n_sec = int(rng.poisson(s.secondary_fraction * n_prim)) if len(cross.particle) else 0
    if n_sec == 0:
        return cross, particles
    at = rng.integers(0, len(cross.particle), n_sec)
    parent_p = cross.momentum[at]
    u = parent_p / np.linalg.norm(parent_p, axis=1)[:, None]
    kick = rng.normal(0.0, SECONDARY_ANGLE, (n_sec, 3))
    kick -= (kick * u).sum(axis=1, keepdims=True) * u  # perpendicular to the parent
    direction = u + kick
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    pt = s.pt_min - SECONDARY_PT_SCALE * np.log1p(-rng.random(n_sec))
    momentum = (
        direction * (pt / np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-3))[:, None]
    )
    q = np.where(rng.random(n_sec) < 0.5, -1, 1).astype(np.int32)
    position = np.stack([cross.x[at], cross.y[at], cross.z[at]], axis=1)
    sec = propagate(
        det,
        position,
        momentum,
        q,
        s.b_field,
        rng=rng if s.multiple_scattering else None,
        material=material_per_surface(det, s),
        energy_loss=s.energy_loss,
        loopers=s.loopers,
        max_turns=s.looper_max_turns,
        start_surface=cross.surface[at],
    )
    sec.particle = sec.particle + n_prim
    vertex = np.arange(n_vtx + 1, n_vtx + 1 + n_sec, dtype=np.int64)
    out = {
        "particle_id": np.concatenate([particles["particle_id"], (vertex << 32) | 1]),
        "position": np.concatenate([particles["position"], position]),
        "momentum": np.concatenate([particles["momentum"], momentum]),
        "q": np.concatenate([particles["q"], q]),
    }
    return _concat([cross, sec]), out


def add_overlap_hits(
    det: Detector, s: SimulationSettings, cross: Crossings, module: np.ndarray
) -> tuple[Crossings, np.ndarray]:
    """Crossings (and module ids) with the overlap hits added, in each particle's order."""
    which, neighbour = overlap_neighbours(
        det,
        cross.surface,
        cross.x,
        cross.y,
        cross.z,
        per_surface(det, s.module_overlap_by_volume, s.module_overlap),
    )
    if which.size == 0:
        return cross, module
    extra = Crossings(*(getattr(cross, f)[which] for f in Crossings.__dataclass_fields__))
    merged = _concat([cross, extra])
    modules = np.concatenate([module, neighbour])
    # order: by particle, then step, the overlap hit right after its first hit
    second = np.r_[np.zeros(len(cross.particle)), np.ones(which.size)]
    order = np.lexsort((second, merged.step, merged.particle))
    merged = Crossings(*(getattr(merged, f)[order] for f in Crossings.__dataclass_fields__))
    return merged, modules[order]


def order_in_particle(particle: np.ndarray, n_particles: int) -> np.ndarray:
    """0, 1, 2, ... along each particle's crossings (given grouped and in order)."""
    counts = np.bincount(particle, minlength=n_particles)
    firsts = np.cumsum(counts) - counts
    return np.arange(len(particle)) - firsts[particle]
