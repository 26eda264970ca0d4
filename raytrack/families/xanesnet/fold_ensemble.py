"""Several copies of one network trained side by side: k-fold cross-validation in one trial.

With ``kfold: true`` the model is a :class:`FoldEnsemble` of ``n_splits * n_repeats`` members,
member ``m`` being fold ``m % n_splits`` of repeat ``m // n_splits``: the task trains member
``m`` only on the training samples outside its fold and judges it on the samples of its fold
(:mod:`.kfold`). After training the members form a cross-validation committee: the ensemble's
output is their mean, which ``raytrack evaluate`` and ``raytrack infer`` use.

Shapes:
    - input: the member's
    - output: the member's output mapping, each entry averaged over the members
"""

from __future__ import annotations

import torch
from torch import nn


class FoldEnsemble(nn.Module):
    """Members of one architecture (see the module docstring).

    Args:
        members: the networks, one per fold of each repeat.
        n_splits: folds per repeat.
    """

    def __init__(self, members: list[nn.Module], n_splits: int) -> None:
        super().__init__()
        if n_splits < 2 or len(members) % n_splits:
            raise ValueError(
                f"a fold ensemble needs n_splits >= 2 and a multiple of n_splits members, but got "
                f"n_splits={n_splits} and {len(members)} members"
            )
        self.members = nn.ModuleList(members)
        self.n_splits = n_splits

    @property
    def n_repeats(self) -> int:
        return len(self.members) // self.n_splits

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        outputs = [member(*args, **kwargs) for member in self.members]
        return {key: torch.stack([out[key] for out in outputs]).mean(0) for key in outputs[0]}

    def discriminate(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The members' mean discriminator logits (for members that have discriminators)."""
        outputs = [member.discriminate(*args, **kwargs) for member in self.members]
        return {key: torch.stack([out[key] for out in outputs]).mean(0) for key in outputs[0]}
