"""XANESNET's ``mlp`` mode: a multilayer perceptron between descriptor and spectrum.

C. D. Rankine, M. M. M. Madkhali and T. J. Penfold, "A deep neural network for the rapid
prediction of X-ray absorption spectra", J. Phys. Chem. A 124 (2020) 4263; the reference's
``models/mlp.py`` (page ``model_mlp``). Hidden layer ``i`` (from 0) has
``int(hidden_size * shrink_rate**i)`` units and is ``Linear → Dropout → activation``; the output
layer is linear:

.. math::

    h_{i+1} = \\sigma(\\mathrm{dropout}(W_i h_i + b_i)), \\qquad \\hat y = W_n h_n + b_n

Legend: ``B`` items; ``I``/``O`` input/output features (descriptor length or grid points,
by ``direction``).
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.hparams import Activation


def shrinking_sizes(hidden_size: int, num_layers: int, shrink_rate: float, what: str) -> list[int]:
    """``int(hidden_size * shrink_rate**i)`` for ``i < num_layers``; each must be at least 1."""
    sizes = [int(hidden_size * shrink_rate**i) for i in range(num_layers)]
    if sizes and sizes[-1] < 1:
        raise ValueError(
            f"{what}: layer {len(sizes)} would have int({hidden_size} * {shrink_rate}**"
            f"{num_layers - 1}) = {sizes[-1]} units; hidden_size * shrink_rate**(layers - 1) must "
            "be at least 1 (raise hidden_size or shrink_rate, or use fewer layers)"
        )
    return sizes


class MLP(nn.Module):
    """The ``mlp`` network (see the module docstring).

    Args:
        in_features: input features.
        out_features: output features.
        hidden_size: units of the first hidden layer.
        num_hidden_layers: hidden layers.
        shrink_rate: each hidden layer has ``shrink_rate`` times the units of the one before.
        dropout: dropout probability after each hidden linear layer.
        activation: activation of the hidden layers.

    Shapes:
        - input: ``(B, I)``
        - output: ``{"prediction": (B, O)}``
    """

    def __init__(self, in_features: int, out_features: int, *, hidden_size: int,
                 num_hidden_layers: int, shrink_rate: float, dropout: float,
                 activation: Activation) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        sizes = shrinking_sizes(hidden_size, num_hidden_layers, shrink_rate, "mlp")
        for size in sizes:
            layers += [nn.Linear(width, size), nn.Dropout(dropout), make_activation(activation)]
            width = size
        layers.append(nn.Linear(width, out_features))
        self.dense_layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"prediction": self.dense_layers(x)}
