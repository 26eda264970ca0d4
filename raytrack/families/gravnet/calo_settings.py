"""Settings of the calorimeter shower simulation (:mod:`.calo_sim`), kept free of numpy.

The field names are the options of ``raytrack generate calo_sim`` (``min_particles`` is
``--min-particles``) and the keys of an experiment's ``data.generate.settings``.

Units: GeV, cm, ns; depths in radiation lengths (X0) and nuclear interaction lengths (λ).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ParticleType = Literal["photon", "electron", "pion", "kaon_long", "neutron", "muon"]
"""Particle species: photons and electrons shower electromagnetically, charged pions, K0_L and
neutrons hadronically, muons cross the calorimeter as minimum-ionising particles."""


class CaloSimSettings(BaseModel):
    """Every knob of the simulation; field names are the ``raytrack generate calo_sim`` options."""

    model_config = ConfigDict(extra="forbid")

    # -- particles ------------------------------------------------------------------------
    min_particles: int = Field(2, ge=1, le=100, description="fewest signal particles per event")
    max_particles: int = Field(5, ge=1, le=100, description="most signal particles per event")
    particle_types: list[ParticleType] = Field(
        default_factory=lambda: ["photon", "electron", "pion"],
        min_length=1,
        description="species drawn uniformly for each signal particle",
    )
    energy_min: float = Field(5.0, gt=0, le=10000, description="smallest particle energy (GeV)")
    energy_max: float = Field(100.0, gt=0, le=10000, description="largest particle energy (GeV)")
    energy_spectrum: Literal["uniform", "log_uniform"] = Field(
        "log_uniform", description="energy distribution between energy_min and energy_max"
    )
    eta_min: float = Field(1.7, ge=1.3, le=3.2, description="smallest |η| of a particle")
    eta_max: float = Field(2.7, ge=1.3, le=3.2, description="largest |η| of a particle")
    min_separation: float = Field(
        0.0, ge=0, le=2, description="smallest ΔR = sqrt(Δη² + Δφ²) between signal particles"
    )
    max_separation: float | None = Field(
        None, gt=0, le=6,
        description="if set, every signal particle lies within this ΔR of a random event axis "
        "(overlapping showers)",
    )  # fmt: skip
    pileup: float = Field(
        0.0, ge=0, le=1000, description="mean number of soft pile-up particles (Poisson)"
    )
    pileup_energy: float = Field(
        2.0, gt=0, le=100, description="mean energy of a pile-up particle (exponential, GeV)"
    )
    pileup_truth: Literal["noise", "showers"] = Field(
        "noise", description="pile-up hits are noise (t_idx = -1) or showers of their own"
    )
    tracks: bool = Field(
        False, description="add a track point (isTrack = 1) at the front face per charged particle"
    )
    track_resolution: float = Field(
        0.01, ge=0, le=1, description="relative momentum resolution of the tracks"
    )

    # -- detector -------------------------------------------------------------------------
    z_front: float = Field(320.0, gt=0, le=2000, description="z of the first active layer (cm)")
    em_layers: int = Field(
        28, ge=1, le=100, description="layers of the electromagnetic section (silicon)"
    )
    em_layer_x0: float = Field(
        0.95, gt=0, le=5, description="absorber before each EM layer (radiation lengths)"
    )
    em_layer_pitch: float = Field(1.2, gt=0, le=20, description="EM layer spacing (cm)")
    had_layers: int = Field(12, ge=0, le=100, description="layers of the hadronic section")
    had_layer_lambda: float = Field(
        0.65, gt=0, le=3, description="absorber before each hadronic layer (interaction lengths)"
    )
    had_layer_pitch: float = Field(7.0, gt=0, le=50, description="hadronic layer spacing (cm)")
    cell_size_em: float = Field(
        1.2, gt=0.1, le=20, description="side of the square silicon cells of the EM section (cm)"
    )
    cell_size_had: float = Field(
        3.0, gt=0.1, le=30, description="side of the cells of the hadronic section (cm)"
    )
    moliere_radius: float = Field(
        2.8, gt=0, le=20, description="Molière radius of the EM section (cm)"
    )
    em_stochastic: float = Field(
        0.22, gt=0, le=2, description="EM stochastic term a of sigma/E = a/sqrt(E)"
    )
    had_stochastic: float = Field(
        0.6, gt=0, le=3, description="stochastic term of the hadronic component"
    )
    h_over_e: float = Field(
        0.7, gt=0, le=1.5, description="response to the non-EM part of hadron showers (e/h)^-1"
    )
    threshold_mip: float = Field(0.5, ge=0, le=10, description="cell threshold (MIPs)")
    noise_mip: float = Field(0.12, ge=0, le=5, description="cell noise sigma (MIPs)")
    noise_hits: float = Field(
        20.0, ge=0, le=100000, description="mean number of noise hits per event (Poisson)"
    )
    time_resolution: float = Field(
        0.05, gt=0, le=10, description="hit time resolution at 10 MIPs (ns)"
    )
    vertex_time_spread: float = Field(
        0.18, ge=0, le=10, description="spread of the interaction time (ns)"
    )

    @model_validator(mode="after")
    def _ranges(self) -> CaloSimSettings:
        problems = []
        if self.max_particles < self.min_particles:
            problems.append(
                f"max_particles must be at least min_particles, but got "
                f"min_particles={self.min_particles}, max_particles={self.max_particles}"
            )
        if self.energy_max <= self.energy_min:
            problems.append(
                f"energy_max must be larger than energy_min, but got energy_min="
                f"{self.energy_min}, energy_max={self.energy_max}"
            )
        if self.eta_max <= self.eta_min:
            problems.append(
                f"eta_max must be larger than eta_min, but got eta_min={self.eta_min}, "
                f"eta_max={self.eta_max}"
            )
        if self.max_separation is not None and self.max_separation < self.min_separation:
            problems.append(
                f"max_separation must be at least min_separation, but got min_separation="
                f"{self.min_separation}, max_separation={self.max_separation}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
