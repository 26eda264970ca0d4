"""The ``hypertrack`` model's builder: HyperTrack's network from flat hyperparameters.

The reference groups its network settings in two blocks (``hypertrack/models/global_tune-5.py``:
``net_model_param['graph_block_param']`` and ``['cluster_block_param']``). An experiment sets
and searches the graph block's keys by their own names (``nstack``, ``coord_dim``, ``h_dim``,
``z_dim``, ``edge_type``, ``GNN_model``, the ``SuperEdgeConv`` keys ``m_dim``, ``aggr``,
``use_residual``, and the ``MLP_*`` blocks), since those are what a sweep tunes; the clustering
transformer keeps its block, ``cluster_block_param`` (``h_dim``, ``nstack_dec``, ``MAB_dec``,
``SAB_dec``, ...), whose ``h_dim`` is the transformer's own width.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, validate_call

from raytrack.families.hypertrack.model import HyperTrackNet

Aggregation = Literal[
    "mean", "sum", "max", "min", "std", "softmax", "multi-aggregation", "set-transformer"
]
"""The per-layer ``aggr`` choices (:data:`.super_edge_conv.AGGREGATIONS`)."""


@validate_call
def hypertrack_network(
    *,
    GNN_model: Literal["SuperEdgeConv"] = "SuperEdgeConv",  # noqa: N803 - the reference's name
    nstack: Annotated[int, Field(ge=1, le=32)] = 5,
    coord_dim: Literal[3] = 3,
    h_dim: Annotated[int, Field(ge=2, le=4096)] = 64,
    z_dim: Annotated[int, Field(ge=2, le=4096)] = 61,
    m_dim: Annotated[int, Field(ge=1, le=4096)] = 64,
    aggr: Aggregation | list[Aggregation] = "mean",
    use_residual: bool = True,
    edge_type: Literal["symmetric-dot", "symmetrized", "asymmetric"] = "symmetric-dot",
    MLP_GNN_edge: dict[str, Any] | None = None,  # noqa: N803
    MLP_GNN_latent: dict[str, Any] | None = None,  # noqa: N803
    MLP_fusion: dict[str, Any] | None = None,  # noqa: N803
    MLP_correlate: dict[str, Any] | None = None,  # noqa: N803
    cluster_block_param: Mapping[str, Any] | None = None,
) -> HyperTrackNet:
    """HyperTrack's GNN edge predictor and clustering transformer (see the module docstring).

    ``coord_dim`` is 3: the hits' ``x, y, z`` (in millimetres, as in the reference) are the node features.
    """
    graph = {
        "GNN_model": GNN_model,
        "nstack": nstack,
        "coord_dim": coord_dim,
        "h_dim": h_dim,
        "z_dim": z_dim,
        "edge_type": edge_type,
        "SuperEdgeConv": {"m_dim": m_dim, "aggr": aggr, "use_residual": use_residual},
    }
    blocks = {"MLP_GNN_edge": MLP_GNN_edge, "MLP_GNN_latent": MLP_GNN_latent,
              "MLP_fusion": MLP_fusion, "MLP_correlate": MLP_correlate}  # fmt: skip
    graph.update({name: block for name, block in blocks.items() if block is not None})
    return HyperTrackNet(graph_block_param=graph, cluster_block_param=cluster_block_param)
