"""Detector simulation: TrackML-like events from a seed and a few physics settings.

An event is a number of proton-proton interactions along the beam line, each producing charged
particles that travel on helices in the solenoid field through the detector of
:mod:`raytrack.families.tracking.detector` (propagation in :mod:`raytrack.families.tracking.helix`). Every crossing of a
layer is a hit, smeared by the layer's resolution; uniformly distributed noise hits are added.

Pile-up follows HyperTrack's ``rfactor``: the fraction of a full TrackML event (mean pile-up
``pileup = 200`` interactions of ``particles_per_interaction = 50`` charged particles, about 10k
particles and 100k hits) that is kept. As in HyperTrack's ``reduce_tracks`` the number of particles
is Poisson-distributed with mean ``rfactor * pileup * particles_per_interaction`` (at least 1), and
noise hits are added in proportion, ``Poisson(n_signal_hits * noise_ratio / (1 - noise_ratio))``,
so that ``noise_ratio`` is the expected fraction of noise among all hits. The particles share
``max(1, Poisson(rfactor * pileup))`` interaction vertices (uniformly at random), each drawn from
the luminous region (Gaussian, ``vertex_sigma_xy``, ``vertex_sigma_z``); the first is the primary.
The default ``rfactor = 0.015`` gives ~150 particles and ~1.6k hits per event (5-95%: 1.3k-1.9k);
HyperTrack's lowest setting, 0.01, gives ~1.1k.

Stored columns (see :mod:`raytrack.families.tracking.event`):

- ``hit_id`` runs 1..N in a random order (hits are not grouped by particle); noise hits have
  ``particle_id == 0``.
- ``particle_id = (vertex << 32) | n`` with the 1-based vertex number and the 1-based particle
  number within its vertex: unique, non-zero, and the vertex is readable from the id.
- ``weight`` follows the TrackML score weights: a hit's weight is the product of an *order*
  weight (10, 8, 6, 5, 3, 3, 3, 5, 6 interpolated from the first to the last hit of its particle)
  and a *pT* weight (0.2 below 0.5 GeV rising linearly to 1 at 3 GeV); particles with fewer than
  4 hits and noise hits weigh 0; weights are normalised to sum to 1 per event.
- Particles that leave no hit are kept in the particle table with ``nhits == 0``.

Realism (off by default; ``realism: trackml`` turns it all on, see
:data:`~raytrack.families.tracking.sim_settings.TRACKML_REALISM`): material per volume, energy
loss and low-pT loopers in the propagation (:mod:`raytrack.families.tracking.helix`), resolutions
from the module pitches, secondaries and module-overlap hits
(:mod:`raytrack.families.tracking.sim_realism`), and TrackML-like cells with the Exa.TrkX cell
features (:mod:`raytrack.families.tracking.sim_cells`).

Event ``i`` of seed ``s`` depends only on ``(s, i)`` (``SeedSequence(s, spawn_key=(i,))``), so any
range of events can be generated independently and always comes out the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from raytrack.families.tracking.detector import BARREL, trackml_detector
from raytrack.families.tracking.event import CELL_COLUMNS, Event
from raytrack.families.tracking.helix import propagate
from raytrack.families.tracking.sim_cells import simulated_cell_features
from raytrack.families.tracking.sim_realism import (
    add_overlap_hits,
    add_secondaries,
    material_per_surface,
    order_in_particle,
    resolutions,
)
from raytrack.families.tracking.sim_settings import SimulationSettings

__all__ = [
    "SimulationSettings",
    "event_rng",
    "generate_store",
    "simulate_event",
    "simulate_events",
    "trackml_weights",
]

SIMULATION_VERSION = 1
"""Bumped whenever the same seed and settings would give different events."""

GENERATOR = "raytrack.families.tracking.simulate"

_ORDER_WEIGHTS = np.array([10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0])


def event_rng(seed: int, event_id: int) -> np.random.Generator:
    """The random generator of event ``event_id`` of ``seed`` (independent of other events)."""
    if seed < 0 or event_id < 0:
        raise ValueError(
            f"seed and event ids must be non-negative, but got seed={seed}, event_id={event_id}"
        )
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(event_id),)))


def _sample_pt(rng: np.random.Generator, n: int, s: SimulationSettings) -> np.ndarray:
    u = rng.random(n)
    lo, hi = s.pt_min, s.pt_max
    if s.pt_spectrum == "exponential":
        return lo - s.pt_scale * np.log1p(-u * -np.expm1(-(hi - lo) / s.pt_scale))
    if s.pt_spectrum == "power_law":
        k = 1.0 - s.pt_power
        return (lo**k + u * (hi**k - lo**k)) ** (1.0 / k)
    return lo + u * (hi - lo)


def trackml_weights(
    particle_index: np.ndarray, order: np.ndarray, nhits: np.ndarray, pt: np.ndarray
) -> np.ndarray:
    """TrackML-like score weights of particle hits, normalised to sum to 1 (see the module doc).

    ``particle_index`` and ``order`` (0 for the first hit of its particle) are per hit; ``nhits``
    and ``pt`` are per particle.
    """
    n = nhits[particle_index]
    frac = order / np.maximum(n - 1, 1)
    w = np.interp(frac, np.linspace(0.0, 1.0, len(_ORDER_WEIGHTS)), _ORDER_WEIGHTS)
    w = w * np.interp(pt[particle_index], [0.5, 3.0], [0.2, 1.0])
    w = np.where(n >= 4, w, 0.0)
    total = w.sum()
    return w / total if total > 0 else w


def simulate_event(event_id: int, rng: np.random.Generator, settings: SimulationSettings) -> Event:
    """Simulate one event with ``rng`` (see the module docstring for what is simulated)."""
    s = settings
    det = trackml_detector(s.detector)
    full = s.rfactor * s.pileup
    n_part = max(1, int(rng.poisson(full * s.particles_per_interaction)))
    n_vtx = max(1, int(rng.poisson(full)))
    vertices = np.empty((n_vtx, 3))
    vertices[:, :2] = rng.normal(0.0, s.vertex_sigma_xy, size=(n_vtx, 2))
    vertices[:, 2] = rng.normal(0.0, s.vertex_sigma_z, size=n_vtx)
    counts = rng.multinomial(n_part, np.full(n_vtx, 1.0 / n_vtx))
    vertex_of = np.repeat(np.arange(n_vtx), counts)
    number = np.arange(n_part) - np.repeat(np.cumsum(counts) - counts, counts)
    particle_id = ((vertex_of + 1).astype(np.int64) << 32) | (number + 1).astype(np.int64)

    pt = _sample_pt(rng, n_part, s)
    eta = rng.uniform(-s.eta_max, s.eta_max, n_part)
    phi = rng.uniform(-np.pi, np.pi, n_part)
    q = np.where(rng.random(n_part) < 0.5, -1, 1).astype(np.int32)
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
    position = vertices[vertex_of]

    material = material_per_surface(det, s)
    cross = propagate(
        det,
        position,
        momentum,
        q,
        s.b_field,
        rng=rng if s.multiple_scattering else None,
        material=material if s.multiple_scattering or s.energy_loss else 0.0,
        energy_loss=s.energy_loss,
        loopers=s.loopers,
        max_turns=s.looper_max_turns,
    )
    if s.secondary_fraction > 0:
        table = {"particle_id": particle_id, "position": position, "momentum": momentum, "q": q}
        cross, table = add_secondaries(det, rng, s, cross, table, n_vtx)
        particle_id, position, momentum, q = (table[k] for k in table)
        n_part = len(q)
        pt = np.hypot(momentum[:, 0], momentum[:, 1])
    module = det.module_id(cross.surface, cross.x, cross.y, cross.z)
    order = cross.step
    if s.module_overlap > 0 or any(v > 0 for v in s.module_overlap_by_volume.values()):
        cross, module = add_overlap_hits(det, s, cross, module)
        order = order_in_particle(cross.particle, n_part)
    n_sig = len(cross.particle)
    surface = cross.surface
    # Resolution: smear on the surface (a barrel hit keeps its radius, an endcap hit its z).
    g = rng.standard_normal((2, n_sig))
    barrel = det.kind[surface] == BARREL
    sig_rphi, sig_z, sig_r = resolutions(det, s, surface)
    r_true = np.hypot(cross.x, cross.y)
    phi_true = np.arctan2(cross.y, cross.x)
    r_hit = np.where(barrel, det.radius[surface], r_true + g[1] * sig_r)
    r_hit = np.abs(r_hit)
    phi_hit = phi_true + g[0] * sig_rphi / np.maximum(r_hit, 1e-9)
    z_hit = np.where(barrel, cross.z + g[1] * sig_z, det.z[surface])

    nhits = np.bincount(cross.particle, minlength=n_part)
    weight = trackml_weights(cross.particle, order, nhits, pt)

    n_noise = 0
    if n_sig and s.noise_ratio > 0:
        n_noise = int(rng.poisson(n_sig * s.noise_ratio / (1.0 - s.noise_ratio)))
    n_surf, nx, ny, nz, n_module = det.random_points(rng, n_noise)

    x = np.concatenate([r_hit * np.cos(phi_hit), nx])
    y = np.concatenate([r_hit * np.sin(phi_hit), ny])
    z = np.concatenate([z_hit, nz])
    surf_all = np.concatenate([surface, n_surf]).astype(np.int64)
    hits = {
        "x": x,
        "y": y,
        "z": z,
        "volume_id": det.volume_id[surf_all],
        "layer_id": det.layer_id[surf_all],
        "module_id": np.concatenate([module, n_module]),
        "particle_id": np.concatenate([particle_id[cross.particle], np.zeros(n_noise, np.int64)]),
        "weight": np.concatenate([weight, np.zeros(n_noise)]),
    }
    perm = rng.permutation(n_sig + n_noise)
    hits = {name: col[perm] for name, col in hits.items()}
    if s.cells:
        direction = np.concatenate([cross.momentum, np.full((n_noise, 3), np.nan)])[perm]
        hits["hit_id"] = np.arange(1, n_sig + n_noise + 1, dtype=np.int64)
        hits.update(simulated_cell_features(det, hits, direction, rng))
    return _make_event(event_id, hits, particle_id, position, momentum, q, nhits)


def _make_event(event_id, hits, particle_id, position, momentum, q, nhits) -> Event:
    x, y, z = (hits[c].astype(np.float32) for c in "xyz")
    r = np.hypot(x, y)
    out_hits = {
        "hit_id": np.arange(1, len(x) + 1, dtype=np.int64),
        "x": x,
        "y": y,
        "z": z,
        "volume_id": hits["volume_id"].astype(np.int32),
        "layer_id": hits["layer_id"].astype(np.int32),
        "module_id": hits["module_id"].astype(np.int32),
        "particle_id": hits["particle_id"].astype(np.int64),
        "weight": hits["weight"].astype(np.float32),
        "r": r,
        "phi": np.arctan2(y, x),
        "eta": np.arcsinh(z / np.maximum(r, 1e-6)).astype(np.float32),
    }
    out_hits.update({name: hits[name] for name in CELL_COLUMNS if name in hits})
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    particles = {
        "particle_id": particle_id.astype(np.int64),
        "vx": position[:, 0].astype(np.float32),
        "vy": position[:, 1].astype(np.float32),
        "vz": position[:, 2].astype(np.float32),
        "px": momentum[:, 0].astype(np.float32),
        "py": momentum[:, 1].astype(np.float32),
        "pz": momentum[:, 2].astype(np.float32),
        "q": q.astype(np.int32),
        "nhits": nhits.astype(np.int32),
        "pt": pt.astype(np.float32),
        "eta": np.arcsinh(momentum[:, 2] / pt).astype(np.float32),
    }
    return Event(event_id=int(event_id), hits=out_hits, particles=particles)


def simulate_events(
    n_events: int,
    seed: int,
    settings: SimulationSettings | None = None,
    *,
    first_event: int = 0,
) -> Iterator[Event]:
    """Events ``first_event .. first_event + n_events - 1`` of ``seed`` (their event ids)."""
    if n_events < 0:
        raise ValueError(f"n_events must be non-negative, but got n_events={n_events}")
    settings = SimulationSettings() if settings is None else settings
    for event_id in range(first_event, first_event + n_events):
        yield simulate_event(event_id, event_rng(seed, event_id), settings)


def provenance(n_events: int, seed: int, settings: SimulationSettings) -> dict:
    """What ``meta.json`` records about a simulated store (enough to regenerate it)."""
    return {
        "generator": GENERATOR,
        "simulation_version": SIMULATION_VERSION,
        "seed": int(seed),
        "events": int(n_events),
        "settings": settings.model_dump(mode="json"),
    }


def generate_store(
    path: str | os.PathLike,
    n_events: int,
    seed: int,
    settings: SimulationSettings | None = None,
    *,
    overwrite: bool = False,
):
    """Simulate ``n_events`` events (ids ``0 .. n_events - 1``) into a new tracking store."""
    from raytrack.families.tracking.event_store import write_events

    if n_events < 1:
        raise ValueError(f"n_events must be at least 1, but got n_events={n_events}")
    settings = SimulationSettings() if settings is None else settings
    return write_events(
        path,
        simulate_events(n_events, seed, settings),
        provenance=provenance(n_events, seed, settings),
        source="detector_sim",
        overwrite=overwrite,
    )
