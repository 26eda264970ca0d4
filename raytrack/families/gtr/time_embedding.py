"""GTR's temporal embedding of each instance's frame (biogtr ``Embedding(emb_type="temp")``)."""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gtr.box_embedding import (
    DEFAULT_EMB_NUM,
    DEFAULT_TEMPERATURE,
    interpolated_rows,
)
from raytrack.families.gtr.embedding_settings import TempEmbeddingSettings


class TimeEmbedding(nn.Module):
    r"""Embeds each instance's frame offset ``t`` (frames since the window's first frame).

    Modes (``embedding_meta.temp.mode``):

    - ``fixed`` (Vaswani et al., arXiv:1706.03762): ``e_{2i} = sin(t / T^{2i/D})``,
      ``e_{2i+1} = cos(t / T^{2i/D})`` with ``T = temperature``;
    - ``learned``: row ``t`` of a table of ``emb_num`` rows (offsets past the last row share it;
      make ``emb_num`` at least the clip length);
    - ``none``: zeros.

    Offsets are real frame distances: a frame without instances still counts (biogtr ranks the
    frames present in the window instead, which makes a gap look like one frame).

    Args:
        settings: ``embedding_meta.temp``.
        features: ``d_model``.

    Shapes:
        - input: ``(N,)`` frame offsets (float)
        - output: ``(N, D)``
    """

    def __init__(self, settings: TempEmbeddingSettings, features: int) -> None:
        super().__init__()
        self.mode = settings.mode
        self.features = features
        self.temperature = settings.temperature or DEFAULT_TEMPERATURE
        self.lookup: nn.Parameter | None = None
        if self.mode == "learned":
            rows = settings.emb_num or DEFAULT_EMB_NUM
            self.lookup = nn.Parameter(torch.randn(rows, features) * 0.02)

    def forward(self, times: torch.Tensor) -> torch.Tensor:
        times = times.to(torch.float32)
        if self.mode == "none":
            return times.new_zeros(times.shape[0], self.features)
        if self.mode == "learned":
            assert self.lookup is not None
            return interpolated_rows(self.lookup, times)
        index = torch.arange(0, self.features, 2, device=times.device, dtype=torch.float32)
        angles = times[:, None] / self.temperature ** (index / self.features)
        embedding = times.new_zeros(times.shape[0], self.features)
        embedding[:, 0::2] = angles.sin()
        embedding[:, 1::2] = angles.cos()[:, : self.features // 2]
        return embedding
