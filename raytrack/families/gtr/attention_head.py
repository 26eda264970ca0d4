"""GTR's association head: scores every query instance against every window instance."""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gtr.mlp import MLP


class ATTWeightHead(nn.Module):
    r"""A single attention-weight head (biogtr ``ATTWeightHead``; Zhou et al., "Global Tracking
    Transformers", CVPR 2022, arXiv:2203.13250).

    .. math::

        A_{qk} = \mathrm{MLP}_q(d_q)^\top \, \mathrm{MLP}_k(e_k)

    with ``d`` the decoder's output for the query instances and ``e`` the encoder's output for
    every instance of the window: the logits of the association matrix (no scaling, no softmax).

    Args:
        feature_dim: ``d_model``.
        num_layers: layers of each projection MLP (``num_layers_attn_head``).
        dropout: dropout inside the projections (``dropout_attn_head``).

    Shapes:
        - query: ``(Q, D)``, key: ``(N, D)``
        - output: ``(Q, N)``
    """

    def __init__(self, feature_dim: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.q_proj = MLP(feature_dim, feature_dim, feature_dim, num_layers, dropout)
        self.k_proj = MLP(feature_dim, feature_dim, feature_dim, num_layers, dropout)

    def forward(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        return self.q_proj(query) @ self.k_proj(key).transpose(-1, -2)
