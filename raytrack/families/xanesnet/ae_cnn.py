"""XANESNET's ``ae_cnn`` mode: a convolutional autoencoder with a dense head predicting the output.

The reference's ``models/ae_cnn.py`` (page ``model_ae_cnn``). The encoder is ``num_conv_layers``
layers ``Conv1d(kernel_size, stride) → activation`` with ``out_channel * channel_mul**i``
channels; the decoder is the mirror image in transposed convolutions, each padded on its output
so that it restores exactly the length its encoder layer received (the last one without
activation, so a reconstruction may take any sign); the head predicts the output from the
flattened code with ``Linear(hidden_size) → activation → Dropout → Linear(O)``. The task's
loss is reconstruction + prediction (:mod:`.ae_task`).

Legend: ``B`` items; ``I``/``O`` input/output features; ``C_n, L_n`` channels and length of
the code.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.cnn import conv_lengths
from raytrack.families.xanesnet.hparams import Activation


class AECNN(nn.Module):
    """The ``ae_cnn`` network (see the module docstring; arguments as :class:`~.cnn.CNN`'s).

    Shapes:
        - input: ``(B, I)``
        - output: ``{"prediction": (B, O), "reconstruction": (B, I), "latent": (B, C_n, L_n)}``
    """

    def __init__(self, in_features: int, out_features: int, *, hidden_size: int,
                 out_channel: int, channel_mul: int, num_conv_layers: int, kernel_size: int,
                 stride: int, dropout: float, activation: Activation) -> None:  # fmt: skip
        super().__init__()
        lengths = conv_lengths(in_features, num_conv_layers, kernel_size, stride, "ae_cnn")
        channels = [1] + [out_channel * channel_mul**i for i in range(num_conv_layers)]
        self.encoder_layers = nn.Sequential(*(
            nn.Sequential(nn.Conv1d(channels[i], channels[i + 1], kernel_size, stride),
                          make_activation(activation))
            for i in range(num_conv_layers)
        ))  # fmt: skip
        decoder: list[nn.Module] = []
        for i in reversed(range(num_conv_layers)):  # from the code back to the input
            restored = (lengths[i + 1] - 1) * stride + kernel_size
            layer: list[nn.Module] = [nn.ConvTranspose1d(
                channels[i + 1], channels[i], kernel_size, stride,
                output_padding=lengths[i] - restored,
            )]  # fmt: skip
            if i > 0:
                layer.append(make_activation(activation))
            decoder.append(nn.Sequential(*layer))
        self.decoder_layers = nn.Sequential(*decoder)
        self.dense_layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[-1] * lengths[-1], hidden_size),
            make_activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, out_features),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        latent = self.encoder_layers(x.unsqueeze(1))
        return {
            "prediction": self.dense_layers(latent),
            "reconstruction": self.decoder_layers(latent).squeeze(1),
            "latent": latent,
        }
