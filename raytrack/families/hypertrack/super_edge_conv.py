"""``SuperEdgeConv``: HyperTrack's generalised EdgeConv message-passing layer.

Paper: M. Mieskolainen, "HyperTrack: Neural Combinatorics for High Energy Physics",
arXiv:2309.14113 (the layer generalises EdgeConv, arXiv:1801.07829).

Update rule, for a node ``i`` with incoming edges ``j → i`` and edge attributes ``e_ji``::

    m_ji = MLP_edge([x_i, x_j − x_i, x_j ⊙ x_i, ‖x_j − x_i‖, x_i · x_j, e_ji])
    m_i  = aggr_j m_ji
    y_i  = MLP_latent([x_i, m_i])  (+ x_i when ``use_residual`` and the widths match)

Shapes:
    x: ``[N, in_dim]``, edge_index: ``[2, E]`` (row 0 source ``j``, row 1 target ``i``),
    edge_attr: ``[E, edge_attr_dim]`` or ``[E]`` → ``[N, h_dim]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.aggr import MultiAggregation, SetTransformerAggregation

from raytrack.families.hypertrack.mlp import make_mlp, mlp_options

AGGREGATIONS = (
    "mean",
    "sum",
    "max",
    "min",
    "std",
    "softmax",
    "multi-aggregation",
    "set-transformer",
)
"""The per-layer ``aggr`` choices (the reference's, from PyG's aggregation operators)."""


def resolve_aggregation(aggr: str, channels: int) -> str | nn.Module:
    """A PyG aggregation for ``aggr`` over messages of width ``channels``."""
    if aggr not in AGGREGATIONS:
        raise ValueError(f"aggr must be one of {list(AGGREGATIONS)}, but got aggr={aggr!r}")
    if aggr == "multi-aggregation":
        return MultiAggregation(
            aggrs=["sum", "mean", "std", "max", "min"],
            mode="attn",
            mode_kwargs={"in_channels": channels, "out_channels": channels, "num_heads": 1},
        )
    if aggr == "set-transformer":
        return SetTransformerAggregation(channels, num_seed_points=1, heads=1, layer_norm=False)
    return aggr


class SuperEdgeConv(MessagePassing):
    """One HyperTrack message-passing layer (see the module docstring for the update rule).

    Args:
        in_dim: node feature width.
        m_dim: message width (``MLP_edge``: ``[3 in_dim + 2 + edge_attr_dim, m_dim, m_dim]``).
        h_dim: output width (``MLP_latent``: ``[in_dim + m_dim, h_dim, h_dim]``).
        edge_attr_dim: width of the edge attributes appended to each message (0: none).
        aggr: one of :data:`AGGREGATIONS`.
        use_residual: add the input to the output when ``in_dim == h_dim``.
        mlp_edge, mlp_latent: the two MLPs' ``{act, bn, dropout, last_act}``.
    """

    def __init__(
        self,
        in_dim: int,
        m_dim: int,
        h_dim: int,
        edge_attr_dim: int = 1,
        aggr: str = "mean",
        use_residual: bool = True,
        mlp_edge: Mapping[str, Any] | None = None,
        mlp_latent: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(aggr=resolve_aggregation(aggr, m_dim))
        if min(in_dim, m_dim, h_dim) < 1 or edge_attr_dim < 0:
            raise ValueError(
                f"SuperEdgeConv needs positive widths, but got in_dim={in_dim}, m_dim={m_dim}, "
                f"h_dim={h_dim}, edge_attr_dim={edge_attr_dim}"
            )
        self.edge_attr_dim = edge_attr_dim
        self.sort_by_target = aggr == "set-transformer"  # it needs edges sorted by target
        self.use_residual = use_residual
        self.nn = make_mlp(
            [3 * in_dim + 2 + edge_attr_dim, m_dim, m_dim], **mlp_options(mlp_edge, "MLP_GNN_edge")
        )
        self.nn_final = make_mlp(
            [in_dim + m_dim, h_dim, h_dim], **mlp_options(mlp_latent, "MLP_GNN_latent")
        )
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None
    ) -> torch.Tensor:
        if edge_attr is not None and edge_attr.dim() == 1:
            edge_attr = edge_attr[:, None]
        got = 0 if edge_attr is None else edge_attr.shape[-1]
        if got != self.edge_attr_dim:
            raise ValueError(
                f"SuperEdgeConv was built for edge_attr_dim={self.edge_attr_dim}, "
                f"but got edge attributes of width {got}"
            )
        if self.sort_by_target:
            order = torch.argsort(edge_index[1], stable=True)
            edge_index = edge_index[:, order]
            edge_attr = None if edge_attr is None else edge_attr[order]
        m = self.propagate(edge_index, x=x, edge_attr=edge_attr)
        y = self.nn_final(torch.cat([x, m], dim=-1))
        if self.use_residual and y.shape[-1] == x.shape[-1]:
            y = y + x
        return y

    def message(
        self, x_i: torch.Tensor, x_j: torch.Tensor, edge_attr: torch.Tensor | None
    ) -> torch.Tensor:
        diff = x_j - x_i
        feats = [
            x_i,
            diff,
            x_j * x_i,
            diff.norm(dim=-1, keepdim=True),
            (x_j * x_i).sum(dim=-1, keepdim=True),
        ]
        if edge_attr is not None:
            feats.append(edge_attr)
        return self.nn(torch.cat(feats, dim=-1))
