"""The builtin visual encoder backbone: a small CNN that needs neither timm nor torchvision."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, validate_call
from torch import nn


class SmallCNN(nn.Module):
    r"""Strided 3×3 convolutions, group norm and ReLU, then global average pooling.

    .. math::

        h^{l} = \mathrm{ReLU}(\mathrm{GN}(\mathrm{Conv}_{3\times3,\,s=2}(h^{l-1}))),
        \quad y = \mathrm{mean}_{xy}\, h^{L}

    The default backbone of ``encoder_cfg`` (``backend: builtin``, ``model_name: cnn``), sized
    for CPUs: three layers of 16, 32 and 64 channels. Group norm (one group) keeps a crop's
    features independent of the other crops in its batch, unlike batch norm.

    Args:
        in_chans: channels of the crops it reads.
        channels: output channels of each convolution (``encoder_cfg.channels``).

    Shapes:
        - input: ``(B, in_chans, H, W)``
        - output: ``(B, channels[-1])``
    """

    @validate_call
    def __init__(
        self,
        in_chans: Annotated[int, Field(ge=1)] = 3,
        channels: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = [16, 32, 64],  # noqa: B006 - pydantic copies defaults
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_chans
        for out in channels:
            layers += [
                nn.Conv2d(width, out, 3, stride=2, padding=1),
                nn.GroupNorm(1, out),
                nn.ReLU(),
            ]
            width = out
        self.layers = nn.Sequential(*layers)
        self.num_features = width

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images).mean(dim=(2, 3))
