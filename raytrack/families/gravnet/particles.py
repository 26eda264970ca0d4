"""The particles of one simulated event and their energy deposits.

Signal particles: ``min_particles``–``max_particles`` of ``particle_types``, energies between
``energy_min`` and ``energy_max`` (uniform or log-uniform), directions uniform in ``|η|`` ∈
[``eta_min``, ``eta_max``] and φ, at least ``min_separation`` apart in ΔR = sqrt(Δη² + Δφ²) and,
with ``max_separation``, all within that ΔR of a random event axis (overlapping showers).
Pile-up: a Poisson number (mean ``pileup``) of photons and charged pions (half each) of
``0.3 GeV + Exp(pileup_energy)`` anywhere in the acceptance. Every particle comes from the
origin at an interaction time drawn with ``vertex_time_spread`` and travels on a straight line
(an endcap calorimeter sits where the field bends these energies little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raytrack.families.gravnet.calo_geometry import SamplingCalorimeter
from raytrack.families.gravnet.calo_settings import CaloSimSettings, ParticleType
from raytrack.families.gravnet.showers import (
    Deposits,
    Direction,
    em_shower,
    hadron_shower,
    mip_track,
)

SEPARATION_TRIES = 10000

PDG = {"photon": 22, "electron": 11, "pion": 211, "kaon_long": 130, "neutron": 2112, "muon": 13}
CHARGED = {"electron", "pion", "muon"}


@dataclass(frozen=True)
class Particle:
    kind: ParticleType
    energy: float
    eta: float
    phi: float
    pdg: int
    time: float
    """Interaction time (ns)."""

    @property
    def direction(self) -> Direction:
        return Direction(2.0 * np.arctan(np.exp(-self.eta)), self.phi)


def _delta_r(eta: np.ndarray, phi: np.ndarray, eta0: float, phi0: float) -> np.ndarray:
    dphi = np.angle(np.exp(1j * (phi - phi0)))
    return np.hypot(eta - eta0, dphi)


def _directions(rng: np.random.Generator, n: int, s: CaloSimSettings) -> tuple[np.ndarray, ...]:
    """``(eta, phi)`` of ``n`` signal particles obeying the separation settings."""
    centre = None
    if s.max_separation is not None:
        margin = min(s.max_separation, (s.eta_max - s.eta_min) / 2)
        centre = (rng.uniform(s.eta_min + margin, s.eta_max - margin), rng.uniform(-np.pi, np.pi))
    eta, phi = np.empty(n), np.empty(n)
    for i in range(n):
        for _ in range(SEPARATION_TRIES):
            if centre is None:
                e, p = rng.uniform(s.eta_min, s.eta_max), rng.uniform(-np.pi, np.pi)
            else:
                radius = s.max_separation * np.sqrt(rng.uniform())
                angle = rng.uniform(0, 2 * np.pi)
                e, p = centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)
                if not s.eta_min <= e <= s.eta_max:
                    continue
            if i == 0 or _delta_r(eta[:i], phi[:i], e, p).min() >= s.min_separation:
                eta[i], phi[i] = e, np.angle(np.exp(1j * p))
                break
        else:
            raise ValueError(
                f"calo_sim: cannot place {n} particles min_separation={s.min_separation} apart "
                f"in {s.eta_min} < eta < {s.eta_max}"
                + (f" within max_separation={s.max_separation}" if centre is not None else "")
                + "; lower min_separation or max_particles"
            )
    return eta, phi


def _energies(rng: np.random.Generator, n: int, s: CaloSimSettings) -> np.ndarray:
    if s.energy_spectrum == "uniform":
        return rng.uniform(s.energy_min, s.energy_max, n)
    return np.exp(rng.uniform(np.log(s.energy_min), np.log(s.energy_max), n))


def draw_particles(
    rng: np.random.Generator, s: CaloSimSettings
) -> tuple[list[Particle], list[Particle]]:
    """The signal and pile-up particles of one event."""
    n = int(rng.integers(s.min_particles, s.max_particles + 1))
    kinds = rng.choice(np.array(s.particle_types), size=n)
    eta, phi = _directions(rng, n, s)
    energies = _energies(rng, n, s)
    signal = [_particle(rng, str(k), e, h, p, s) for k, e, h, p in zip(kinds, energies, eta, phi)]
    pileup = []
    for _ in range(int(rng.poisson(s.pileup))):
        kind = "photon" if rng.uniform() < 0.5 else "pion"
        energy = 0.3 + rng.exponential(s.pileup_energy)
        h, p = rng.uniform(s.eta_min, s.eta_max), rng.uniform(-np.pi, np.pi)
        pileup.append(_particle(rng, kind, energy, h, p, s))
    return signal, pileup


def _particle(
    rng: np.random.Generator, kind: str, energy: float, eta: float, phi: float, s: CaloSimSettings
) -> Particle:
    sign = -1 if kind in CHARGED and rng.uniform() < 0.5 else 1
    time = rng.normal(0.0, s.vertex_time_spread) if s.vertex_time_spread > 0 else 0.0
    return Particle(kind, float(energy), float(eta), float(phi), sign * PDG[kind], float(time))  # type: ignore[arg-type]


def deposits_of(
    rng: np.random.Generator, calo: SamplingCalorimeter, s: CaloSimSettings, particle: Particle
) -> Deposits:
    axis = particle.direction
    if particle.kind in ("photon", "electron"):
        return em_shower(rng, calo, s, particle.energy, axis, photon=particle.kind == "photon")
    if particle.kind == "muon":
        return mip_track(rng, calo, axis, np.arange(calo.num_layers))
    return hadron_shower(rng, calo, s, particle.energy, axis, charged=particle.kind == "pion")
