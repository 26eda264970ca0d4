"""Batch normalisation that also trains on a batch of one item."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BatchNorm1d(nn.BatchNorm1d):
    r"""``torch.nn.BatchNorm1d`` (S. Ioffe and C. Szegedy, ICML 2015) that normalises a training
    batch of one item with its running statistics instead of failing.

    .. math::

        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}}\,\gamma + \beta

    with batch statistics in training, running ones in evaluation. A batch of one item (a
    data set whose size leaves one item in the last batch of an epoch) has no variance over
    the batch; torch raises for it, this layer uses the running statistics for that batch and
    leaves them unchanged.

    Shapes:
        - input: ``(B, C)`` or ``(B, C, L)``
        - output: the input's shape
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1 and (x.dim() == 2 or x.shape[2] == 1):
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                training=False, eps=self.eps,
            )  # fmt: skip
        return super().forward(x)
