"""XANESNET's ``ae_mlp`` mode: an autoencoder of the input with a dense head predicting the output.

The reference's ``models/ae_mlp.py`` (page ``model_ae_mlp``). The encoder maps the input
through ``num_hidden_layers`` layers ``Linear → activation`` of ``int(hidden_size *
shrink_rate**i)`` units to a latent vector of ``int(hidden_size * shrink_rate**num_hidden_layers)``
units; the decoder mirrors it back to the input (its last layer linear); the head predicts the
output from the latent vector with ``Linear(hidden_size) → activation → Dropout → Linear(O)``.
The task's loss is reconstruction + prediction (:mod:`.ae_task`):

.. math::

    z = E(x), \\qquad \\hat x = D(z), \\qquad \\hat y = H(z)

Legend: ``B`` items; ``I``/``O`` input/output features; ``Z`` latent units.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.hparams import Activation
from raytrack.families.xanesnet.mlp import shrinking_sizes


def _stack(sizes: list[int], activation: Activation, last_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (width, size) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(width, size))
        if last_activation or index < len(sizes) - 2:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


class AEMLP(nn.Module):
    """The ``ae_mlp`` network (see the module docstring).

    Args:
        in_features: input features (also the reconstruction's).
        out_features: predicted features.
        hidden_size: units of the first encoder layer and of the head's hidden layer.
        num_hidden_layers: encoder layers before the latent layer (the decoder mirrors them).
        shrink_rate: each encoder layer has ``shrink_rate`` times the units of the one before.
        dropout: dropout probability in the head.
        activation: activation of every hidden layer.

    Shapes:
        - input: ``(B, I)``
        - output: ``{"prediction": (B, O), "reconstruction": (B, I), "latent": (B, Z)}``
    """

    def __init__(self, in_features: int, out_features: int, *, hidden_size: int,
                 num_hidden_layers: int, shrink_rate: float, dropout: float,
                 activation: Activation) -> None:  # fmt: skip
        super().__init__()
        sizes = shrinking_sizes(hidden_size, num_hidden_layers + 1, shrink_rate, "ae_mlp")
        encoder = [in_features, *sizes]
        self.encoder_layers = _stack(encoder, activation, last_activation=False)
        self.decoder_layers = _stack(encoder[::-1], activation, last_activation=False)
        self.dense_layers = nn.Sequential(
            nn.Linear(sizes[-1], hidden_size), make_activation(activation), nn.Dropout(dropout),
            nn.Linear(hidden_size, out_features),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        latent = self.encoder_layers(x)
        return {
            "prediction": self.dense_layers(latent),
            "reconstruction": self.decoder_layers(latent),
            "latent": latent,
        }
