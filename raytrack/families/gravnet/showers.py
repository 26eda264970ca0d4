"""Energy deposits of one particle in the sampling calorimeter: EM and hadronic showers, MIPs.

A shower is sampled as *spots* of visible energy (a spot model, as in fast simulations): each
spot has a depth, a lateral offset from the shower axis and an energy, and is read by the active
layer behind the absorber where it lies. The number of spots is Poisson-distributed with mean
``E / e_spot`` and each spot's energy is Gamma-distributed around ``e_spot``, so the visible
energy fluctuates with a stochastic term ``a / sqrt(E)``: ``e_spot = a² / (1 + 1/k)``.

- **Electromagnetic** (e, γ; Grindhammer & Peters, arXiv:hep-ex/0001020, simplified):
  longitudinal ``dE/dt ∝ (bt)^(a-1) e^(-bt)`` in radiation lengths with ``t_max = ln(E/E_c) −
  0.5``, ``b = 0.5``, ``a = b·t_max + 1`` (``t_max`` and ``b`` fluctuate per shower); a photon
  first converts after an exponential depth of mean 9/7 X0. Laterally a core and a tail, each
  ``f(r) ∝ r R² / (r² + R²)²``, with radii growing with the relative depth ``τ = t / t_max``:
  ``R_core = R_M (0.05 + 0.12 τ)``, ``R_tail = R_M (0.6 + 0.35 τ)``, core probability
  ``0.9 exp(−0.3 τ²)``.
- **Hadronic** (π±, K0_L, n): the first interaction after an exponential depth of mean 1 λ (a
  charged hadron leaves MIP hits before it; beyond the calorimeter it punches through). The EM
  fraction ``f_em`` fluctuates around ``1 − E^(−0.17)`` (Groom); the EM part is a few π0
  sub-showers with transverse offsets of 3 cm, the rest is deposited with response ``h/e`` in a
  hadronic profile (gamma in λ, ``t_max = 0.2 ln E + 0.7``), laterally a 2.5 cm core (60%) and a
  7 cm tail (90% within about one interaction length), 15% of it delayed by 1.5 ns on average
  (slow neutrons).
- **Muons**: one MIP per layer along the axis, with a Landau-like (Moyal) energy.

Legend: ``S`` spots; ``E`` in GeV, lengths in cm, times in ns; the axis is a straight line from
the origin with polar angle ``θ`` and azimuth ``φ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raytrack.families.gravnet.calo_geometry import SamplingCalorimeter
from raytrack.families.gravnet.calo_settings import CaloSimSettings

CRITICAL_ENERGY = 0.008
"""Critical energy of the EM absorber (GeV; W: 8 MeV)."""
SPOT_GAMMA_K = 4.0
"""Shape of the Gamma distribution of one spot's energy."""
MAX_LATERAL = 0.995
"""Radial samples are cut at this quantile of their profile (no spot beyond ~14 R)."""
HADRON_CORE_RADIUS, HADRON_TAIL_RADIUS, HADRON_CORE_FRACTION = 2.5, 7.0, 0.6
"""Lateral profile of the hadronic component (cm): 90% of a shower within ~1 λ (17 cm)."""


@dataclass(frozen=True)
class Deposits:
    """Visible energy of one particle per spot, and what leaked out of the calorimeter.

    Shapes:
        ``layer, x, y, energy, delay``: ``(S,)``; ``layer`` ≥ 0 for every spot.
    """

    layer: np.ndarray
    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    delay: np.ndarray
    leaked: float
    """Visible energy generated behind the last layer (GeV)."""

    @classmethod
    def concat(cls, parts: list[Deposits]) -> Deposits:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("layer", "x", "y", "energy",
                                                                       "delay")),
            leaked=float(sum(p.leaked for p in parts)),
        )  # fmt: skip


@dataclass(frozen=True)
class Direction:
    """The particle's axis: polar angle and azimuth."""

    theta: float
    phi: float

    def at(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of the axis at ``z``."""
        r = z * np.tan(self.theta)
        return r * np.cos(self.phi), r * np.sin(self.phi)


def _radii(rng: np.random.Generator, scale: np.ndarray) -> np.ndarray:
    """Radii from ``f(r) ∝ r R² / (r² + R²)²`` (CDF ``r² / (r² + R²)``), ``R = scale``."""
    u = rng.uniform(0.0, MAX_LATERAL, size=np.shape(scale))
    return scale * np.sqrt(u / (1.0 - u))


def _spot_energies(rng: np.random.Generator, total: float, stochastic: float) -> np.ndarray:
    spot = stochastic**2 / (1.0 + 1.0 / SPOT_GAMMA_K)
    count = rng.poisson(max(total, 0.0) / spot)
    return spot * rng.gamma(SPOT_GAMMA_K, 1.0 / SPOT_GAMMA_K, size=count)


def _place(
    rng: np.random.Generator, calo: SamplingCalorimeter, axis: Direction, layer: np.ndarray,
    radius: np.ndarray, energy: np.ndarray, delay: np.ndarray, offset: tuple[float, float],
) -> Deposits:  # fmt: skip
    """Spots at ``radius`` around the axis (shifted by ``offset``) in ``layer`` (−1: leaked)."""
    inside = layer >= 0
    leaked = float(energy[~inside].sum())
    layer, radius, energy, delay = layer[inside], radius[inside], energy[inside], delay[inside]
    ax, ay = axis.at(calo.z[layer])
    angle = rng.uniform(0.0, 2.0 * np.pi, size=len(layer))
    x = ax + offset[0] + radius * np.cos(angle)
    y = ay + offset[1] + radius * np.sin(angle)
    return Deposits(layer.astype(np.int64), x, y, energy, delay, leaked)


def em_shower(
    rng: np.random.Generator, calo: SamplingCalorimeter, settings: CaloSimSettings,
    energy: float, axis: Direction, *, photon: bool, start_x0: float = 0.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> Deposits:  # fmt: skip
    """An EM shower of ``energy`` starting at depth ``start_x0`` (see the module documentation)."""
    start = start_x0 + (rng.exponential(9.0 / 7.0) if photon else 0.0)
    t_max = max(np.log(max(energy, 2 * CRITICAL_ENERGY) / CRITICAL_ENERGY) - 0.5, 0.5)
    t_max *= np.exp(rng.normal(0.0, 0.1))
    b = 0.5 * np.exp(rng.normal(0.0, 0.05))
    a = b * t_max + 1.0
    spots = _spot_energies(rng, energy, settings.em_stochastic)
    depth = rng.gamma(a, 1.0 / b, size=len(spots))
    tau = depth / t_max
    core = rng.uniform(size=len(spots)) < 0.9 * np.exp(-0.3 * tau**2)
    scale = settings.moliere_radius * np.where(core, 0.05 + 0.12 * tau, 0.6 + 0.35 * tau)
    layer = calo.layer_at_x0(start + depth)
    delay = np.zeros(len(spots))
    return _place(rng, calo, axis, layer, _radii(rng, scale), spots, delay, offset)


def mip_track(
    rng: np.random.Generator, calo: SamplingCalorimeter, axis: Direction, layers: np.ndarray
) -> Deposits:
    """One MIP deposit per layer of ``layers`` on the axis (Moyal-distributed energy)."""
    moyal = -np.log(rng.chisquare(1.0, size=len(layers)) + 1e-12)
    energy = calo.mip[layers] * np.clip(1.0 + 0.15 * moyal, 0.3, 10.0)
    radius = np.zeros(len(layers))
    return _place(rng, calo, axis, layers, radius, energy, np.zeros(len(layers)), (0.0, 0.0))


def hadron_shower(
    rng: np.random.Generator, calo: SamplingCalorimeter, settings: CaloSimSettings,
    energy: float, axis: Direction, *, charged: bool,
) -> Deposits:  # fmt: skip
    """A hadron shower of ``energy`` (see the module documentation)."""
    first = rng.exponential(1.0)
    parts: list[Deposits] = []
    if charged:
        before = np.flatnonzero(calo.cum_lambda < first)
        parts.append(mip_track(rng, calo, axis, before))
    if first >= calo.cum_lambda[-1]:  # punch-through: no shower in the calorimeter
        parts.append(_place(rng, calo, axis, np.array([-1]), np.zeros(1),
                            np.array([energy]), np.zeros(1), (0.0, 0.0)))  # fmt: skip
        return Deposits.concat(parts)
    mean_em = 1.0 - max(energy, 1.0) ** -0.17
    f_em = float(np.clip(rng.normal(mean_em, 0.12), 0.02, 0.98))
    em_energy = f_em * energy
    n_sub = 1 + rng.poisson(em_energy / 5.0)
    for share in rng.dirichlet(np.ones(n_sub)) * em_energy:
        parts.append(em_shower(
            rng, calo, settings, float(share), axis, photon=True,
            start_x0=float(calo.x0_of_lambda(first)), offset=tuple(rng.normal(0.0, 3.0, 2)),
        ))  # fmt: skip
    spots = _spot_energies(rng, (1.0 - f_em) * energy * settings.h_over_e, settings.had_stochastic)
    t_max = max(0.2 * np.log(max(energy, 1.0)) + 0.7, 0.3) * np.exp(rng.normal(0.0, 0.15))
    depth = first + rng.gamma(t_max + 1.0, 1.0, size=len(spots))
    core = rng.uniform(size=len(spots)) < HADRON_CORE_FRACTION
    radius = _radii(rng, np.where(core, HADRON_CORE_RADIUS, HADRON_TAIL_RADIUS))
    delay = np.where(rng.uniform(size=len(spots)) < 0.15, rng.exponential(1.5, len(spots)), 0.0)
    layer = calo.layer_at_lambda(depth)
    parts.append(_place(rng, calo, axis, layer, radius, spots, delay, (0.0, 0.0)))
    return Deposits.concat(parts)
