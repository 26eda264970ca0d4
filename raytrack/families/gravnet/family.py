"""The gravnet family's declaration: HGCalML's GravNet with object condensation."""

from raytrack.family import DataSource, Evaluator, Family, ModelSpec

_HERE = "raytrack.families.gravnet"
_PAPER = "(Qasim et al. 2022, arXiv:2204.01681; Kieseler 2020, arXiv:2002.03605)"

family = Family(
    name="gravnet",
    description=f"HGCalML: GravNet with object condensation on calorimeter showers {_PAPER}",
    models=(
        ModelSpec(
            "gravnet_oc",
            builder=f"{_HERE}.gravnet_model:GravNetOC",
            task=f"{_HERE}.task:GravNetTask",
            description="GravNet iterations with object condensation: clusters calorimeter hits "
            f"into showers and measures their energy {_PAPER}",
            sources=("calo_sim", "hgcal_ntuple"),
            evaluators=("showers",),
            example=f"{_HERE}.examples:gravnet_example",
        ),
    ),
    sources=(
        DataSource(
            "calo_sim",
            settings=f"{_HERE}.calo_settings:CaloSimSettings",
            produce=f"{_HERE}.sources:simulated_showers",
            kind="simulator",
            description="HGCAL-like sampling calorimeter: several EM and hadronic showers per "
            "event with longitudinal and lateral profiles and fluctuations, pile-up, noise hits "
            "and optional tracks",
            describe=f"{_HERE}.sources:describe_store",
        ),
        DataSource(
            "hgcal_ntuple",
            settings=f"{_HERE}.ntuple_settings:NtupleSettings",
            produce=f"{_HERE}.sources:ntuple_showers",
            kind="reader",
            description="CMS HGCAL ntuples (ROOT, HGCalML's NanoML branches by default, every "
            "branch name settable); needs uproot",
            describe=f"{_HERE}.sources:describe_store",
        ),
    ),
    evaluators=(
        Evaluator(
            "showers",
            settings=f"{_HERE}.evaluate:ShowerSettings",
            evaluate=f"{_HERE}.evaluate:evaluate_showers",
            description="condensation showers matched to the truth by energy-weighted IoU: "
            "efficiency, fake rate, energy response and resolution vs energy, PNG plots",
        ),
    ),
)
