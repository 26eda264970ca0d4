"""acorn's interaction GNN (the L2IT ``InteractionGNN2``): an edge classifier on directed hit graphs.

acorn (ATLAS GNN4ITk, gitlab.cern.ch/gnn4itkteam/acorn,
``acorn/stages/edge_classifier/models/interaction_gnn.py``, class ``InteractionGNN2``; the
configuration of its CTD 2023 paper, ``examples/CTD_2023/gnn_train.yaml``) differs from the
Exa.TrkX interaction GNN (:mod:`raytrack.families.exatrkx.interaction_gnn`): no residual
connections, the edges are updated first and the hits from the *updated* edges, incoming and
outgoing edges are summed separately (``in_out_diff_agg``), the initial encodings are
concatenated to the latents before every iteration (``concat``), every iteration may have its
own networks (``node_net_recurrent``/``edge_net_recurrent: false``), and the logits come from an
edge decoder on the last edge latents. Hyperparameters keep acorn's names; the defaults are the
CTD 2023 configuration.

Legend: ``N`` hits, ``E`` directed edges ``s → d``, ``H = hidden``; ``x`` hit latents, ``e`` edge
latents, ``x⁰, e⁰`` the encodings.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, validate_call
from torch import nn
from torch.utils.checkpoint import checkpoint

from raytrack.families.exatrkx.acorn_mlp import acorn_mlp
from raytrack.families.exatrkx.hparams import CellChannels, SpatialChannels
from raytrack.families.exatrkx.interaction_gnn import Precision, _network, _networks
from raytrack.families.exatrkx.mlp import Activation, SplitInputMLP

Layers = Annotated[int, Field(ge=1)]

EDGE_FEATURES = ("dr", "dphi", "dz", "deta", "phislope", "rphislope")
"""acorn's edge features, in the order of its CTD 2023 configuration (``edge_features``)."""


def edge_features(position: torch.Tensor, edge_index: torch.Tensor, count: int) -> torch.Tensor:
    """The first ``count`` of :data:`EDGE_FEATURES` per edge ``s → d``, as acorn computes them.

    ``position``: ``(N, 3)`` hit features ``r/1000, φ/π, z/1000`` (acorn's ``node_scales``,
    applied before its edge features). ``dr, dphi, dz, deta`` are differences ``d − s``, ``dphi``
    wrapped into ``[−1, 1]`` (units of π), ``η = asinh(z / r)``; ``phislope = dphi / dr`` with NaN
    as 0 and infinities clamped into ``[−100, 100]``; ``rphislope`` is the mean ``r`` of the two
    hits times ``phislope``. Shape ``(E, count)``, the dtype of ``position``.
    """
    src, dst = edge_index[0], edge_index[1]
    r, phi, z = position.unbind(1)
    dr = r[dst] - r[src]
    dphi = phi[dst] - phi[src]
    dphi = torch.where(dphi > 1, dphi - 2, torch.where(dphi < -1, dphi + 2, dphi))
    eta = torch.asinh(z / r)
    slope = torch.nan_to_num(dphi / dr, nan=0.0, posinf=100.0, neginf=-100.0).clamp(-100, 100)
    columns = {
        "dr": dr,
        "dphi": dphi,
        "dz": z[dst] - z[src],
        "deta": torch.nan_to_num(eta[dst] - eta[src], nan=0.0),
        "phislope": slope,
        "rphislope": (r[dst] + r[src]) / 2 * slope,
    }
    return torch.stack([columns[name] for name in EDGE_FEATURES[:count]], dim=1)


class InteractionGNN2(nn.Module):
    r"""acorn's ``InteractionGNN2`` edge classifier, without concatenations.

    .. math::

        x^0 &= \phi_x(v), \qquad e^0_{sd} = \phi_e(a_{sd}) \text{ or } \phi_e([x^0_s, x^0_d]) \\
        e^{t+1}_{sd} &= \psi^t_e([e^t_{sd}, e^0_{sd}, x^t_s, x^0_s, x^t_d, x^0_d]) \\
        x^{t+1}_i &= \psi^t_x([\textstyle\sum_{s \to i} e^{t+1}_{si},
                     \sum_{i \to d} e^{t+1}_{id}, x^t_i, x^0_i]) \\
        s_{sd} &= \rho(\delta(e^T_{sd}))

    (``concat=False`` drops the ``⁰`` blocks; ``in_out_diff_agg=False`` adds the two sums into
    one block), with ``ψ^t`` one network for every ``t`` when recurrent, ``δ`` the edge decoder and
    ``ρ`` the output transform (``H → H → 1``). acorn decodes every iteration's edges and keeps the
    last, and updates the hits in the last iteration too; neither reaches the logits, so neither
    is computed here (the last node network exists, as in acorn, but gets no gradient).

    Implementation: the first ``Linear`` of every edge network is split per input block, the
    hit blocks are projected on ``N`` rows and gathered, the edge blocks accumulated in place, so
    no ``(E, 6H)`` input is built; ``checkpointing`` recomputes the encoders and each iteration
    in backward, keeping one ``(E, H)`` latent per iteration.

    Args:
        spatial_channels, cell_channels: hit features (acorn's ``node_features``, counted).
        edge_channels: edge features (acorn's ``edge_features``, counted): the first
            ``edge_channels`` of :data:`EDGE_FEATURES`, computed from the hits' ``r, φ, z`` (the
            last three hit features) when the caller passes no ``edge_attr``; 0: the edge
            encoder reads ``[x⁰_s, x⁰_d]`` instead.
        hidden: width of every latent and hidden layer.
        n_graph_iters: rounds of message passing (at least 1).
        n_node_net_layers, n_edge_net_layers: layers of the node and edge encoders and networks.
        n_edge_decoder_layers: layers of the edge decoder.
        hidden_activation, output_activation: activations after hidden and last layers
            (``output_activation=None``: a linear last layer).
        edge_output_transform_final_activation: activation of the logit (``None``: logits).
        layernorm, batchnorm: ``LayerNorm`` (no affine) / ``BatchNorm1d`` after hidden layers.
        output_batch_norm: ``BatchNorm1d`` after last layers too (when they have an activation).
        edge_output_transform_final_batch_norm: the same for the logit layer.
        track_running_stats: ``BatchNorm1d`` running statistics (acorn: off, batch statistics
            always).
        concat, in_out_diff_agg, node_net_recurrent, edge_net_recurrent: see above.
        checkpointing: activation checkpointing of the encoders and of every iteration.
        precision: ``bfloat16`` runs the networks under bfloat16 autocast (logits float32).

    Shapes:
        - input ``x``: ``(N, spatial_channels + cell_channels)``, ``edge_index``: ``(2, E)``
          int64, ``edge_attr``: ``(E, edge_channels)`` or ``None`` (only with ``edge_channels``:
          computed by :func:`edge_features`)
        - output: ``{"edge_logits": (E,)}``
    """

    @validate_call
    def __init__(
        self,
        *,
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
        edge_channels: Annotated[int, Field(ge=0, le=len(EDGE_FEATURES))] = 0,
        hidden: Annotated[int, Field(ge=1)] = 128,
        n_graph_iters: Annotated[int, Field(ge=1)] = 8,
        n_node_net_layers: Layers = 3,
        n_edge_net_layers: Layers = 3,
        n_edge_decoder_layers: Layers = 3,
        hidden_activation: Activation = "ReLU",
        output_activation: Activation | None = "ReLU",
        edge_output_transform_final_activation: Activation | None = None,
        layernorm: bool = False,
        batchnorm: bool = True,
        output_batch_norm: bool = False,
        edge_output_transform_final_batch_norm: bool = False,
        track_running_stats: bool = False,
        concat: bool = True,
        in_out_diff_agg: bool = True,
        node_net_recurrent: bool = False,
        edge_net_recurrent: bool = False,
        checkpointing: bool = True,
        precision: Precision = "float32",
    ) -> None:
        super().__init__()
        if edge_channels and spatial_channels != 3:
            raise ValueError(
                f"edge_channels={edge_channels} computes acorn's edge features from r, φ, z: it "
                f"needs spatial_channels=3, but got spatial_channels={spatial_channels}"
            )
        self.in_channels = spatial_channels + cell_channels
        self.edge_channels = edge_channels
        self.hidden = h = hidden
        self.n_graph_iters = n_graph_iters
        self.concat = concat
        self.in_out_diff_agg = in_out_diff_agg
        self.checkpointing = checkpointing
        self.precision = precision
        self._bf16 = precision == "bfloat16"
        kw = {
            "hidden_activation": hidden_activation,
            "output_activation": output_activation,
            "layer_norm": layernorm,
            "batch_norm": batchnorm,
            "output_batch_norm": output_batch_norm,
            "track_running_stats": track_running_stats,
            "inplace": True,
        }
        nodes, edges = [h] * n_node_net_layers, [h] * n_edge_net_layers
        self.node_encoder = acorn_mlp(self.in_channels, nodes, **kw)
        encoder_blocks = [edge_channels] if edge_channels else [h, h]
        self.edge_encoder = SplitInputMLP.from_mlp(
            encoder_blocks, acorn_mlp(sum(encoder_blocks), edges, **kw)
        )
        width = 2 if concat else 1
        # acorn's input orders: edges [e, (e⁰), x_s, (x⁰_s), x_d, (x⁰_d)],
        # hits [Σ in, Σ out, x, (x⁰)] or [Σ in + Σ out, x, (x⁰)]
        edge_blocks = [h] * (3 * width)
        node_blocks = [h] * ((2 if in_out_diff_agg else 1) + width)
        self.edge_network = _networks(
            edge_net_recurrent,
            n_graph_iters,
            lambda: SplitInputMLP.from_mlp(edge_blocks, acorn_mlp(sum(edge_blocks), edges, **kw)),
        )
        self.node_network = _networks(
            node_net_recurrent,
            n_graph_iters,
            lambda: SplitInputMLP.from_mlp(node_blocks, acorn_mlp(sum(node_blocks), nodes, **kw)),
        )
        self.edge_decoder = acorn_mlp(h, [h] * n_edge_decoder_layers, **kw)
        self.edge_output_transform = acorn_mlp(
            h,
            [h, 1],
            **dict(
                kw,
                output_activation=edge_output_transform_final_activation,
                output_batch_norm=edge_output_transform_final_batch_norm,
            ),
        )

    def _accumulate(
        self, mlp: SplitInputMLP, total: torch.Tensor, block: int, x: torch.Tensor
    ) -> torch.Tensor:
        # in place in float32; under autocast the sum and the block differ in dtype
        if self._bf16:
            return mlp.accumulate(total, block, x)
        return mlp.accumulate_(total, block, x)

    def _encode(
        self,
        x: torch.Tensor,
        src: torch.Tensor,
        dst: torch.Tensor,
        edge_attr: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.node_encoder(x)
        encoder = self.edge_encoder
        if edge_attr is not None:
            return x, encoder(edge_attr)
        total = encoder.project(0, x, bias=True).index_select(0, src)
        total = total.add_(encoder.project(1, x).index_select(0, dst))
        return x, encoder.finish(total)

    def _step(
        self,
        x: torch.Tensor,
        e: torch.Tensor,
        x0: torch.Tensor | None,
        e0: torch.Tensor | None,
        src: torch.Tensor,
        dst: torch.Tensor,
        i: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        edge = _network(self.edge_network, i)
        node = _network(self.node_network, i)
        # the edge network's first layer: hit blocks projected per hit, then gathered
        w = 2 if self.concat else 1
        at_src = edge.project(w, x, bias=True)
        at_dst = edge.project(2 * w, x)
        if x0 is not None:
            at_src = self._accumulate(edge, at_src, w + 1, x0)
            at_dst = self._accumulate(edge, at_dst, 2 * w + 1, x0)
        total = at_src.index_select(0, src).add_(at_dst.index_select(0, dst))
        total = self._accumulate(edge, total, 0, e)
        if e0 is not None:
            total = self._accumulate(edge, total, 1, e0)
        e = edge.finish(total)
        if i == self.n_graph_iters - 1:  # the logits read the edges only
            return x, e
        # the hits from the updated edges: Σ over incoming (at dst) and outgoing (at src) edges
        n = x.shape[0]
        incoming = e.new_zeros(n, e.shape[1]).index_add_(0, dst, e)
        outgoing = e.new_zeros(n, e.shape[1]).index_add_(0, src, e)
        blocks = [incoming, outgoing] if self.in_out_diff_agg else [incoming.add_(outgoing)]
        blocks += [x] if x0 is None else [x, x0]
        total = node.project(0, blocks[0], bias=True)
        for b, block in enumerate(blocks[1:], start=1):
            total = self._accumulate(node, total, b, block)
        return node.finish(total), e

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if edge_attr is None and self.edge_channels:
            edge_attr = edge_features(x[:, -3:], edge_index, self.edge_channels)
        if edge_attr is not None and tuple(edge_attr.shape[1:]) != (self.edge_channels,):
            raise ValueError(
                f"InteractionGNN2 with edge_channels={self.edge_channels} needs "
                f"{'an (E, ' + str(self.edge_channels) + ')' if self.edge_channels else 'no'} "
                f"edge_attr, but got {tuple(edge_attr.shape)}"
            )
        src, dst = edge_index[0], edge_index[1]
        ckpt = self.checkpointing and torch.is_grad_enabled()

        def run(fn, *args):
            return checkpoint(fn, *args, use_reentrant=False) if ckpt else fn(*args)

        dtype = x.dtype
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self._bf16):
            x, e = run(self._encode, x, src, dst, edge_attr)
            x0, e0 = (x, e) if self.concat else (None, None)
            for i in range(self.n_graph_iters):
                x, e = run(self._step, x, e, x0, e0, src, dst, i)
            logits = self.edge_output_transform(self.edge_decoder(e))
        return {"edge_logits": logits.squeeze(-1).to(dtype)}
