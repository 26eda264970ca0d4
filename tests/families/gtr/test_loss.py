"""The association loss: targets per frame, the background column, neg_unmatched."""

from __future__ import annotations

import pytest
import torch

from raytrack.families.gtr.association_loss import AssociationLoss, association_targets
from raytrack.families.gtr.task_settings import LossSettings

FRAME = torch.tensor([0, 0, 1, 1, 2])
TRACK = torch.tensor([5, 7, 7, 5, 9])


def test_targets_point_at_the_same_track_in_each_frame() -> None:
    targets = association_targets(FRAME, TRACK)
    assert [c.tolist() for c, _ in targets] == [[0, 1], [2, 3], [4]]
    assert targets[0][1].tolist() == [0, 1, 1, 0, 2]  # frame 0: track 5 at 0, 7 at 1, else bg (2)
    assert targets[1][1].tolist() == [1, 0, 0, 1, 2]
    assert targets[2][1].tolist() == [1, 1, 1, 1, 0]
    with pytest.raises(ValueError, match="frame 0 holds two instances of one track"):
        association_targets(torch.tensor([0, 0]), torch.tensor([3, 3]))


def test_confident_right_associations_cost_little_and_wrong_ones_much() -> None:
    same = (TRACK[:, None] == TRACK[None, :]).float()
    loss = AssociationLoss(LossSettings())
    right = loss((20 * same - 10)[None], FRAME, TRACK)
    wrong = loss((10 - 20 * same)[None], FRAME, TRACK)
    assert right < 1e-3 < 1.0 < wrong
    two_layers = loss(torch.stack([20 * same - 10, 10 - 20 * same]), FRAME, TRACK)
    assert two_layers == pytest.approx(float(right + wrong))  # summed over decoder layers
    weighted = AssociationLoss(LossSettings(asso_weight=2.0))((10 - 20 * same)[None], FRAME, TRACK)
    assert weighted == pytest.approx(2 * float(wrong))


def test_untracked_instances_enter_only_under_neg_unmatched() -> None:
    track = torch.tensor([5, -1, 5])
    frame = torch.tensor([0, 0, 1])
    logits = torch.zeros(1, 3, 3)
    logits[0, 1, :] = 5.0  # the untracked instance claims everything
    plain = AssociationLoss(LossSettings())(logits, frame, track)
    negative = AssociationLoss(LossSettings(neg_unmatched=True))(logits, frame, track)
    assert negative > plain
    logits[0, 1, :] = -5.0
    assert AssociationLoss(LossSettings())(logits, frame, track) == pytest.approx(float(plain))
