"""HGCalML's DistanceWeightedMessagePassing, and the neighbour accumulation GravNet shares.

From HGCalML (``modules/GravNetLayersRagged.py``; GravNet: S. R. Qasim, J. Kieseler, Y. Iiyama,
M. Pierini, "Learning representations of irregular particle-detector geometry with
distance-weighted graph networks", Eur. Phys. J. C 79 (2019) 608, arXiv:1902.07987).

**Accumulation** (HGCalML's ``AccumulateKnn(10·d², f, idx)``): for hit ``i`` with neighbours
``j ∈ N(i)`` (``K`` of them) at squared distances ``d²_ij`` in the GravNet space,

.. math::

    w_{ij} = e^{-10\\,d^2_{ij}}, \\qquad
    \\text{mean}_i = \\frac{1}{K} \\sum_{j \\in N(i)} w_{ij} f_j, \\qquad
    \\text{max}_i = \\max_{j \\in N(i)} w_{ij} f_j .

**Message passing**: ``f = act(W x + b)``, then ``[mean − f, max − f, x]`` (the messages
relative to the hit's own transformed features, concatenated with the input); the neighbour
list includes the hit itself, as GravNet returns it.

Shapes:
    - input ``x``: ``(N, F)``; ``idx``, ``distsq``: ``(N, K)`` from the GravNet layer
    - output: ``(N, F + 2 n)``
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gravnet.architecture import Activation

DISTANCE_SCALE = 10.0
"""``w = exp(−DISTANCE_SCALE · d²)`` (HGCalML passes ``10·distancesq`` to its accumulation)."""


def activation_module(name: Activation) -> nn.Module:
    """The ``torch.nn`` module of a Keras activation name."""
    modules = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh, "selu": nn.SELU, "gelu": nn.GELU,
               "sigmoid": nn.Sigmoid, "softplus": nn.Softplus, "swish": nn.SiLU,
               "linear": nn.Identity}  # fmt: skip
    if name not in modules:
        raise ValueError(f"unknown activation {name!r}; choices: {sorted(modules)}")
    return modules[name]()


def keras_dense(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    """A ``Linear`` initialised as Keras's ``Dense`` (Glorot-uniform kernel, zero bias)."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def accumulate_knn(features: torch.Tensor, idx: torch.Tensor, distsq: torch.Tensor) -> torch.Tensor:
    """``[mean, max]`` of the distance-weighted neighbour features (module documentation).

    Shapes:
        ``features`` ``(N, P)``, ``idx`` and ``distsq`` ``(N, K)`` → ``(N, 2 P)``.
    """
    weighted = torch.exp(-DISTANCE_SCALE * distsq).unsqueeze(-1) * features[idx]
    return torch.cat([weighted.mean(dim=1), weighted.amax(dim=1)], dim=1)


class DistanceWeightedMessagePassing(nn.Module):
    """One distance-weighted message-passing layer of width ``n`` (module documentation)."""

    def __init__(self, in_channels: int, n: int, activation: Activation = "elu") -> None:
        super().__init__()
        if in_channels < 1 or n < 1:
            raise ValueError(
                f"in_channels and n must be at least 1, but got in_channels={in_channels}, n={n}"
            )
        self.transform = keras_dense(in_channels, n)
        self.activation = activation_module(activation)
        self.out_channels = in_channels + 2 * n

    def forward(self, x: torch.Tensor, idx: torch.Tensor, distsq: torch.Tensor) -> torch.Tensor:
        f = self.activation(self.transform(x))
        messages = accumulate_knn(f, idx, distsq) - f.repeat(1, 2)
        return torch.cat([messages, x], dim=1)
