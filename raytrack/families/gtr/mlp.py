"""The multi-layer perceptron of GTR's attention head and embedding projections (biogtr ``MLP``)."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    r"""``num_layers`` linear layers with ReLU (and dropout) between them, none after the last.

    .. math::

        h^{l} = \mathrm{dropout}(\mathrm{ReLU}(W_l h^{l-1} + b_l)), \quad
        y = W_L h^{L-1} + b_L

    Args:
        input_dim: features in.
        hidden_dim: width of the hidden layers.
        output_dim: features out.
        num_layers: linear layers (1: one linear map).
        dropout: dropout after each hidden activation.

    Shapes:
        - input: ``(*, input_dim)``
        - output: ``(*, output_dim)``
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"an MLP needs at least one layer, but got num_layers={num_layers}")
        widths = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.dropout(torch.relu(x))
        return x
