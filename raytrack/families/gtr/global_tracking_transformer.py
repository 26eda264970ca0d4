"""The global tracking transformer (GTR; biogtr/DREEM ``GlobalTrackingTransformer``)."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.gtr.embedding_settings import EmbeddingMeta
from raytrack.families.gtr.encoder_layer import Activation
from raytrack.families.gtr.encoder_settings import EncoderConfig
from raytrack.families.gtr.hparams import UseVisFeats
from raytrack.families.gtr.transformer import Transformer
from raytrack.families.gtr.visual_encoder import VisualEncoder

Probability = Annotated[float, Field(ge=0, lt=1)]


class GlobalTrackingTransformer(nn.Module):
    r"""Visual encoder + transformer that associates the instances of a window of frames.

    X. Zhou, T. Yin, V. Koltun, P. Krähenbühl, "Global Tracking Transformers", CVPR 2022
    (arXiv:2203.13250); for animals and cells: A. Prasad et al., "DREEM: global tracking
    transformers for biological multi-object tracking" (talmolab/biogtr, talmolab/dreem). Every
    instance of the window (a detection in one frame) becomes a token: its crop's visual
    features (``use_vis_feats``; zeros otherwise) plus the embedding of its boxes and frame. The
    encoder attends over all of them; the decoder lets each *query* instance (in training every
    instance, in tracking those of the newest frame) attend to them; the head scores each query
    against every instance:

    .. math::

        A^l_{qk} = \mathrm{MLP}_q(d^l_q)^\top \mathrm{MLP}_k(e_k), \qquad
        P(q \to k \mid \text{frame } t) = \mathrm{softmax}_{k \in t \,\cup\, \varnothing}(A^l_{q\cdot})

    with a background column ``∅`` of logit 0 per frame (the loss and the tracker add it).

    Args:
        encoder_cfg: the visual encoder (default: the builtin CNN); unused without use_vis_feats.
        d_model: features per token (must be divisible by ``nhead``).
        nhead: attention heads of every encoder and decoder layer.
        num_encoder_layers: encoder layers (0: the decoder attends to the raw features).
        num_decoder_layers: decoder layers.
        dropout: dropout of the attention and feed-forward blocks.
        activation: ``relu``, ``gelu`` or ``glu`` in the feed-forward blocks.
        return_intermediate_dec: score every decoder layer's output (the loss sums over them;
            the tracker uses the last), not only the last.
        norm: layer norms in every layer and after the encoder and decoder.
        num_layers_attn_head: layers of the head's two projection MLPs.
        dropout_attn_head: dropout inside the head.
        embedding_meta: the positional (``pos``) and temporal (``temp``) embeddings.
        return_embedding: ``raytrack infer`` also writes each instance's ``pos_emb`` and
            ``temp_emb`` (biogtr keeps them on its instances).
        decoder_self_attn: self-attention among the queries in every decoder layer.
        use_vis_feats: encode crops (true) or associate on boxes and time alone (false).

    Shapes:
        - crops: ``(N, C, S, S)`` in ``[0, 1]`` (None without use_vis_feats), boxes:
          ``(N, A, 4)`` normalised, times: ``(N,)``, query: ``(Q,)`` indices or None
        - output: ``{"asso": (L, Q, N), "pos_emb": (N, D), "temp_emb": (N, D)}``, ``L`` the
          decoder layers scored (1 unless ``return_intermediate_dec``)
    """

    @validate_call
    def __init__(
        self,
        *,
        encoder_cfg: EncoderConfig | None = None,
        d_model: Annotated[int, Field(ge=1)] = 1024,
        nhead: Annotated[int, Field(ge=1)] = 8,
        num_encoder_layers: Annotated[int, Field(ge=0)] = 1,
        num_decoder_layers: Annotated[int, Field(ge=1)] = 1,
        dropout: Probability = 0.1,
        activation: Activation = "relu",
        return_intermediate_dec: bool = False,
        norm: bool = False,
        num_layers_attn_head: Annotated[int, Field(ge=1)] = 2,
        dropout_attn_head: Probability = 0.1,
        embedding_meta: EmbeddingMeta = EmbeddingMeta(),  # noqa: B008 - frozen, validated
        return_embedding: bool = False,
        decoder_self_attn: bool = False,
        use_vis_feats: UseVisFeats = True,
    ) -> None:
        super().__init__()
        if d_model % nhead:
            raise ValueError(
                f"d_model must be divisible by nhead (each head attends over d_model / nhead "
                f"features), but got d_model={d_model}, nhead={nhead}"
            )
        self.d_model = d_model
        self.use_vis_feats = use_vis_feats
        self.return_embedding = return_embedding
        self.visual_encoder = (
            VisualEncoder(encoder_cfg or EncoderConfig(), d_model) if use_vis_feats else None
        )
        self.transformer = Transformer(
            d_model=d_model,
            nhead=nhead,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            dropout=dropout,
            activation=activation,
            return_intermediate_dec=return_intermediate_dec,
            norm=norm,
            num_layers_attn_head=num_layers_attn_head,
            dropout_attn_head=dropout_attn_head,
            embedding_meta=embedding_meta,
            decoder_self_attn=decoder_self_attn,
        )

    def extract_features(self, crops: torch.Tensor | None, count: int) -> torch.Tensor:
        """The ``(count, D)`` token features: encoded crops, or zeros without use_vis_feats."""
        if self.visual_encoder is None:
            return torch.zeros(count, self.d_model, device=self._device())
        if crops is None:
            raise ValueError("use_vis_feats is true, but the instances come without crops")
        return self.visual_encoder(crops)

    def forward(
        self,
        boxes: torch.Tensor,
        times: torch.Tensor,
        crops: torch.Tensor | None = None,
        query: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Association logits of ``query`` (default: every instance) against every instance.

        ``features`` (already extracted, e.g. cached by the tracker) replace ``crops``.
        """
        if features is None:
            features = self.extract_features(crops, boxes.shape[0])
        return self.transformer(features, boxes, times, query)

    def _device(self) -> torch.device:
        return next(self.parameters()).device
