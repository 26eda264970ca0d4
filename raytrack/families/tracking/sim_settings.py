"""Settings of the detector simulation (:mod:`raytrack.families.tracking.simulate`), kept free of numpy.

The field names are the options of ``raytrack generate`` (``b_field`` is ``--b-field``) and the
keys of an experiment's ``data.generate.settings``; the command line builds its options from
this model, so that importing it stays cheap.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DetectorName = Literal["trackml", "trackml_barrel", "trackml_pixel"]
"""Detector presets: the full TrackML-like tracker, its barrel only, or its pixel part only."""


class SimulationSettings(BaseModel):
    """Every knob of the simulation; field names are the ``raytrack generate`` options."""

    model_config = ConfigDict(extra="forbid")

    rfactor: float = Field(
        0.015,
        gt=0,
        le=1,
        description="pile-up as a fraction of a full TrackML-like event (HyperTrack's rfactor)",
    )
    pileup: float = Field(
        200.0, gt=0, le=2000, description="mean interactions of a full event (rfactor = 1)"
    )
    particles_per_interaction: float = Field(
        50.0, gt=0, le=10000, description="mean charged particles per interaction"
    )
    b_field: float = Field(2.0, gt=0, le=20, description="solenoid field along +z (T)")
    pt_spectrum: Literal["exponential", "power_law", "uniform"] = Field(
        "exponential",
        description="pT distribution between pt_min and pt_max: exp(-pT/pt_scale), "
        "pT^-pt_power, or flat",
    )
    pt_min: float = Field(0.1, gt=0, le=1000, description="smallest particle pT (GeV)")
    pt_max: float = Field(100.0, gt=0, le=10000, description="largest particle pT (GeV)")
    pt_scale: float = Field(
        0.5, gt=0, le=1000, description="slope of the exponential spectrum (GeV)"
    )
    pt_power: float = Field(3.0, gt=1, le=20, description="index of the power-law spectrum")
    eta_max: float = Field(
        4.0, gt=0, le=6, description="particles are uniform in pseudorapidity within +-eta_max"
    )
    vertex_sigma_xy: float = Field(
        0.015, ge=0, le=100, description="transverse spread of the interaction vertices (mm)"
    )
    vertex_sigma_z: float = Field(
        55.0, ge=0, le=1000, description="longitudinal spread of the interaction vertices (mm)"
    )
    noise_ratio: float = Field(
        0.15, ge=0, le=0.9, description="expected fraction of noise hits among all hits"
    )
    barrel_resolution_rphi: float = Field(
        0.02, ge=0, le=100, description="barrel hit resolution along r*phi (mm)"
    )
    barrel_resolution_z: float = Field(
        0.1, ge=0, le=100, description="barrel hit resolution along z (mm)"
    )
    endcap_resolution_rphi: float = Field(
        0.02, ge=0, le=100, description="endcap hit resolution along r*phi (mm)"
    )
    endcap_resolution_r: float = Field(
        0.1, ge=0, le=100, description="endcap hit resolution along r (mm)"
    )
    multiple_scattering: bool = Field(
        True, description="deflect particles in every layer they cross (Highland formula)"
    )
    material_budget: float = Field(
        0.02, ge=0, le=1, description="layer thickness in radiation lengths at normal incidence"
    )
    detector: DetectorName = Field(
        "trackml", description="detector layout: full, barrel only, or pixel only"
    )

    @model_validator(mode="after")
    def _pt_range(self) -> SimulationSettings:
        if self.pt_max <= self.pt_min:
            raise ValueError(
                f"pt_max must be larger than pt_min, but got pt_min={self.pt_min}, "
                f"pt_max={self.pt_max}"
            )
        return self
