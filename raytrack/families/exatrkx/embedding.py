"""The Exa.TrkX metric-learning embedding: an MLP mapping each hit to a point of a latent space.

Exa.TrkX (X. Ju et al., "Performance of a geometric deep learning pipeline for HL-LHC particle
tracking", Eur. Phys. J. C 81 (2021) 876, arXiv:2103.06995) builds its first graph by embedding
every hit with an MLP trained so that hits joined in the truth graph lie close together and
other hits far apart, then joining hits within a radius in that space (radius + kNN search,
:mod:`raytrack.families.exatrkx.neighbors`). This is the reference's ``LayerlessEmbedding``
(``LightningModules/Embedding/Models/layerless_embedding.py``) with the same hyperparameter
names; its training (pairs, hinge loss, regimes) is :mod:`raytrack.families.exatrkx.embedding_task`.

Legend: ``N`` hits; ``C = spatial_channels (+ cell_channels with ci)`` input features;
``D = emb_dim``.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.exatrkx.embedding_task import Regime, check_regime
from raytrack.families.exatrkx.hparams import CellChannels, SpatialChannels
from raytrack.families.exatrkx.mlp import Activation, make_mlp


class LayerlessEmbedding(nn.Module):
    r"""Exa.TrkX's embedding network: ``nb_layer`` hidden layers of ``emb_hidden``, then ``emb_dim``.

    .. math::

        z_i = \phi(v_i), \qquad z_i \leftarrow z_i / \lVert z_i \rVert_2 \ \text{(norm regime)}

    where :math:`\phi` is :func:`~raytrack.families.exatrkx.mlp.make_mlp` with ``LayerNorm`` and
    ``activation`` after every hidden layer and a linear output layer (the reference always uses
    layer norm; ``layernorm=False`` drops it). Regime keywords the model acts on:

    - ``ci``: the input holds ``cell_channels`` cell features before the ``spatial_channels``
      position features (without ``ci`` cell features are not part of the input, whatever
      ``cell_channels`` says);
    - ``norm``: outputs are L2-normalised (points on the unit sphere of the embedding space).

    The other keywords shape the training pairs and are the task's (they are accepted here so
    that one ``regime`` list serves both).

    Args:
        spatial_channels: position features per hit (``r/1000, φ/π, z/1000``; 1 to 3).
        cell_channels: cell-shape features per hit used with ``ci``.
        emb_hidden: width of the hidden layers.
        emb_dim: dimension of the embedding space.
        nb_layer: number of hidden layers.
        activation: ``torch.nn`` activation after each hidden layer.
        layernorm: ``LayerNorm`` before each hidden activation.
        regime: regime keywords (see :data:`~raytrack.families.exatrkx.embedding_task.Regime`).

    Shapes:
        - input ``x``: ``(N, C)`` float
        - output: ``{"embedding": (N, D)}`` (unit rows under ``norm``)
    """

    @validate_call
    def __init__(
        self,
        *,
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
        emb_hidden: Annotated[int, Field(ge=1)] = 1024,
        emb_dim: Annotated[int, Field(ge=1)] = 12,
        nb_layer: Annotated[int, Field(ge=1)] = 4,
        activation: Activation = "Tanh",
        layernorm: bool = True,
        regime: tuple[Regime, ...] = ("rp", "hnm", "norm"),
    ) -> None:
        super().__init__()
        check_regime(regime, cell_channels)
        self.ci = "ci" in regime
        self.norm = "norm" in regime
        self.in_channels = spatial_channels + (cell_channels if self.ci else 0)
        self.emb_dim = emb_dim
        self.network = make_mlp(
            self.in_channels,
            [emb_hidden] * nb_layer + [emb_dim],
            hidden_activation=activation,
            output_activation=None,
            layer_norm=layernorm,
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"the embedding expects (N, {self.in_channels}) inputs (spatial_channels"
                f"{' + cell_channels, ci regime' if self.ci else ''}), but got {tuple(x.shape)}"
            )
        z = self.network(x)
        if self.norm:
            z = F.normalize(z, p=2.0, dim=1)
        return {"embedding": z}
