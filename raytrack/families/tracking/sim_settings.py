"""Settings of the detector simulation (:mod:`raytrack.families.tracking.simulate`), kept free of numpy.

The field names are the options of ``raytrack generate`` (``b_field`` is ``--b-field``) and the
keys of an experiment's ``data.generate.settings``; the command line builds its options from
this model, so that importing it stays cheap.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DetectorName = Literal["trackml", "trackml_barrel", "trackml_pixel"]
"""Detector presets: the full TrackML-like tracker, its barrel only, or its pixel part only."""

VOLUME_IDS = (7, 8, 9, 12, 13, 14, 16, 17, 18)
"""TrackML volume ids (pixel 7-9, short strips 12-14, long strips 16-18)."""

TRACKML_REALISM: dict[str, Any] = {
    "resolution": "pitch",
    "material_by_volume": {7: 0.015, 8: 0.015, 9: 0.015, 12: 0.025, 13: 0.025, 14: 0.025,
                           16: 0.03, 17: 0.03, 18: 0.03},
    "energy_loss": True,
    "module_overlap_by_volume": {7: 0.25, 8: 0.095, 9: 0.25, 12: 0.045, 13: 0.06, 14: 0.045,
                                 16: 0.125, 17: 0.075, 18: 0.125},
    "secondary_fraction": 0.35,
    "loopers": True,
    "cells": True,
}  # fmt: skip
"""What ``realism: trackml`` sets (each value only where the setting is not given explicitly).

Tuned against the real TrackML event in ``../shared/data/trackml`` with
``benchmarks/simulation_vs_real.py``: ``module_overlap_by_volume`` so that, with the loopers'
second crossings, the share of a particle's layers that hold two or more of its hits is the real
event's in each volume (pixel disks 51%, short-strip disks 9-10%, barrels 20-24%, long-strip disks
21-29%), ``secondary_fraction`` so that about a quarter of the
particles start away from the beam line (the real event: 148 of 548 particles start more than
10 mm from it, 0.37 per primary).
"""


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
    realism: Literal["basic", "trackml"] = Field(
        "basic",
        description="preset of the realism settings below: 'basic' leaves them off, 'trackml' "
        "turns them on with the values of TRACKML_REALISM (explicit settings win)",
    )
    resolution: Literal["fixed", "pitch"] = Field(
        "fixed",
        description="hit resolution: 'fixed' uses the *_resolution_* settings; 'pitch' uses "
        "pitch/sqrt(12) of the TrackML module pitches of each volume (pixel 0.05 x 0.05625 mm, "
        "short strips 0.08 x 1.2 mm, long strips 0.12 x 10.4 mm; detectors.csv)",
    )
    material_by_volume: dict[int, float] = Field(
        default_factory=dict,
        description="layer thickness in radiation lengths per TrackML volume id; volumes not "
        "named use material_budget",
    )
    energy_loss: bool = Field(
        False,
        description="particles lose the minimum-ionising energy of silicon in every layer "
        "(36.3 MeV per radiation length of path, 1.664 MeV cm2/g and X0 = 9.37 cm); a particle "
        "whose energy falls below its mass stops",
    )
    module_overlap: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="fraction of a module's azimuthal width that its neighbour also covers at "
        "each side: a crossing there leaves a second hit on the neighbouring module",
    )
    module_overlap_by_volume: dict[int, float] = Field(
        default_factory=dict,
        description="module_overlap per TrackML volume id; volumes not named use module_overlap",
    )
    secondary_fraction: float = Field(
        0.0,
        ge=0,
        le=2,
        description="secondary particles per primary (Poisson mean): each starts at a hit of a "
        "random primary (a displaced vertex), within 0.3 rad of its direction, with a soft pT "
        "(pt_min plus an exponential of slope 0.17 GeV)",
    )
    loopers: bool = Field(
        False,
        description="particles keep turning after their largest radius (low-pT loopers cross "
        "the same layers again) until they leave the tracker or turn looper_max_turns times",
    )
    looper_max_turns: float = Field(
        1.5, gt=0, le=20, description="full turns a looper may make (loopers only)"
    )
    cells: bool = Field(
        False,
        description="write TrackML-like cells (cluster size, charge, local direction) and add "
        "the Exa.TrkX cell features (cell_count, cell_val, leta, ...) as for the real event",
    )

    def _changed(self) -> set[str]:
        """Settings given a value other than their default (a dumped default is not a choice)."""
        fields = type(self).model_fields
        return {
            f
            for f in self.model_fields_set
            if getattr(self, f) != fields[f].get_default(call_default_factory=True)
        }

    @model_validator(mode="before")
    @classmethod
    def _apply_realism(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("realism") == "trackml":
            return {**TRACKML_REALISM, **data}
        return data

    @model_validator(mode="after")
    def _pt_range(self) -> SimulationSettings:
        if self.pt_max <= self.pt_min:
            raise ValueError(
                f"pt_max must be larger than pt_min, but got pt_min={self.pt_min}, "
                f"pt_max={self.pt_max}"
            )
        unknown = sorted(set(self.material_by_volume) - set(VOLUME_IDS))
        if unknown:
            raise ValueError(
                f"material_by_volume names volume ids {unknown}; TrackML volumes are {VOLUME_IDS}"
            )
        bad = {v: x for v, x in self.material_by_volume.items() if not 0 <= x <= 1}
        if bad:
            raise ValueError(f"material_by_volume values must lie in [0, 1], but got {bad}")
        unknown = sorted(set(self.module_overlap_by_volume) - set(VOLUME_IDS))
        if unknown:
            raise ValueError(
                f"module_overlap_by_volume names volume ids {unknown}; TrackML volumes are "
                f"{VOLUME_IDS}"
            )
        bad = {v: x for v, x in self.module_overlap_by_volume.items() if not 0 <= x <= 0.5}
        if bad:
            raise ValueError(f"module_overlap_by_volume values must lie in [0, 0.5], but got {bad}")
        if self.resolution == "pitch":
            fixed = sorted(f for f in self._changed() if "_resolution_" in f)
            if fixed:
                raise ValueError(
                    f"{', '.join(fixed)} is not used with resolution: pitch (the module pitches "
                    "set the resolution); remove it or set resolution: fixed"
                )
        if "looper_max_turns" in self._changed() and not self.loopers:
            raise ValueError("looper_max_turns is only used with loopers: true")
        return self
