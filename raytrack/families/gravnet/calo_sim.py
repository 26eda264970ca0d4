"""Simulated calorimeter events: several particles, pile-up and noise in the sampling calorimeter.

Per event (deterministic in ``(seed, event_id)``):

1. the signal and pile-up particles and their energy deposits (:mod:`.particles`,
   :mod:`.showers`); deposits outside the HGCAL acceptance 1.5 < |η| < 3.0 are lost;
2. deposits summed per cell; the cell's truth is the particle that deposited most in it (HGCAL's
   best-match association); cell noise of ``noise_mip`` MIPs is added and cells below
   ``threshold_mip`` MIPs are dropped;
3. ``noise_hits`` (mean, Poisson) noise hits in random empty cells, with energies from the noise
   distribution's tail above threshold (truth: noise, ``t_idx = −1``);
4. with ``tracks``: one track point per charged signal particle at its impact on the front face,
   its momentum smeared by ``track_resolution``;
5. hit times: time of flight from the origin plus the interaction time and shower delays,
   smeared by ``time_resolution·sqrt(1 + 10 MIP / E)``;
6. truth (see :mod:`.calo_event`; pile-up hits are noise unless ``pileup_truth: showers``),
   spectator scores (:mod:`.spectators`), and the hits shuffled, as HGCalML shuffles them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.stats import truncnorm

from raytrack.families.gravnet.calo_event import CaloEvent, hit_features
from raytrack.families.gravnet.calo_geometry import SamplingCalorimeter
from raytrack.families.gravnet.calo_settings import CaloSimSettings
from raytrack.families.gravnet.particles import CHARGED, Particle, deposits_of, draw_particles
from raytrack.families.gravnet.showers import Deposits
from raytrack.families.gravnet.spectators import spectator_scores

SPEED_OF_LIGHT = 29.9792458
"""cm / ns"""
ACCEPTANCE_ETA = (1.5, 3.0)
"""|η| range of the HGCAL endcap; deposits outside are lost."""
CONTAINED = 0.05
"""A shower is fully contained when less than this fraction of its visible energy leaked."""


@dataclass
class _Cells:
    layer: np.ndarray
    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    time: np.ndarray
    owner: np.ndarray
    """Index of the particle that deposited most in the cell."""


def _cells(
    calo: SamplingCalorimeter, deposits: list[Deposits], particles: list[Particle]
) -> _Cells:
    """Deposits summed per cell, with each cell's energy-weighted time and best-matching particle."""
    owner = np.concatenate([np.full(len(d.energy), i) for i, d in enumerate(deposits)])
    spots = Deposits.concat(deposits)
    ix, iy = calo.cells(spots.layer, spots.x, spots.y)
    cx, cy = calo.cell_centres(spots.layer, ix, iy)
    distance = np.sqrt(cx**2 + cy**2 + calo.z[spots.layer] ** 2)
    start = np.array([p.time for p in particles])[owner] if len(owner) else np.zeros(0)
    time = start + distance / SPEED_OF_LIGHT + spots.delay
    cell_keys = np.stack([spots.layer, ix, iy], axis=1)
    cells, cell_of = np.unique(cell_keys, axis=0, return_inverse=True)
    cell_of = cell_of.reshape(-1)
    n = len(cells)
    energy = np.bincount(cell_of, spots.energy, minlength=n)
    weighted_time = np.bincount(cell_of, spots.energy * time, minlength=n)
    pair, pair_of = np.unique(cell_of * len(particles) + owner, return_inverse=True)
    pair_energy = np.bincount(pair_of.reshape(-1), spots.energy, minlength=len(pair))
    order = np.lexsort((-pair_energy, pair // len(particles)))  # by cell, most energy first
    best = np.zeros(n, dtype=np.int64)
    first = np.r_[True, np.diff(pair[order] // len(particles)) != 0]
    best[pair[order][first] // len(particles)] = pair[order][first] % len(particles)
    layer = cells[:, 0]
    x, y = calo.cell_centres(layer, cells[:, 1], cells[:, 2])
    return _Cells(layer, x, y, energy, weighted_time / np.maximum(energy, 1e-12), best)


def _in_acceptance(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    r = np.hypot(x, y)
    low, high = ACCEPTANCE_ETA
    return (r > z / np.sinh(high)) & (r < z / np.sinh(low))


def _without_lost(calo: SamplingCalorimeter, d: Deposits) -> Deposits:
    """``d`` without the deposits outside the acceptance, which count as leaked."""
    inside = _in_acceptance(d.x, d.y, calo.z[d.layer])
    return Deposits(d.layer[inside], d.x[inside], d.y[inside], d.energy[inside], d.delay[inside],
                    d.leaked + float(d.energy[~inside].sum()))  # fmt: skip


def _noise_hits(
    rng: np.random.Generator, calo: SamplingCalorimeter, s: CaloSimSettings, taken: set
) -> _Cells:
    """Noise above threshold in random cells of the acceptance that hold no signal."""
    count = int(rng.poisson(s.noise_hits))
    layer = rng.integers(0, calo.num_layers, count)
    eta = rng.uniform(*ACCEPTANCE_ETA, count)
    phi = rng.uniform(-np.pi, np.pi, count)
    r = calo.z[layer] / np.sinh(eta)
    ix, iy = calo.cells(layer, r * np.cos(phi), r * np.sin(phi))
    x, y = calo.cell_centres(layer, ix, iy)
    free = np.array([(int(a), int(b), int(c)) not in taken for a, b, c in zip(layer, ix, iy)],
                    dtype=bool)  # fmt: skip
    sigma = s.noise_mip * calo.mip[layer]
    threshold = s.threshold_mip * calo.mip[layer]
    if s.noise_mip > 0:
        tail = truncnorm.rvs(s.threshold_mip / s.noise_mip, np.inf, random_state=rng, size=count)
        energy = np.asarray(tail) * sigma
    else:
        energy = threshold.copy()
    time = np.sqrt(x**2 + y**2 + calo.z[layer] ** 2) / SPEED_OF_LIGHT + rng.uniform(-3, 3, count)
    keep = free & _in_acceptance(x, y, calo.z[layer])
    owner = np.full(int(keep.sum()), -1)
    return _Cells(layer[keep], x[keep], y[keep], energy[keep], time[keep], owner)


def simulate_event(
    event_id: int, seed: int, settings: CaloSimSettings, calo: SamplingCalorimeter | None = None
) -> CaloEvent:
    """Event ``event_id`` of the simulation with ``seed`` (see the module documentation)."""
    s = settings
    calo = calo or SamplingCalorimeter.from_settings(s)
    rng = np.random.default_rng([seed, event_id])
    signal, pileup = draw_particles(rng, s)
    particles = signal + pileup
    deposits = [_without_lost(calo, deposits_of(rng, calo, s, p)) for p in particles]
    cells = _cells(calo, deposits, particles)
    mip = calo.mip[cells.layer]
    measured = cells.energy + rng.normal(0.0, 1.0, len(mip)) * s.noise_mip * mip
    keep = measured >= s.threshold_mip * mip
    taken = {(int(a), int(b), int(c)) for a, b, c in zip(
        cells.layer, *calo.cells(cells.layer, cells.x, cells.y))}  # fmt: skip
    noise = _noise_hits(rng, calo, s, taken)
    layer = np.r_[cells.layer[keep], noise.layer]
    x, y = np.r_[cells.x[keep], noise.x], np.r_[cells.y[keep], noise.y]
    energy = np.r_[measured[keep], noise.energy]
    owner = np.r_[cells.owner[keep], noise.owner]
    mip = calo.mip[layer]
    smear = s.time_resolution * np.sqrt(1.0 + 10.0 * mip / np.maximum(energy, 1e-9))
    time = np.r_[cells.time[keep], noise.time] + rng.normal(0.0, 1.0, len(energy)) * smear
    z = calo.z[layer]
    features = hit_features(energy, x, y, z, time, calo.cell_size[layer] / 2, np.zeros(len(x)))
    truth = _truth(particles, len(signal), deposits, owner, energy, features, s)
    if s.tracks:
        track_features, track_truth = _tracks(rng, calo, s, signal)
        features = np.concatenate([features, track_features])
        layer = np.r_[layer, np.full(len(track_features), -1)]
        truth = {k: np.concatenate([truth[k], track_truth[k]]) for k in truth}
    shuffle = rng.permutation(len(features))
    return CaloEvent(
        event_id, features[shuffle], layer[shuffle].astype(np.int32),
        **{k: v[shuffle] for k, v in truth.items()},
        n_particles=len(signal), n_pileup=len(pileup),
    )  # fmt: skip


def _impact(calo_front: float, p: Particle) -> np.ndarray:
    x, y = p.direction.at(np.array(calo_front))
    return np.array([float(x), float(y), calo_front])


def _truth(
    particles: list[Particle], n_signal: int, deposits: list[Deposits], owner: np.ndarray,
    energy: np.ndarray, features: np.ndarray, s: CaloSimSettings,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-hit truth of calorimeter hits owned by ``owner`` (−1: noise hit)."""
    showers = s.pileup_truth == "showers"
    t_idx = np.where((owner >= 0) & ((owner < n_signal) | showers), owner, -1)
    n = len(owner)
    impacts = np.array([_impact(s.z_front, p) for p in particles]).reshape(-1, 3)
    rec = np.bincount(t_idx[t_idx >= 0], energy[t_idx >= 0], minlength=len(particles))
    part_energy = np.array([rec[i] if p.kind == "muon" else p.energy
                            for i, p in enumerate(particles)])  # fmt: skip
    part_time = np.array([p.time + np.linalg.norm(impacts[i]) / SPEED_OF_LIGHT
                          for i, p in enumerate(particles)])  # fmt: skip
    visible = np.array([d.energy.sum() + d.leaked for d in deposits])
    leaked = np.array([d.leaked for d in deposits])
    contained = (leaked < CONTAINED * np.maximum(visible, 1e-9)).astype(np.float32)
    pdg = np.array([p.pdg for p in particles], dtype=np.int64)
    signal = t_idx >= 0
    idx = np.where(signal, t_idx, 0)
    position = features[:, [5, 6, 7]]
    pick = (lambda values, own: np.where(signal, values[idx], own)) if len(particles) else (
        lambda values, own: own)  # fmt: skip
    return {
        "t_idx": t_idx.astype(np.int32),
        "t_energy": pick(part_energy, energy),
        "t_pos": np.where(signal[:, None], impacts[idx] if len(particles) else position, position),
        "t_time": pick(part_time, features[:, 8]),
        "t_pid": pick(pdg, np.zeros(n, np.int64)).astype(np.int32),
        "t_spectator": spectator_scores(position, t_idx),
        "t_rec_energy": pick(rec, energy),
        "t_fully_contained": pick(contained, np.ones(n, np.float32)),
    }


def _tracks(
    rng: np.random.Generator, calo: SamplingCalorimeter, s: CaloSimSettings,
    signal: list[Particle],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # fmt: skip
    """A track point at the front face per charged signal particle (features, truth)."""
    charged = [i for i, p in enumerate(signal) if p.kind in CHARGED]
    impacts = np.array([_impact(s.z_front, signal[i]) for i in charged]).reshape(-1, 3)
    energy = np.array([signal[i].energy for i in charged])
    momentum = energy * (1.0 + rng.normal(0.0, s.track_resolution, len(charged)))
    zeros, ones = np.zeros(len(charged)), np.ones(len(charged))
    features = hit_features(momentum, *impacts.T, zeros, zeros, ones)
    times = np.array([signal[i].time for i in charged]) + np.linalg.norm(impacts, axis=1) / (
        SPEED_OF_LIGHT)  # fmt: skip
    truth = {
        "t_idx": np.array(charged, dtype=np.int32),
        "t_energy": energy,
        "t_pos": impacts,
        "t_time": times,
        "t_pid": np.array([signal[i].pdg for i in charged], dtype=np.int32),
        "t_spectator": zeros,
        "t_rec_energy": momentum,
        "t_fully_contained": ones,
    }
    return features, truth


def simulate_events(count: int, seed: int, settings: CaloSimSettings) -> Iterator[CaloEvent]:
    """Events ``0 .. count - 1`` of the simulation with ``seed``, one at a time."""
    calo = SamplingCalorimeter.from_settings(settings)
    for event_id in range(count):
        yield simulate_event(event_id, seed, settings, calo)
