"""GTR's association loss (biogtr/DREEM ``AssoLoss``, ``dreem/training/losses.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from raytrack.families.gtr.task_settings import LossSettings


def association_targets(
    frame: torch.Tensor, track_id: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per frame of the clip: its instances' indices and every instance's target in it.

    The target of instance ``i`` in frame ``t`` is the position (among frame ``t``'s instances)
    of the instance with ``i``'s track, or ``n_t`` (the background) when there is none or ``i``
    has no track (id -1).

    Shapes:
        ``frame``, ``track_id``: ``(N,)`` → per frame ``(columns (n_t,), targets (N,))``.
    """
    out = []
    for value in torch.unique(frame):
        columns = torch.nonzero(frame == value).flatten()
        same = (track_id[:, None] == track_id[columns][None, :]) & (track_id[:, None] >= 0)
        if (same.sum(dim=1) > 1).any():
            repeated = track_id[columns][same.sum(dim=0) > 0]
            raise ValueError(
                f"frame {int(value)} holds two instances of one track (ids {repeated.tolist()})"
            )
        background = torch.full_like(track_id, len(columns))
        targets = torch.where(same.any(dim=1), same.to(torch.int64).argmax(dim=1), background)
        out.append((columns, targets))
    return out


class AssociationLoss(nn.Module):
    r"""Cross-entropy of every instance's association with each frame, plus a background.

    For decoder layer ``l`` with logits ``A^l`` (``N × N``) and every frame ``t`` of the clip,
    the row of instance ``i`` restricted to frame ``t``'s instances, with one more column of
    logit 0 for the background, is a softmax over "which instance of frame ``t`` is ``i``":

    .. math::

        \mathcal{L} = w \sum_l \frac{\sum_{i, t} \mathrm{CE}([A^l_{i, t}, 0],\, y_{it})}
                                 {\#\{(i, t) : y_{it} \ne \varnothing\} + \epsilon}

    with ``y_{it}`` the instance of ``i``'s track in frame ``t`` (``∅`` when absent) and ``w =
    asso_weight``. Rows of instances without a track (id -1) enter only under ``neg_unmatched``
    (their target is the background of every frame).

    Shapes:
        - asso: ``(L, N, N)`` logits, frame and track_id: ``(N,)``
        - output: scalar
    """

    def __init__(self, settings: LossSettings) -> None:
        super().__init__()
        self.settings = settings

    def forward(
        self, asso: torch.Tensor, frame: torch.Tensor, track_id: torch.Tensor
    ) -> torch.Tensor:
        rows = (
            torch.ones_like(track_id, dtype=torch.bool)
            if self.settings.neg_unmatched
            else track_id >= 0
        )
        targets = association_targets(frame, track_id)
        total = asso.new_zeros(())
        for logits in asso:
            loss = asso.new_zeros(())
            matched = asso.new_zeros(())
            for columns, target in targets:
                scores = logits[rows][:, columns]
                scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
                kept = target[rows]
                loss = loss + F.cross_entropy(scores, kept, reduction="sum")
                matched = matched + (kept != len(columns)).sum()
            total = total + loss / (matched + self.settings.epsilon)
        return self.settings.asso_weight * total
