"""GTR's visual encoder: a CNN backbone that turns each instance's crop into ``d_model`` features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from raytrack.families.gtr.encoder_settings import EncoderConfig
from raytrack.families.gtr.small_cnn import SmallCNN

HEAD_PREFIXES = ("fc.", "head.", "classifier.")
"""Classifier weights a backbone's weights file may hold; the encoder drops its head."""


def _timm_backbone(cfg: EncoderConfig) -> tuple[nn.Module, int]:
    try:
        import timm
    except ImportError as err:
        raise ImportError(
            "encoder_cfg.backend timm needs the timm package: pip install 'raytrack[gtr-timm]' "
            "(install the torchvision matching your torch first), or use backend: builtin"
        ) from err
    model = timm.create_model(
        cfg.model_name, pretrained=False, in_chans=cfg.in_chans, num_classes=0, **cfg.kwargs
    )
    return model, int(model.num_features)


def _torchvision_backbone(cfg: EncoderConfig) -> tuple[nn.Module, int]:
    try:
        import torchvision
    except ImportError as err:
        raise ImportError(
            "encoder_cfg.backend torchvision needs the torchvision package built for your torch: "
            "pip install 'raytrack[gtr-torchvision]', or use backend: builtin"
        ) from err
    model = getattr(torchvision.models, cfg.model_name)(weights=None, **cfg.kwargs)
    width = int(model.fc.in_features)
    if cfg.in_chans != 3:
        old = model.conv1
        model.conv1 = nn.Conv2d(
            cfg.in_chans, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False
        )
    model.fc = nn.Identity()
    return model, width


def _builtin_backbone(cfg: EncoderConfig) -> tuple[nn.Module, int]:
    unknown = sorted(set(cfg.kwargs) - {"channels"})
    if unknown:
        raise ValueError(
            f"encoder_cfg: the builtin cnn takes channels, not {unknown} (the keys of "
            "encoder_cfg besides model_name, backend, in_chans, pretrained and weights are "
            "keyword arguments of the backbone)"
        )
    model = SmallCNN(cfg.in_chans, **cfg.kwargs)
    return model, model.num_features


def load_weights(backbone: nn.Module, path: str) -> None:
    """Load a local weights file into ``backbone``; errors name the file and what is missing."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"encoder_cfg.weights: no file {file}")
    state: Any = torch.load(file, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    try:
        result = backbone.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes differ
        raise ValueError(f"encoder_cfg.weights: {file} does not fit the backbone: {err}") from None
    unexpected = [k for k in result.unexpected_keys if not k.startswith(HEAD_PREFIXES)]
    if result.missing_keys or unexpected:
        raise ValueError(
            f"encoder_cfg.weights: {file} does not fit the backbone (missing "
            f"{result.missing_keys[:5]}, unexpected {unexpected[:5]})"
        )


class VisualEncoder(nn.Module):
    r"""A backbone (builtin CNN, timm or torchvision), a linear map to ``d_model``, L2 norm.

    .. math:: z = W \, \mathrm{backbone}(c) / \lVert W \, \mathrm{backbone}(c) \rVert

    as biogtr's ``VisualEncoder``. One-channel crops are repeated to three channels when the
    backbone takes three (biogtr's grayscale handling); otherwise the crops' channels must be
    ``encoder_cfg.in_chans``.

    Shapes:
        - input: ``(B, C, S, S)`` crops in ``[0, 1]``
        - output: ``(B, d_model)``
    """

    def __init__(self, cfg: EncoderConfig, d_model: int) -> None:
        super().__init__()
        build = {"builtin": _builtin_backbone, "timm": _timm_backbone,
                 "torchvision": _torchvision_backbone}[cfg.backend]  # fmt: skip
        self.in_chans = cfg.in_chans
        self.feature_extractor, width = build(cfg)
        if cfg.weights is not None:
            load_weights(self.feature_extractor, cfg.weights)
        self.out_layer = nn.Linear(width, d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1 and self.in_chans == 3:
            images = images.repeat(1, 3, 1, 1)
        if images.shape[1] != self.in_chans:
            raise ValueError(
                f"the crops have {images.shape[1]} channel(s) (channels times anchors), but "
                f"encoder_cfg.in_chans is {self.in_chans}: set it to {images.shape[1]}"
            )
        features = self.feature_extractor(images).reshape(images.shape[0], -1)
        return F.normalize(self.out_layer(features), dim=-1)
