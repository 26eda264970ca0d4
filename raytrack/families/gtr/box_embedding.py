"""GTR's positional embedding of each instance's boxes (biogtr ``Embedding(emb_type="pos")``)."""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gtr.embedding_settings import PosEmbeddingSettings
from raytrack.families.gtr.mlp import MLP

DEFAULT_TEMPERATURE = 10000.0
DEFAULT_EMB_NUM = 16


def interpolated_rows(table: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` at fractional ``position`` (in rows), linearly interpolated.

    Positions are clamped to ``[0, rows - 1]``; an integer position gives its row exactly.

    Shapes:
        ``table``: ``(R, F)``; ``position``: ``(*)`` → ``(*, F)``.
    """
    position = position.clamp(0, table.shape[0] - 1)
    left = position.floor().long()
    right = (left + 1).clamp(max=table.shape[0] - 1)
    weight = (position - left.to(position.dtype)).unsqueeze(-1)
    return (1 - weight) * table[left] + weight * table[right]


class BoxEmbedding(nn.Module):
    r"""Embeds the ``A`` boxes (one per anchor) of every instance into ``d_model`` features.

    Boxes come normalised by the image size (``x1 y1 x2 y2`` in ``[0, 1]``); an absent anchor
    (NaN) becomes ``-1``, as in biogtr. Modes (``embedding_meta.pos.mode``):

    - ``fixed`` (DETR's sine embedding, Carion et al., arXiv:2005.12872): every coordinate
      ``c`` (times ``scale`` under ``normalize``) gives ``F = 2⌊D/8⌋`` features
      ``sin(c / T^{2i/F'}), cos(c / T^{2i/F'})`` with ``T = temperature`` and ``F' = D/4``;
    - ``learned`` (biogtr): each coordinate (corners, or centre and size when ``over_boxes`` is
      false) is looked up in its own table of ``emb_num`` bins of ``D / (4A)`` features, linearly
      interpolated between bins;
    - ``none``: zeros.

    The ``4A`` coordinate embeddings are concatenated; ``mlp_cfg``, when given, projects them to
    ``D`` (it must be given when they do not make ``D`` features: several anchors, or ``D`` not a
    multiple of 8).

    Args:
        settings: ``embedding_meta.pos``.
        features: ``d_model``.

    Shapes:
        - input: ``(N, A, 4)`` normalised boxes, ``A = n_points``
        - output: ``(N, D)``
    """

    def __init__(self, settings: PosEmbeddingSettings, features: int) -> None:
        super().__init__()
        self.settings = settings
        self.features = features
        self.n_points = settings.n_points
        coordinates = 4 * settings.n_points
        self.lookup: nn.Parameter | None = None
        if settings.mode == "fixed":
            self.per_coordinate = 2 * (features // 8)
            self.temperature = settings.temperature or DEFAULT_TEMPERATURE
            self.scale = settings.effective_scale
        elif settings.mode == "learned":
            self.per_coordinate = features // coordinates
            self.emb_num = settings.emb_num or DEFAULT_EMB_NUM
            self.over_boxes = True if settings.over_boxes is None else settings.over_boxes
            self.lookup = nn.Parameter(
                torch.randn(coordinates, self.emb_num, self.per_coordinate) * 0.02
            )
        else:
            self.per_coordinate = 0
        concatenated = coordinates * self.per_coordinate
        self.mlp: nn.Module = nn.Identity()
        if settings.mode == "none" and settings.mlp_cfg is not None:
            raise ValueError(
                "embedding_meta.pos.mlp_cfg applies to modes fixed and learned, not none"
            )
        if settings.mode != "none" and (concatenated != features or settings.mlp_cfg is not None):
            if settings.mlp_cfg is None or self.per_coordinate == 0:
                raise ValueError(
                    f"embedding_meta.pos (mode {settings.mode}, n_points {settings.n_points}) "
                    f"makes {concatenated} features per instance, not d_model={features}: give "
                    "embedding_meta.pos.mlp_cfg to project them (and d_model >= 8 * n_points)"
                )
            cfg = settings.mlp_cfg
            self.mlp = MLP(concatenated, cfg.hidden_dims, features, cfg.num_layers, cfg.dropout)

    def forward(self, boxes: torch.Tensor) -> torch.Tensor:
        n = boxes.shape[0]
        if boxes.shape[1:] != (self.n_points, 4):
            raise ValueError(
                f"the instances have {boxes.shape[1]} anchor box(es), but "
                f"embedding_meta.pos.n_points is {self.n_points}: set it to {boxes.shape[1]}"
            )
        if self.settings.mode == "none":
            return boxes.new_zeros(n, self.features)
        boxes = torch.nan_to_num(boxes, nan=-1.0)
        if self.settings.mode == "fixed":
            return self.mlp(self._sine(boxes).reshape(n, -1))
        return self.mlp(self._learned(boxes).reshape(n, -1))

    def _sine(self, boxes: torch.Tensor) -> torch.Tensor:
        half = self.per_coordinate // 2
        index = torch.arange(half, device=boxes.device, dtype=torch.float32)
        frequencies = self.temperature ** (-2 * index / max(self.features // 4, 1))
        angles = (boxes * self.scale).unsqueeze(-1) * frequencies  # (N, A, 4, F/2)
        return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)

    def _learned(self, boxes: torch.Tensor) -> torch.Tensor:
        if not self.over_boxes:
            centre = (boxes[..., :2] + boxes[..., 2:]) / 2
            boxes = torch.cat([centre, boxes[..., 2:] - boxes[..., :2]], dim=-1)
        n = boxes.shape[0]
        positions = (boxes * self.emb_num).reshape(n, -1)  # (N, 4A)
        assert self.lookup is not None
        rows = [
            interpolated_rows(self.lookup[c], positions[:, c]) for c in range(positions.shape[1])
        ]
        return torch.stack(rows, dim=1)  # (N, 4A, F)
