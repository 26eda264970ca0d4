"""One layer of GTR's transformer decoder (biogtr ``TransformerDecoderLayer``)."""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gtr.encoder_layer import Activation, FeedForward


class TransformerDecoderLayer(nn.Module):
    r"""The query instances attend to every instance of the window (the encoder's output).

    .. math::

        q &\leftarrow q + p_q, \quad k = e + p_e \\
        q &\leftarrow \mathrm{N}_1(q + \mathrm{drop}(\mathrm{MHA}(q, q, q)))
            \quad \text{(only with decoder\_self\_attn)} \\
        q &\leftarrow \mathrm{N}_2(q + \mathrm{drop}(\mathrm{MHA}(q, k, k))) \\
        q &\leftarrow \mathrm{N}_3(q + \mathrm{drop}(\mathrm{FF}(q)))

    with ``p_q, p_e`` the embeddings of the queries and of the window instances (added at every
    layer, as in biogtr) and the norms layer norms under ``norm``.

    Shapes:
        - queries, query_pos_emb: ``(Q, D)``; encoder_features, ref_pos_emb: ``(N, D)``
        - output: ``(Q, D)``
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dropout: float,
        activation: Activation,
        norm: bool,
        decoder_self_attn: bool,
    ) -> None:
        super().__init__()
        self.decoder_self_attn = decoder_self_attn
        if decoder_self_attn:
            self.self_attn = nn.MultiheadAttention(
                d_model, nhead, dropout=dropout, batch_first=True
            )
        self.multihead_attn = nn.MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=True
        )
        self.feed_forward = FeedForward(d_model, d_model, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.norm2 = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.norm3 = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self,
        queries: torch.Tensor,
        encoder_features: torch.Tensor,
        query_pos_emb: torch.Tensor,
        ref_pos_emb: torch.Tensor,
    ) -> torch.Tensor:
        q = (queries + query_pos_emb).unsqueeze(0)
        k = (encoder_features + ref_pos_emb).unsqueeze(0)
        if self.decoder_self_attn:
            attended = self.self_attn(q, q, q, need_weights=False)[0]
            q = self.norm1(q + self.dropout1(attended))
        attended = self.multihead_attn(q, k, k, need_weights=False)[0]
        q = self.norm2(q + self.dropout2(attended))
        q = self.norm3(q + self.dropout3(self.feed_forward(q)))
        return q.squeeze(0)
