"""Settings of the HGCAL ntuple reader (:mod:`.ntuple_reader`), kept free of numpy and uproot.

The defaults are the branch names of the CMS HGCAL "NanoML" ntuples that HGCalML's
``TrainData_NanoML`` reads; every name can be mapped to another ntuple's columns
(``raytrack convert hgcal_ntuple FILE STORE --hit-energy RecHit_E ...``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NtupleSettings(BaseModel):
    """Where the ROOT files are and which branches hold the hits and their truth."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="a .root file, or a directory whose .root files are read")
    tree: str = Field("Events", description="name of the TTree")
    hit_energy: str = Field("RecHitHGC_energy", description="hit energy branch (GeV)")
    hit_x: str = Field("RecHitHGC_x", description="hit x branch (cm)")
    hit_y: str = Field("RecHitHGC_y", description="hit y branch (cm)")
    hit_z: str = Field("RecHitHGC_z", description="hit z branch (cm)")
    hit_time: str = Field("RecHitHGC_time", description="hit time branch (ns)")
    hit_r: str = Field("RecHitHGC_hitr", description="cell radius branch (cm)")
    hit_layer: str | None = Field(
        None,
        description="hit layer branch; unset: layers numbered by the distinct |z| of the hits of "
        "each chunk of events",
    )
    hit_truth_index: str = Field(
        "RecHitHGC_MergedSimClusterBestMatchIdx",
        description="per hit: index of its truth shower in the event (negative: noise)",
    )
    truth_energy: str = Field(
        "MergedSimCluster_boundaryEnergy", description="truth shower energy branch (GeV)"
    )
    truth_pid: str = Field("MergedSimCluster_pdgId", description="truth shower PDG id branch")
    truth_x: str = Field("MergedSimCluster_impactPoint_x", description="impact point x branch")
    truth_y: str = Field("MergedSimCluster_impactPoint_y", description="impact point y branch")
    truth_z: str = Field("MergedSimCluster_impactPoint_z", description="impact point z branch")
    truth_time: str = Field("MergedSimCluster_impactPoint_t", description="impact time branch")
    truth_trainable: str | None = Field(
        "MergedSimCluster_isTrainable",
        description="branch flagging showers to learn (the others become noise); unset: all",
    )
    contained_z: float = Field(
        323.0, gt=0,
        description="a shower whose impact |z| is below this is fully contained (HGCalML's cut)",
    )  # fmt: skip
    split_endcaps: bool = Field(
        True, description="one sample per endcap (z > 0 and z < 0), as HGCalML splits events"
    )
    step_size: int = Field(1000, ge=1, description="events read from the file at a time")

    def hit_branches(self) -> list[str]:
        names = [self.hit_energy, self.hit_x, self.hit_y, self.hit_z, self.hit_time, self.hit_r,
                 self.hit_truth_index]  # fmt: skip
        return names + ([self.hit_layer] if self.hit_layer else [])

    def truth_branches(self) -> list[str]:
        names = [self.truth_energy, self.truth_pid, self.truth_x, self.truth_y, self.truth_z,
                 self.truth_time]  # fmt: skip
        return names + ([self.truth_trainable] if self.truth_trainable else [])
