"""One layer of GTR's transformer encoder (biogtr ``TransformerEncoderLayer``)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Activation = Literal["relu", "gelu", "glu"]


class FeedForward(nn.Module):
    r"""``W_2 \, \mathrm{dropout}(\sigma(W_1 x))`` with ``σ`` relu, gelu or glu.

    For ``glu`` the first layer is twice as wide, since GLU halves its input (biogtr applies GLU
    to a layer of the model's width, which cannot work).

    Shapes:
        - input and output: ``(*, D)``
    """

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float, activation: Activation):
        super().__init__()
        if activation not in ("relu", "gelu", "glu"):
            raise ValueError(f"activation must be relu, gelu or glu, but got {activation!r}")
        widen = 2 if activation == "glu" else 1
        self.linear1 = nn.Linear(d_model, widen * dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = {"relu": F.relu, "gelu": F.gelu, "glu": F.glu}[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(nn.Module):
    r"""Self-attention over every instance of the window, then a feed-forward block.

    .. math::

        x &\leftarrow x + p \\
        x &\leftarrow \mathrm{N}_1(x + \mathrm{drop}(\mathrm{MHA}(x, x, x))) \\
        x &\leftarrow \mathrm{N}_2(x + \mathrm{drop}(\mathrm{FF}(x)))

    with ``p`` the instances' positional + temporal embedding, added at every layer as in biogtr,
    and the norms ``N`` layer norms under ``norm`` (identities otherwise).

    Shapes:
        - queries, pos_emb: ``(N, D)`` → ``(N, D)``
    """

    def __init__(
        self, d_model: int, nhead: int, dropout: float, activation: Activation, norm: bool
    ) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.feed_forward = FeedForward(d_model, d_model, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.norm2 = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, pos_emb: torch.Tensor) -> torch.Tensor:
        x = (queries + pos_emb).unsqueeze(0)
        attended = self.self_attn(x, x, x, need_weights=False)[0]
        x = self.norm1(x + self.dropout1(attended))
        x = self.norm2(x + self.dropout2(self.feed_forward(x)))
        return x.squeeze(0)
