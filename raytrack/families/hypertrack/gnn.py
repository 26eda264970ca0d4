"""HyperTrack's GNN edge predictor: ``nstack`` SuperEdgeConv layers, a fusion MLP, an edge MLP.

The encoder runs ``nstack`` :class:`SuperEdgeConv` layers (the first from the ``coord_dim`` hit
coordinates to ``h_dim``, the rest ``h_dim → h_dim`` with ``use_residual``); the outputs of all
layers are concatenated and fused by ``MLP_fusion`` (``[nstack h_dim, h_dim, z_dim]``) into the
latent ``z``. Each edge's logit comes from ``MLP_correlate`` by ``edge_type``:

- ``symmetric-dot``: ``MLP(z_i ⊙ z_j)`` (symmetric; the clustering transformer prefers it);
- ``symmetrized``: ``(MLP([z_i, z_j]) + MLP([z_j, z_i])) / 2``;
- ``asymmetric``: ``MLP([z_i, z_j])``.

Every message carries one edge attribute, the reference's node-degree contrast
``(d_i − d_j) / mean(d)`` with ``d`` the number of edges leaving each hit.

Shapes:
    x: ``[N, coord_dim]``, edge_index: ``[2, E]`` → ``{"z": [N, z_dim], "edge_logits": [E]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from raytrack.families.hypertrack.mlp import make_mlp, mlp_options
from raytrack.families.hypertrack.super_edge_conv import SuperEdgeConv

EDGE_TYPES = ("symmetric-dot", "symmetrized", "asymmetric")
GNN_MODELS = ("SuperEdgeConv",)

_HIDDEN = {"act": "silu", "bn": True, "dropout": 0.0, "last_act": True}
_CORRELATE = {"act": "silu", "bn": True, "dropout": 0.0, "last_act": False}


def degree_contrast(edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype) -> torch.Tensor:
    """Per edge ``(d[src] − d[dst]) / mean(d)``, ``d`` the out-degree of each node."""
    d = torch.bincount(edge_index[0], minlength=num_nodes).to(dtype)
    mean = d.mean().clamp_min(torch.finfo(dtype).tiny)
    return (d[edge_index[0]] - d[edge_index[1]]) / mean


class HyperTrackGNN(nn.Module):
    """The GNN edge predictor (the reference's ``graph_block_param``); see the module docstring.

    Args:
        GNN_model: ``SuperEdgeConv`` (the only one; ``GaugeEdgeConv`` is not provided).
        nstack: number of message-passing layers (≥ 1).
        coord_dim, h_dim, z_dim, m_dim: input, hidden, latent and message widths.
        aggr: one aggregation for every layer, or a list of ``nstack`` of them.
        use_residual: residual connections in layers 2..nstack.
        edge_type: one of :data:`EDGE_TYPES`.
        MLP_GNN_edge, MLP_GNN_latent, MLP_fusion, MLP_correlate: each MLP's
            ``{act, bn, dropout, last_act}`` (missing keys take the reference's values).
    """

    def __init__(
        self,
        GNN_model: str = "SuperEdgeConv",
        nstack: int = 5,
        coord_dim: int = 3,
        h_dim: int = 64,
        z_dim: int = 61,
        m_dim: int = 64,
        aggr: str | Sequence[str] = "mean",
        use_residual: bool = True,
        edge_type: str = "symmetric-dot",
        MLP_GNN_edge: Mapping[str, Any] | None = None,
        MLP_GNN_latent: Mapping[str, Any] | None = None,
        MLP_fusion: Mapping[str, Any] | None = None,
        MLP_correlate: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if GNN_model not in GNN_MODELS:
            raise ValueError(f"GNN_model must be one of {list(GNN_MODELS)}, but got {GNN_model!r}")
        if edge_type not in EDGE_TYPES:
            raise ValueError(f"edge_type must be one of {list(EDGE_TYPES)}, but got {edge_type!r}")
        if nstack < 1:
            raise ValueError(f"nstack must be at least 1, but got nstack={nstack}")
        if z_dim < 2:
            raise ValueError(f"z_dim must be at least 2, but got z_dim={z_dim}")
        aggrs = [aggr] * nstack if isinstance(aggr, str) else list(aggr)
        if len(aggrs) != nstack:
            raise ValueError(
                f"aggr must be one name or a list of nstack={nstack} names, but got {len(aggrs)}"
            )
        self.edge_type = edge_type
        self.coord_dim, self.z_dim = coord_dim, z_dim
        edge_mlp = {**_HIDDEN, **(MLP_GNN_edge or {})}
        latent_mlp = {**_HIDDEN, **(MLP_GNN_latent or {})}
        self.convs = nn.ModuleList(
            SuperEdgeConv(
                in_dim=coord_dim if i == 0 else h_dim,
                m_dim=m_dim,
                h_dim=h_dim,
                edge_attr_dim=1,
                aggr=aggrs[i],
                use_residual=use_residual and i > 0,
                mlp_edge=edge_mlp,
                mlp_latent=latent_mlp,
            )
            for i in range(nstack)
        )
        self.fusion = make_mlp(
            [nstack * h_dim, h_dim, z_dim],
            **mlp_options({**_HIDDEN, **(MLP_fusion or {})}, "MLP_fusion"),
        )
        width = z_dim if edge_type == "symmetric-dot" else 2 * z_dim
        self.correlate = make_mlp(
            [width, z_dim // 2, z_dim // 2, 1],
            **mlp_options({**_CORRELATE, **(MLP_correlate or {})}, "MLP_correlate"),
        )

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """The latent ``z`` ``[N, z_dim]`` of every hit."""
        if x.dim() != 2 or x.shape[1] != self.coord_dim:
            raise ValueError(
                f"x must have shape [N, coord_dim={self.coord_dim}], but got {tuple(x.shape)}"
            )
        edge_attr = degree_contrast(edge_index, x.shape[0], x.dtype)
        outs, h = [], x
        for conv in self.convs:
            h = conv(h, edge_index, edge_attr)
            outs.append(h)
        return self.fusion(torch.cat(outs, dim=-1))

    def decode(self, z: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """The logit ``[E]`` of every edge of ``edge_index`` from the latents."""
        zi, zj = z[edge_index[0]], z[edge_index[1]]
        if self.edge_type == "symmetric-dot":
            out = self.correlate(zi * zj)
        elif self.edge_type == "symmetrized":
            a = self.correlate(torch.cat([zi, zj], dim=-1))
            b = self.correlate(torch.cat([zj, zi], dim=-1))
            out = (a + b) / 2
        else:
            out = self.correlate(torch.cat([zi, zj], dim=-1))
        return out.view(-1)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x, edge_index)
        return {"z": z, "edge_logits": self.decode(z, edge_index)}
