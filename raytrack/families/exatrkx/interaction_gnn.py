"""The Exa.TrkX interaction GNN: an edge classifier on hit graphs.

Exa.TrkX (X. Ju et al., "Performance of a geometric deep learning pipeline for HL-LHC particle
tracking", Eur. Phys. J. C 81 (2021) 876, arXiv:2103.06995) scores candidate edges between hits
with an *interaction network* (P. Battaglia et al., "Interaction networks for learning about
objects, relations and physics", NeurIPS 2016, arXiv:1612.00222). This is the reference model of
the Exa.TrkX TrackML pipeline (``LightningModules/GNN/Models/interaction_gnn.py``), with the same
hyperparameter names, layer sizes and update rule, written without torch-scatter and without
materialising edge-feature concatenations.

Legend: ``N`` hits (nodes), ``E`` candidate edges, ``H = hidden``; ``x_i`` the latent of hit
``i``, ``e_ij`` the latent of edge ``i → j``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import torch
from pydantic import Field, validate_call
from torch import nn
from torch.utils.checkpoint import checkpoint

from raytrack.families.exatrkx.hparams import CellChannels, SpatialChannels
from raytrack.families.exatrkx.mlp import Activation, SplitInputMLP, make_mlp

Aggregation = Literal["sum", "mean", "max", "sum_max", "mean_max", "mean_sum"]
"""How edge latents are aggregated at their target hit (``sum_max``: both, concatenated)."""

Initialization = Literal[
    "uniform_",
    "normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]
"""``torch.nn.init`` functions the reference's ``initialization`` names (its
``reset_parameters`` calls the named one on every ``Linear`` weight and zeroes the biases)."""

Precision = Literal["float32", "bfloat16"]
"""Arithmetic of the MLPs: ``bfloat16`` runs them under autocast (the residual streams, the
aggregations and the output stay float32)."""

_PARTS: dict[str, tuple[str, ...]] = {
    "sum": ("sum",),
    "mean": ("mean",),
    "max": ("max",),
    "sum_max": ("max", "sum"),
    "mean_max": ("max", "mean"),
    "mean_sum": ("mean", "sum"),
}


class InteractionGNN(nn.Module):
    r"""Interaction network edge classifier of Exa.TrkX.

    Encoders lift hits and edges into ``hidden`` dimensions; ``n_graph_iters`` rounds of message
    passing with residual connections update them; a classifier gives one logit per edge:

    .. math::

        x_i^0 &= \phi_x(v_i), \qquad e_{ij}^0 = \phi_e([x_i^0, x_j^0]) \\
        m_i^t &= \bigoplus_{k:\,k \to i} e_{ki}^t \\
        x_i^{t+1} &= x_i^t + \psi_x([x_i^t, m_i^t]) \\
        e_{ij}^{t+1} &= e_{ij}^t + \psi_e([x_i^t, x_j^t, e_{ij}^t]) \\
        s_{ij} &= \rho([x_i^T, x_j^T, e_{ij}^T])

    where :math:`\bigoplus` is ``aggregation`` (``sum_max`` concatenates max and sum, so
    ``psi_x`` takes ``3 * hidden`` inputs). As in the reference, the edge update reads the hit
    latents *before* this round's node update, and messages flow along edge direction only.

    ``directed=False`` (the reference default) runs every candidate edge in both directions,
    each with its own latent, so every hit hears both neighbours; the output ``edge_logits`` is
    the mean of the two directions' logits and ``edge_logits_both`` holds both (the reference
    trains on both with the label repeated). ``directed=True`` uses the edges as given
    (inner → outer for :mod:`raytrack.families.exatrkx.geometric_graph`).

    Implementation: the first ``Linear`` of every edge-side MLP is split per input block and the
    node blocks are projected *before* the gather, ``W[x_i, x_j, e] = (xW_s)_i + (xW_d)_j + eW_e``,
    so no ``(E, 3H)`` concatenation is built or saved for backward; aggregations use
    ``index_add_`` / ``scatter_reduce`` (no torch-scatter); activations run in place;
    ``checkpointing`` recomputes each graph iteration in backward to keep memory at a few
    ``(E, H)`` tensors per iteration.

    Args:
        spatial_channels: node features from hit positions (``r, φ, z`` in the reference).
        cell_channels: extra node features from cell shapes (0 without cells).
        hidden: width of every latent and hidden layer.
        hidden_activation: ``torch.nn`` activation between layers.
        layernorm: ``LayerNorm`` before every hidden activation.
        nb_node_layer: layers of the node encoder and node network.
        nb_edge_layer: layers of the edge encoder, edge network (and hidden layers of the
            classifier).
        n_graph_iters: rounds of message passing.
        aggregation: aggregation of incoming edge latents at a hit.
        directed: messages only along the given edge direction (see above).
        checkpointing: activation checkpointing per graph iteration: about a third of the
            memory for 25-55% more time (benchmarks/gnn_step.py); on by default so that the default
            model needs no more memory than acorn's checkpointed one (benchmarks/gnn_parity.md).
        node_net_recurrent: one node network shared by every graph iteration (the reference);
            ``False``: a separate node network per iteration (acorn's ``node_net_recurrent``).
        edge_net_recurrent: the same for the edge network (acorn's ``edge_net_recurrent``).
        precision: ``bfloat16`` runs the MLPs under bfloat16 autocast (see :data:`Precision`):
            about twice as fast on CPUs with AVX512-BF16/AMX and on GPUs, half the activation
            memory; ``float32`` is the reference's arithmetic.
        initialization: the ``torch.nn.init`` function (reference spelling, e.g.
            ``xavier_uniform_``) applied to the weight of every ``Linear`` layer, with every bias
            set to 0, as the reference's ``reset_parameters`` does (defined there but never
            called; here it is applied when the model is built, before any checkpoint loads);
            ``None``: PyTorch's default initialisation of ``nn.Linear``.

    Shapes:
        - input ``x``: ``(N, spatial_channels + cell_channels)``, ``edge_index``: ``(2, E)``
          int64 (source row 0, target row 1)
        - output: ``{"edge_logits": (E,), "edge_logits_both": (2, E)}`` (the latter only when
          ``directed=False``; row 0 the given direction, row 1 the reverse)
    """

    @validate_call
    def __init__(
        self,
        *,
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
        hidden: Annotated[int, Field(ge=1)] = 128,
        hidden_activation: Activation = "ReLU",
        layernorm: bool = True,
        nb_node_layer: Annotated[int, Field(ge=1)] = 3,
        nb_edge_layer: Annotated[int, Field(ge=1)] = 3,
        n_graph_iters: Annotated[int, Field(ge=0)] = 8,
        aggregation: Aggregation = "sum_max",
        directed: bool = False,
        checkpointing: bool = True,
        precision: Precision = "float32",
        initialization: Initialization | None = None,
        node_net_recurrent: bool = True,
        edge_net_recurrent: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = spatial_channels + cell_channels
        self.hidden = hidden
        self.n_graph_iters = n_graph_iters
        self.aggregation = aggregation
        self.directed = directed
        self.checkpointing = checkpointing
        self.precision = precision
        self._bf16 = precision == "bfloat16"
        self._parts = _PARTS[aggregation]

        kw = {
            "hidden_activation": hidden_activation,
            "layer_norm": layernorm,
            "inplace": True,
        }
        h = hidden
        self.node_encoder = make_mlp(
            self.in_channels, [h] * nb_node_layer, output_activation=None, **kw
        )
        self.edge_encoder = SplitInputMLP([h, h], [h] * nb_edge_layer, output_activation=None, **kw)
        self.node_net_recurrent = node_net_recurrent
        self.edge_net_recurrent = edge_net_recurrent
        # a recurrent network is one module; a non-recurrent one a list, one per iteration
        self.edge_network = _networks(
            edge_net_recurrent,
            n_graph_iters,
            lambda: SplitInputMLP([h, h, h], [h] * nb_edge_layer, output_activation=None, **kw),
        )
        self.node_network = _networks(
            node_net_recurrent,
            n_graph_iters,
            lambda: SplitInputMLP(
                [h] * (1 + len(self._parts)), [h] * nb_node_layer, output_activation=None, **kw
            ),
        )
        self.output_edge_classifier = SplitInputMLP(
            [h, h, h], [h] * nb_edge_layer + [1], output_activation=None, **kw
        )
        if initialization is not None:
            self.reset_parameters(initialization)

    @torch.no_grad()
    def reset_parameters(self, initialization: Initialization) -> None:
        """``torch.nn.init.<initialization>`` on every ``Linear`` weight; every bias 0."""
        init = getattr(nn.init, initialization)
        for layer in self.modules():
            if type(layer) is nn.Linear:
                init(layer.weight)
                layer.bias.zero_()

    # -- message passing ------------------------------------------------------------------

    def _aggregate(
        self, e: torch.Tensor, end: torch.Tensor, n: int, deg: torch.Tensor | None
    ) -> list[torch.Tensor]:
        """Aggregations of ``e`` at ``end``, one ``(N, H)`` tensor per part of ``aggregation``."""
        out: list[torch.Tensor] = []
        summed = None
        for part in self._parts:
            if part == "max":
                out.append(scatter_max(e, end, n))
            else:
                if summed is None:
                    summed = e.new_zeros(n, e.shape[1]).index_add_(0, end, e)
                out.append(summed if part == "sum" else summed / deg)
        return out

    @staticmethod
    def _edge_first_layer(
        mlp: SplitInputMLP,
        x: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
        e: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """First layer of an edge MLP on ``[x_start, x_end(, e)]`` without the concatenation.

        The node blocks are projected per node (``N`` rows instead of ``E``) and gathered.
        """
        total = mlp.project(0, x, bias=True).index_select(0, start)
        total = total.add_(mlp.project(1, x).index_select(0, end))
        if e is not None:
            total = mlp.accumulate(total, 2, e)
        return total

    def _step(
        self,
        x: torch.Tensor,
        e: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
        deg: torch.Tensor | None,
        i: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        node = _network(self.node_network, i)
        edge = _network(self.edge_network, i)
        total = node.project(0, x, bias=True)
        for i, messages in enumerate(self._aggregate(e, end, x.shape[0], deg), start=1):
            total = node.accumulate(total, i, messages)
        x_out = _residual(node.finish(total), x)
        # the reference updates edges from the hit latents *before* this round's node update
        e_out = edge.finish(self._edge_first_layer(edge, x, start, end, e))
        return x_out, _residual(e_out, e)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> dict[str, torch.Tensor]:
        num_edges = edge_index.shape[1]
        start, end = edge_index[0], edge_index[1]
        if not self.directed:
            start, end = torch.cat([start, end]), torch.cat([end, start])
        deg = None
        if "mean" in self._parts:
            deg = torch.bincount(end, minlength=x.shape[0]).clamp_(min=1).unsqueeze(1).to(x.dtype)

        dtype = x.dtype
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self._bf16):
            # the residual streams x and e stay in the input dtype (float32)
            x = self.node_encoder(x).to(dtype)
            e = self.edge_encoder.finish(self._edge_first_layer(self.edge_encoder, x, start, end))
            e = e.to(dtype)
            for i in range(self.n_graph_iters):
                if self.checkpointing and torch.is_grad_enabled():
                    x, e = checkpoint(self._step, x, e, start, end, deg, i, use_reentrant=False)
                else:
                    x, e = self._step(x, e, start, end, deg, i)
            classifier = self.output_edge_classifier
            logits = classifier.finish(self._edge_first_layer(classifier, x, start, end, e))
        logits = logits.squeeze(-1).to(dtype)
        if self.directed:
            return {"edge_logits": logits}
        both = logits.view(2, num_edges)
        return {"edge_logits": both.mean(0), "edge_logits_both": both}


def _networks(recurrent: bool, n_graph_iters: int, build: Callable[[], nn.Module]) -> nn.Module:
    """One network (``recurrent``) or an ``nn.ModuleList`` of ``n_graph_iters`` of them."""
    if recurrent:
        return build()
    return nn.ModuleList(build() for _ in range(n_graph_iters))


def _network(networks: nn.Module, i: int) -> nn.Module:
    """The network of graph iteration ``i``: the shared one, or the ``i``-th of a list."""
    return networks[i] if isinstance(networks, nn.ModuleList) else networks


def _residual(update: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """``skip + update``, in place in ``update`` (a fresh layer output) when the dtypes agree."""
    return update.add_(skip) if update.dtype == skip.dtype else skip + update


class _ScatterMax(torch.autograd.Function):
    """Row-wise max of ``src`` rows grouped by ``index`` (0 for empty groups).

    Backward gives the gradient to the maximal entries, split evenly between ties (as
    ``scatter_reduce("amax")`` does) but with ``index_select``/``index_add_`` over rows instead
    of gathers and scatters over expanded ``(E, H)`` indices: about twice as fast on CPU.
    """

    @staticmethod
    def forward(ctx, src: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:  # type: ignore[override]
        out = src.new_zeros(n, src.shape[1]).scatter_reduce_(
            0, index.unsqueeze(1).expand_as(src), src, "amax", include_self=False
        )
        ctx.save_for_backward(src, index, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        src, index, out = ctx.saved_tensors
        is_max = src == out.index_select(0, index)
        ties = torch.zeros_like(out).index_add_(0, index, is_max.to(out.dtype)).clamp_(min=1)
        return (grad / ties).index_select(0, index).mul_(is_max), None, None


def scatter_max(src: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """``(n, H)`` max of the rows of ``src`` (``(E, H)``) per ``index`` value; 0 where none."""
    return _ScatterMax.apply(src, index, n)
