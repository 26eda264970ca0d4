"""The HyperTrack network (GNN edge predictor + clustering transformer) and hit clustering.

:class:`HyperTrackNet` takes the reference's two parameter blocks (``hypertrack/models/
global_tune-5.py``: ``net_model_param['graph_block_param']`` and ``['cluster_block_param']``)
with the same keys; missing keys take the reference's values. Its ``forward`` is the GNN;
:func:`cluster_hits` runs the chosen clustering (``cluster``: transformer | cut | dbscan |
hdbscan | none) on its output with the reference's ``cluster_param`` block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from raytrack.families.hypertrack.clustering import (
    CLUSTER_ALGORITHMS,
    cut_clustering,
    dbscan_clustering,
    hdbscan_clustering,
)
from raytrack.families.hypertrack.gnn import HyperTrackGNN
from raytrack.families.hypertrack.pivot_clustering import ClusteringResult, transformer_clustering
from raytrack.families.hypertrack.set_transformer import ClusterTransformer

GRAPH_BLOCK_KEYS = (
    "GNN_model",
    "nstack",
    "coord_dim",
    "h_dim",
    "z_dim",
    "SuperEdgeConv",
    "edge_type",
    "MLP_GNN_edge",
    "MLP_GNN_latent",
    "MLP_fusion",
    "MLP_correlate",
)
SUPER_EDGE_CONV_DEFAULTS: dict[str, Any] = {"m_dim": 64, "aggr": "mean", "use_residual": True}
CLUSTER_BLOCK_KEYS = (
    "in_dim",
    "h_dim",
    "output_dim",
    "nstack_dec",
    "MLP_enc",
    "MAB_dec",
    "SAB_dec",
    "MLP_mask",
)
CLUSTER_PARAM_DEFAULTS: dict[str, Any] = {
    "min_graph": 4,
    "worker_split": 4,
    "dbscan": None,
    "hdbscan": None,
    "transformer": None,
}


def _check_keys(block: Mapping[str, Any] | None, allowed, name: str) -> dict[str, Any]:
    unknown = sorted(set(block or {}) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return dict(block or {})


class HyperTrackNet(nn.Module):
    """GNN (``self.gnn``, :class:`HyperTrackGNN`) and set transformer (``self.transformer``,
    :class:`ClusterTransformer`, input width ``z_dim + coord_dim``).

    ``forward(x [N, coord_dim], edge_index [2, E])`` → ``{"z": [N, z_dim], "edge_logits": [E],
    "edge_prob": [E]}``.
    """

    def __init__(
        self,
        graph_block_param: Mapping[str, Any] | None = None,
        cluster_block_param: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        g = _check_keys(graph_block_param, GRAPH_BLOCK_KEYS, "graph_block_param")
        conv = _check_keys(
            g.pop("SuperEdgeConv", None),
            SUPER_EDGE_CONV_DEFAULTS,
            "graph_block_param.SuperEdgeConv",
        )
        self.gnn = HyperTrackGNN(**g, **{**SUPER_EDGE_CONV_DEFAULTS, **conv})
        c = _check_keys(cluster_block_param, CLUSTER_BLOCK_KEYS, "cluster_block_param")
        in_dim = self.gnn.z_dim + self.gnn.coord_dim
        if c.setdefault("in_dim", in_dim) != in_dim:
            raise ValueError(
                f"cluster_block_param.in_dim must be z_dim + coord_dim = {in_dim}, "
                f"but got in_dim={c['in_dim']}"
            )
        self.transformer = ClusterTransformer(**c)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.gnn(x, edge_index)
        out["edge_prob"] = torch.sigmoid(out["edge_logits"])
        return out


def cluster_hits(
    cluster: str,
    x: torch.Tensor,
    edge_index: torch.Tensor,
    edge_prob: torch.Tensor,
    *,
    edge_threshold: float = 0.55,
    cluster_param: Mapping[str, Any] | None = None,
    z: torch.Tensor | None = None,
    transformer: ClusterTransformer | None = None,
    generator: torch.Generator | None = None,
) -> ClusteringResult:
    """Cluster the ``N`` hits of one event by ``cluster`` (see :data:`CLUSTER_ALGORITHMS`).

    ``transformer`` needs the latents ``z`` and the model's transformer; gradients flow through
    its clusters' logits (call under ``torch.no_grad()`` for inference).
    """
    if cluster not in CLUSTER_ALGORITHMS:
        raise ValueError(f"cluster must be one of {list(CLUSTER_ALGORITHMS)}, but got {cluster!r}")
    p = {
        **CLUSTER_PARAM_DEFAULTS,
        **_check_keys(cluster_param, CLUSTER_PARAM_DEFAULTS, "cluster_param"),
    }
    n = x.shape[0]
    if cluster == "none":
        return ClusteringResult(labels=torch.full((n,), -1, dtype=torch.long))
    if cluster == "transformer":
        if z is None or transformer is None:
            raise ValueError("cluster: transformer needs the GNN latents z and the transformer")
        return transformer_clustering(
            transformer, x, z, edge_index, edge_prob,
            edge_threshold=edge_threshold, min_graph=p["min_graph"], worker_split=p["worker_split"],
            params=p["transformer"], generator=generator,
        )  # fmt: skip
    if cluster == "cut":
        labels = cut_clustering(edge_index, edge_prob, n, edge_threshold, p["min_graph"])
    elif cluster == "dbscan":
        labels = dbscan_clustering(edge_index, edge_prob, n, edge_threshold, p["dbscan"])
    else:
        labels = hdbscan_clustering(edge_index, edge_prob, n, edge_threshold, p["hdbscan"])
    return ClusteringResult(labels=torch.from_numpy(labels))
