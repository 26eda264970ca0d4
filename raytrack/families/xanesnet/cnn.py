"""XANESNET's ``cnn`` mode: 1-D convolutions over the input vector, then two dense layers.

The reference's ``models/cnn.py`` (page ``model_cnn``). The input vector (descriptor or
spectrum) is one channel of length ``I``; conv layer ``i`` (from 0) has ``out_channel *
channel_mul**i`` channels and is ``Conv1d(kernel_size, stride) → BatchNorm → activation →
Dropout``; the flattened result goes through ``Linear(hidden_size) → activation → Linear(O)``:

.. math::

    h_{i+1} = \\mathrm{dropout}(\\sigma(\\mathrm{BN}(w_i * h_i))), \\qquad
    \\hat y = W_2\\, \\sigma(W_1 \\mathrm{flat}(h_n))

Legend: ``B`` items; ``I``/``O`` input/output features; ``L_i`` length after conv layer ``i``:
``L_{i+1} = (L_i - kernel_size) // stride + 1``.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.batch_norm import BatchNorm1d
from raytrack.families.xanesnet.hparams import Activation


def conv_lengths(
    length: int, num_layers: int, kernel_size: int, stride: int, what: str
) -> list[int]:
    """The signal length before the first and after each conv layer; each must be at least 1."""
    lengths = [length]
    for index in range(num_layers):
        after = (lengths[-1] - kernel_size) // stride + 1
        if after < 1:
            raise ValueError(
                f"{what}: conv layer {index + 1} of num_conv_layers={num_layers} gets a signal of "
                f"length {lengths[-1]}, shorter than kernel_size={kernel_size} (input length "
                f"{length}, stride={stride}); use fewer layers, a smaller kernel_size or stride"
            )
        lengths.append(after)
    return lengths


class CNN(nn.Module):
    """The ``cnn`` network (see the module docstring).

    Args:
        in_features: input features (the signal length).
        out_features: output features.
        hidden_size: units of the first dense layer.
        out_channel: channels of the first conv layer.
        channel_mul: each conv layer has ``channel_mul`` times the channels of the one before.
        num_conv_layers: conv layers.
        kernel_size: width of the convolution kernels.
        stride: stride of the convolutions.
        dropout: dropout probability after each conv layer.
        activation: activation of the conv layers and the first dense layer.

    Shapes:
        - input: ``(B, I)``
        - output: ``{"prediction": (B, O)}``
    """

    def __init__(self, in_features: int, out_features: int, *, hidden_size: int,
                 out_channel: int, channel_mul: int, num_conv_layers: int, kernel_size: int,
                 stride: int, dropout: float, activation: Activation) -> None:  # fmt: skip
        super().__init__()
        lengths = conv_lengths(in_features, num_conv_layers, kernel_size, stride, "cnn")
        blocks: list[nn.Module] = []
        channels = 1
        for index in range(num_conv_layers):
            out = out_channel * channel_mul**index
            blocks.append(nn.Sequential(
                nn.Conv1d(channels, out, kernel_size, stride), BatchNorm1d(out),
                make_activation(activation), nn.Dropout(dropout),
            ))  # fmt: skip
            channels = out
        self.conv_layers = nn.Sequential(*blocks)
        self.dense_layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * lengths[-1], hidden_size),
            make_activation(activation),
            nn.Linear(hidden_size, out_features),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"prediction": self.dense_layers(self.conv_layers(x.unsqueeze(1)))}
