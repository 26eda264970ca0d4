"""The dense blocks of XANESNET's ``aegan_mlp``: generators, shared layers and discriminators.

Every hidden layer is ``Linear → BatchNorm → activation → Dropout`` (the reference's, with a
dropout that it leaves out: ``dropout: 0.0`` reproduces it), on ``hidden_size`` units.

Legend: ``B`` items; ``I`` features of the block's domain (descriptor or spectrum); ``H =
hidden_size``.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.batch_norm import BatchNorm1d
from raytrack.families.xanesnet.hparams import Activation


def dense_layers(sizes: list[int], activation: Activation, dropout: float,
                 last: str) -> nn.Sequential:  # fmt: skip
    """Blocks between consecutive ``sizes``; the last block is ``linear`` (Linear alone) or
    ``norm`` (Linear → BatchNorm, no activation)."""
    layers: list[nn.Module] = []
    for index, (width, size) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(width, size))
        if index < len(sizes) - 2:
            layers += [BatchNorm1d(size), make_activation(activation), nn.Dropout(dropout)]
        elif last == "norm":
            layers.append(BatchNorm1d(size))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """One domain's encoder (``I → H``, ``n_hl_gen`` hidden layers, a normalised output) and
    decoder (``H → I``, ``n_hl_gen`` hidden layers, a linear output).

    Shapes:
        - ``encode``: ``(B, I)`` → ``(B, H)``; ``decode``: ``(B, H)`` → ``(B, I)``
    """

    def __init__(self, features: int, hidden_size: int, n_hl_gen: int, activation: Activation,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        h = hidden_size
        self.encoder_layers = dense_layers(
            [features, *[h] * (n_hl_gen + 1)], activation, dropout, "norm"
        )
        self.decoder_layers = dense_layers(
            [*[h] * (n_hl_gen + 1), features], activation, dropout, "linear"
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder_layers(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder_layers(code)


class SharedLayers(nn.Module):
    """``n_hl_shared`` hidden layers and a normalised output, ``H → H``, shared by both domains.

    Shapes:
        - input ``(B, H)`` → output ``(B, H)``
    """

    def __init__(self, hidden_size: int, n_hl_shared: int, activation: Activation,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.dense_layers = dense_layers(
            [hidden_size] * (n_hl_shared + 2), activation, dropout, "norm"
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.dense_layers(code)


class Discriminator(nn.Module):
    """Real or generated? ``n_hl_dis`` hidden layers, then one logit (the reference applies a
    sigmoid here and again in its ``bce`` loss, ``BCEWithLogitsLoss``; here the loss applies it
    once).

    Shapes:
        - input ``(B, I)`` → output ``(B,)`` logits
    """

    def __init__(self, features: int, hidden_size: int, n_hl_dis: int, activation: Activation,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.dense_layers = dense_layers(
            [features, *[hidden_size] * n_hl_dis, 1], activation, dropout, "linear"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense_layers(x).squeeze(-1)
