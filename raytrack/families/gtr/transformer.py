"""GTR's transformer: embeddings, encoder, decoder and association head (biogtr ``Transformer``)."""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gtr.attention_head import ATTWeightHead
from raytrack.families.gtr.box_embedding import BoxEmbedding
from raytrack.families.gtr.decoder_layer import TransformerDecoderLayer
from raytrack.families.gtr.embedding_settings import EmbeddingMeta
from raytrack.families.gtr.encoder_layer import Activation, TransformerEncoderLayer
from raytrack.families.gtr.time_embedding import TimeEmbedding


class Transformer(nn.Module):
    r"""Associates the query instances of a window with every instance of it.

    With ``f`` the instances' features (visual, or zeros), ``p = (pos(boxes) + temp(t)) / 2``
    their embedding (biogtr averages the two), the encoder's layers turn ``f`` into ``e``; the
    decoder's layers turn the query instances' features into ``d^l`` (one per layer, or only the
    last unless ``return_intermediate_dec``); the head scores ``A^l = head(d^l, e)``.

    Args:
        d_model, nhead, num_encoder_layers, num_decoder_layers, dropout, activation, norm,
        num_layers_attn_head, dropout_attn_head, embedding_meta, decoder_self_attn,
        return_intermediate_dec: as the model's hyperparameters (see
        :class:`~raytrack.families.gtr.global_tracking_transformer.GlobalTrackingTransformer`).

    Shapes:
        - features: ``(N, D)``, boxes: ``(N, A, 4)`` normalised, times: ``(N,)``,
          query: ``(Q,)`` indices into the N instances (None: every instance)
        - output: ``{"asso": (L, Q, N), "pos_emb": (N, D), "temp_emb": (N, D)}``
    """

    def __init__(
        self,
        *,
        d_model: int,
        nhead: int,
        num_encoder_layers: int,
        num_decoder_layers: int,
        dropout: float,
        activation: Activation,
        return_intermediate_dec: bool,
        norm: bool,
        num_layers_attn_head: int,
        dropout_attn_head: float,
        embedding_meta: EmbeddingMeta,
        decoder_self_attn: bool,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.return_intermediate_dec = return_intermediate_dec
        self.pos_emb = BoxEmbedding(embedding_meta.pos, d_model)
        self.temp_emb = TimeEmbedding(embedding_meta.temp, d_model)
        self.encoder_layers = nn.ModuleList(
            TransformerEncoderLayer(d_model, nhead, dropout, activation, norm)
            for _ in range(num_encoder_layers)
        )
        self.decoder_layers = nn.ModuleList(
            TransformerDecoderLayer(d_model, nhead, dropout, activation, norm, decoder_self_attn)
            for _ in range(num_decoder_layers)
        )
        self.encoder_norm = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d_model) if norm else nn.Identity()
        self.attn_head = ATTWeightHead(d_model, num_layers_attn_head, dropout_attn_head)
        for parameter in self.parameters():  # biogtr's _reset_parameters
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)

    def embed(self, boxes: torch.Tensor, times: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(pos_emb, temp_emb, their mean)`` of the instances, each ``(N, D)``."""
        pos, temp = self.pos_emb(boxes), self.temp_emb(times)
        return pos, temp, (pos + temp) / 2.0

    def forward(
        self,
        features: torch.Tensor,
        boxes: torch.Tensor,
        times: torch.Tensor,
        query: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        pos, temp, emb = self.embed(boxes, times)
        encoded = features
        for layer in self.encoder_layers:
            encoded = layer(encoded, emb)
        encoded = self.encoder_norm(encoded)
        queries, query_emb = (features, emb) if query is None else (features[query], emb[query])
        outputs = []
        for layer in self.decoder_layers:
            queries = layer(queries, encoded, query_emb, emb)
            if self.return_intermediate_dec:
                outputs.append(self.decoder_norm(queries))
        if not self.return_intermediate_dec:
            outputs.append(self.decoder_norm(queries))
        asso = torch.stack([self.attn_head(decoded, encoded) for decoded in outputs])
        return {"asso": asso, "pos_emb": pos, "temp_emb": temp}
