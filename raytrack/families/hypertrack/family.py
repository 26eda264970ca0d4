"""The hypertrack family's declaration: HyperTrack's voxdyn graphs, GNN and clustering."""

from raytrack.family import Family, ModelSpec

_HERE = "raytrack.families.hypertrack"
_PAPER = "(Mieskolainen 2023, arXiv:2309.14113)"

family = Family(
    name="hypertrack",
    description=f"HyperTrack: voxel-dynamics graphs, a GNN edge predictor and set-transformer "
    f"clustering {_PAPER}",
    models=(
        ModelSpec(
            "hypertrack",
            builder=f"{_HERE}.network:hypertrack_network",
            task=f"{_HERE}.task:HyperTrackTask",
            description="voxdyn candidate graphs over ncell Voronoi cells, SuperEdgeConv GNN "
            f"edge predictor, set-transformer (or cut/DBSCAN/HDBSCAN) clustering {_PAPER}",
            sources=("detector_sim", "trackml"),
            evaluators=("tracks", "graph"),
            example=f"{_HERE}.examples:hypertrack_example",
        ),
    ),
)
