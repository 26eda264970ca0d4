"""The reference's losses (``loss_fn``) and regularisers (``loss_reg_type``), item by item.

Each loss maps a prediction and its target, ``(B, K)`` each, to one value per item ``(B,)``;
a task averages them over the batch (so the statistics of two batches add up, and DDP workers
average as one batch would). Per item:

- ``mse``: ``mean_k (p_k - t_k)^2``; ``l1``: ``mean_k |p_k - t_k|``;
- ``bce``: binary cross-entropy of ``sigmoid(p)`` against targets in [0, 1] (torch's
  ``BCEWithLogitsLoss``), averaged over ``k``;
- ``emd``: the earth mover's distance of 1-D spectra as in the reference, the mean squared
  difference of the cumulative spectra ``mean_k (C(p)_k - C(t)_k)^2``, ``C(x)_k = sum_{j<=k}
  x_j`` (the reference sums it over the batch; here it is averaged like every loss);
- ``cosine``: ``1 - cos(p, t)``. The reference's ``CosineSimilarityLoss`` returns the
  similarity itself, which a minimiser drives towards -1 (anti-aligned spectra); this is the
  loss of it.
- ``wcc``: ``1 - S``, ``S`` the weighted cross-correlation of E. Källman et al., Chem. Phys.
  535 (2020) 110786: with the Gaussian weight ``w(r) = exp(-r^2 / (2 s^2))`` of the lag ``r``
  (grid points), ``s = hwhm / sqrt(2 ln 2)`` and ``hwhm = loss_args`` (default 10 points),

  .. math::

      S(p, t) = \\frac{\\sum_r w(r) c_{pt}(r)}{\\sqrt{\\sum_r w(r) c_{pp}(r)
      \\sum_r w(r) c_{tt}(r)}}, \\qquad c_{xy}(r) = \\sum_j x_{j+r} y_j,

  i.e. ``p^T W t / sqrt(p^T W p  t^T W t)`` with ``W_{ij} = w(i - j)``. The reference computes
  its weight with ``2 s`` where ``s^2`` belongs, and clips ``S`` to [0, 1] (no gradient below
  0); the Gaussian kernel is positive definite, so here ``S`` lies in [-1, 1] unclipped.

Regularisers add ``loss_reg_param`` times ``sum |θ|`` (``L1``, lasso) or ``sum θ^2`` (``L2``,
ridge; the reference takes the unsquared norm) over the trained network's parameters.

Legend: ``B`` items; ``K`` features per item.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from raytrack.families.xanesnet.hparams import LossFn, LossRegType

WCC_DEFAULT_HWHM = 10.0
ItemLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (p - t).pow(2).mean(-1)


def l1(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (p - t).abs().mean(-1)


def bce(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1)


def emd(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (torch.cumsum(p, -1) - torch.cumsum(t, -1)).pow(2).mean(-1)


def cosine(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 1.0 - F.cosine_similarity(p, t, dim=-1, eps=1e-12)


class WCCLoss(nn.Module):
    """``1 -`` the weighted cross-correlation (see the module docstring).

    Args:
        hwhm: half width at half maximum of the Gaussian lag weight, in grid points.

    Shapes:
        - ``p``, ``t``: ``(B, K)`` → ``(B,)``
    """

    def __init__(self, hwhm: float = WCC_DEFAULT_HWHM) -> None:
        super().__init__()
        if not hwhm > 0:
            raise ValueError(
                f"loss_args is wcc's Gaussian half width (grid points) and must be positive, but "
                f"got loss_args={hwhm}"
            )
        self.hwhm = float(hwhm)
        self._weights: dict[tuple, torch.Tensor] = {}

    def weights(self, size: int, like: torch.Tensor) -> torch.Tensor:
        key = (size, like.dtype, like.device)
        if key not in self._weights:
            sigma = self.hwhm / math.sqrt(2.0 * math.log(2.0))
            lag = torch.arange(size, dtype=torch.float64)
            lag = lag[:, None] - lag[None, :]
            self._weights[key] = torch.exp(-(lag**2) / (2.0 * sigma**2)).to(like)
        return self._weights[key]

    def forward(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        w = self.weights(p.shape[-1], p)
        cross = ((p @ w) * t).sum(-1)
        norm = ((p @ w) * p).sum(-1) * ((t @ w) * t).sum(-1)
        return 1.0 - cross / norm.clamp_min(1e-24).sqrt()


def make_loss(loss_fn: LossFn, loss_args: float | None) -> ItemLoss:
    """The per-item loss ``loss_fn`` (``loss_args``: wcc's half width; unused by the others)."""
    if loss_fn == "wcc":
        return WCCLoss(WCC_DEFAULT_HWHM if loss_args is None else loss_args)
    losses: dict[str, ItemLoss] = {"mse": mse, "l1": l1, "bce": bce, "emd": emd, "cosine": cosine}
    if loss_fn not in losses:
        raise ValueError(
            f"loss_fn must be one of {sorted([*losses, 'wcc'])}, but got loss_fn={loss_fn!r}"
        )
    return losses[loss_fn]


def regularisation(modules: list[nn.Module], loss_reg_type: LossRegType) -> torch.Tensor | None:
    """``sum |θ|`` (L1) or ``sum θ^2`` (L2) over the trainable parameters of ``modules``;
    ``None`` without regularisation."""
    if loss_reg_type is None:
        return None
    if loss_reg_type not in ("L1", "L2"):
        raise ValueError(f"loss_reg_type must be L1, L2 or null, but got {loss_reg_type!r}")
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    if loss_reg_type == "L1":
        return sum(p.abs().sum() for p in params)
    return sum(p.pow(2).sum() for p in params)
