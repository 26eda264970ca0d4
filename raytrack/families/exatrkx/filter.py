"""The Exa.TrkX filter: an edge MLP that prunes the embedding stage's graph before the GNN.

Exa.TrkX (X. Ju et al., "Performance of a geometric deep learning pipeline for HL-LHC particle
tracking", Eur. Phys. J. C 81 (2021) 876, arXiv:2103.06995) builds a radius graph in a learned
embedding space, then scores every edge with a small MLP on the features of its two hits and
keeps the edges above ``filter_cut``; the GNN runs on what is left. This is the reference's
``VanillaFilter`` (``LightningModules/Filter/Models/vanilla_filter.py`` of the Exa.TrkX TrackML
pipeline) with the same hyperparameter names and layer order; training, sampling and metrics
are in :mod:`raytrack.families.exatrkx.filter_task`.

Legend: ``N`` hits, ``E`` edges, ``C = in_channels``, ``M = emb_channels``, ``H = hidden``.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.exatrkx.hparams import EmbChannels, InChannels
from raytrack.families.exatrkx.mlp import Activation, activation


class EdgeFilter(nn.Module):
    r"""Edge classifier on the concatenated features of an edge's two hits.

    .. math::

        h^0_{ij} &= W_0 [x_i, m_i, x_j, m_j] + b_0 \\
        h^{l}_{ij} &= \mathrm{BN}(\mathrm{LN}(\sigma(W_l h^{l-1}_{ij} + b_l))),
            \quad l = 1 \dots \texttt{nb\_layer} - 1 \\
        s_{ij} &= w^\top h_{ij} + b

    with ``x`` the hit features, ``m`` the hit's embedding coordinates (when
    ``emb_channels > 0``), ``σ`` the hidden activation and the normalisations optional. As in the
    reference, the input layer has no activation of its own (it feeds the first hidden ``Linear``
    directly), each hidden layer is followed by the activation, then ``LayerNorm`` and
    ``BatchNorm1d`` when enabled (both may be on), and the output is one logit per edge.

    Deviation from the reference, on purpose: the reference's ``BatchNorm1d`` does not track
    running statistics, so at inference an edge's score depends on the other edges evaluated
    with it (its chunk). Here ``BatchNorm1d`` tracks running statistics (used in ``eval()``), so
    a score depends on its edge alone and scoring in ``n_chunks`` chunks equals one pass.

    Implementation: the input layer is applied per *hit* and gathered onto edges,
    ``W_0 [a_i, a_j] = (a W_src)_i + (a W_dst)_j`` with ``a = [x, m]``, so the ``(E, 2(C+M))``
    concatenation is never built (``N ≪ E`` in radius graphs).

    Args:
        in_channels: features per hit (``spatial_channels``, plus ``cell_channels`` under ``ci``).
        emb_channels: embedding coordinates per hit appended to its features (0: none).
        hidden: width of every hidden layer.
        nb_layer: the input layer plus ``nb_layer - 1`` hidden layers.
        layernorm: ``LayerNorm`` after each hidden activation.
        batchnorm: ``BatchNorm1d`` after each hidden activation (and layer norm).
        hidden_activation: ``torch.nn`` activation of the hidden layers (the reference: Tanh).

    Shapes:
        - input ``x``: ``(N, C)``, ``edge_index``: ``(2, E)`` int64, ``emb``: ``(N, M)`` or None
        - output: ``{"edge_logits": (E,)}``
    """

    @validate_call
    def __init__(
        self,
        *,
        in_channels: InChannels = 3,
        emb_channels: EmbChannels = 0,
        hidden: Annotated[int, Field(ge=1)] = 512,
        nb_layer: Annotated[int, Field(ge=1)] = 3,
        layernorm: bool = True,
        batchnorm: bool = False,
        hidden_activation: Activation = "Tanh",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.emb_channels = emb_channels
        self.hidden = hidden
        self.input_layer = nn.Linear(2 * (in_channels + emb_channels), hidden)
        layers: list[nn.Module] = []
        for _ in range(nb_layer - 1):
            layers += [nn.Linear(hidden, hidden), activation(hidden_activation, inplace=True)]
            if layernorm:
                layers.append(nn.LayerNorm(hidden))
            if batchnorm:
                layers.append(nn.BatchNorm1d(hidden))
        self.layers = nn.Sequential(*layers)
        self.output_layer = nn.Linear(hidden, 1)

    def _check_inputs(self, x: torch.Tensor, emb: torch.Tensor | None) -> None:
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"the filter was built with in_channels={self.in_channels}, but the hit features "
                f"have shape {tuple(x.shape)} (in_channels must be spatial_channels, plus "
                f"cell_channels under the ci regime)"
            )
        if self.emb_channels == 0 and emb is not None:
            raise ValueError("the filter was built with emb_channels=0, but got embedding inputs")
        if self.emb_channels > 0 and (
            emb is None or emb.dim() != 2 or emb.shape != (x.shape[0], self.emb_channels)
        ):
            got = None if emb is None else tuple(emb.shape)
            raise ValueError(
                f"the filter was built with emb_channels={self.emb_channels}, so it needs "
                f"embedding inputs of shape ({x.shape[0]}, {self.emb_channels}), but got {got}"
            )

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, emb: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        self._check_inputs(x, emb)
        node = x if emb is None else torch.cat([x, emb], dim=1)
        width = node.shape[1]
        weight = self.input_layer.weight  # (H, 2 * width): [src block, dst block]
        h = torch.addmm(self.input_layer.bias, node, weight[:, :width].t()).index_select(
            0, edge_index[0]
        )
        h = h.add_((node @ weight[:, width:].t()).index_select(0, edge_index[1]))
        if h.shape[0]:
            h = self.layers(h)
        else:  # no edges: BatchNorm1d cannot run, but every parameter stays in the graph (DDP)
            h = h + sum(p.sum() for p in self.layers.parameters()) * 0.0
        return {"edge_logits": self.output_layer(h).squeeze(-1)}
