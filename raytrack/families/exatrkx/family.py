"""The Exa.TrkX family's declaration: its three pipeline stages."""

from raytrack.family import Family, ModelSpec

_HERE = "raytrack.families.exatrkx"
_PAPER = "(Ju et al. 2021, arXiv:2103.06995)"

family = Family(
    name="exatrkx",
    description=f"The Exa.TrkX pipeline: embedding, filter, interaction GNN {_PAPER}",
    models=(
        ModelSpec(
            "exatrkx_embedding",
            builder=f"{_HERE}.embedding:LayerlessEmbedding",
            task=f"{_HERE}.embedding_task:EmbeddingTask",
            description=f"metric-learning hit embedding; radius + kNN graphs {_PAPER}",
            sources=("detector_sim", "trackml"),
            evaluators=("graph",),
            example=f"{_HERE}.examples:embedding_example",
        ),
        ModelSpec(
            "exatrkx_filter",
            builder=f"{_HERE}.filter:EdgeFilter",
            task=f"{_HERE}.filter_task:FilterTask",
            description=f"edge filter MLP on the embedding stage's graphs {_PAPER}",
            sources=(),  # trains on the embedding stage's output store
            evaluators=("graph",),
            example=f"{_HERE}.examples:filter_example",
        ),
        ModelSpec(
            "exatrkx_gnn",
            builder=f"{_HERE}.interaction_gnn:InteractionGNN",
            task=f"{_HERE}.gnn_task:InteractionGNNTask",
            description=f"interaction GNN edge classifier on geometric or stored graphs {_PAPER}",
            sources=("detector_sim", "trackml"),
            # tracks by default; graph judges the scored graph it passes on (edges above its cut)
            evaluators=("tracks", "graph"),
            example=f"{_HERE}.examples:gnn_example",
        ),
        ModelSpec(
            "exatrkx_gnn2",
            builder=f"{_HERE}.interaction_gnn2:InteractionGNN2",
            task=f"{_HERE}.gnn_task:InteractionGNNTask",
            description="acorn's interaction GNN (InteractionGNN2, its CTD 2023 configuration: "
            "separate networks per iteration, concatenated encodings, in/out sums)",
            sources=("detector_sim", "trackml"),
            evaluators=("tracks", "graph"),
            example=f"{_HERE}.examples:gnn2_example",
        ),
    ),
)
