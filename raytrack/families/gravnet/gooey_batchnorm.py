"""HGCalML's ScaledGooeyBatchNorm2: a batch norm whose running statistics thicken over training.

From HGCalML (``modules/GravNetLayersRagged.py``, S. Qasim, J. Kieseler et al., used throughout
"Multi-particle reconstruction in the High Granularity Calorimeter using object condensation
and graph neural networks", arXiv:2106.01832). The statistics are not learned by gradient but
moved towards each training batch's, ever more slowly:

.. math::

    \\mu &\\leftarrow \\mu + (1 - v)\\,(\\bar x - \\mu), \\qquad
    \\sigma \\leftarrow \\sigma + (1 - v)\\,(\\overline{|x - \\mu|} - \\sigma) \\\\
    v &\\leftarrow v + (v_{max} - v)\\,\\text{fluidity\\_decay} \\\\
    y &= \\gamma\\,\\frac{x - \\mu}{|\\sigma| + \\epsilon} + \\beta

(``no_gaus=False`` uses the standard deviation ``sqrt(mean((x − μ)²) + ε)`` instead of the mean
absolute deviation). The deviation is taken from the *old* mean, as in the reference; an empty
batch leaves the statistics unchanged. In evaluation mode nothing is updated.

**Conditioning** (HGCalML's ``[features, condition]`` input, e.g. ``isTrack``): only rows with
``condition > 0.5`` (or ``≤ 0.5`` with ``invert_condition``) enter the statistics and are
normalised; the other rows pass through unchanged. Two layers with opposite conditions normalise
hits and tracks each with their own statistics.

Shapes:
    - input ``x``: ``(N, F)``, optional ``condition``: ``(N, 1)`` or ``(N,)``
    - output: ``(N, F)``
"""

from __future__ import annotations

import torch
from torch import nn


class ScaledGooeyBatchNorm2(nn.Module):
    """See the module documentation; arguments are HGCalML's ``BatchNormOptions``."""

    def __init__(
        self,
        num_features: int,
        *,
        viscosity: float = 0.01,
        fluidity_decay: float = 1e-4,
        max_viscosity: float = 0.99,
        no_gaus: bool = True,
        epsilon: float = 1e-2,
        invert_condition: bool = False,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"num_features must be at least 1, but got {num_features}")
        if not 0.0 <= viscosity <= max_viscosity <= 1.0:
            raise ValueError(
                "ScaledGooeyBatchNorm2 needs 0 <= viscosity <= max_viscosity <= 1, but got "
                f"viscosity={viscosity}, max_viscosity={max_viscosity}"
            )
        if not 0.0 <= fluidity_decay <= 1.0:
            raise ValueError(f"fluidity_decay must be in [0, 1], but got {fluidity_decay}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be positive, but got {epsilon}")
        self.fluidity_decay = fluidity_decay
        self.max_viscosity = max_viscosity
        self.no_gaus = no_gaus
        self.epsilon = epsilon
        self.invert_condition = invert_condition
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("den", torch.ones(num_features))
        self.register_buffer("viscosity", torch.tensor(float(viscosity)))
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def _selected(self, x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """``(N, 1)`` float mask of the rows this layer normalises."""
        if condition is None:
            return x.new_ones(x.shape[0], 1)
        selected = condition.reshape(-1, 1) > 0.5
        if self.invert_condition:
            selected = ~selected
        return selected.to(x.dtype)

    @torch.no_grad()
    def _update(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        count = mask.sum()
        if count == 0:
            return
        norm = count + self.epsilon
        batch_mean = (x * mask).sum(0) / norm
        deviation = (x - self.mean).abs()
        if not self.no_gaus:
            deviation = deviation**2
        batch_den = (deviation * mask).sum(0) / norm
        if not self.no_gaus:
            batch_den = torch.sqrt(batch_den + self.epsilon)
        step = 1.0 - self.viscosity
        self.mean.add_(step * (batch_mean - self.mean))
        self.den.add_(step * (batch_den - self.den))
        if self.fluidity_decay > 0:
            self.viscosity.add_((self.max_viscosity - self.viscosity) * self.fluidity_decay)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        mask = self._selected(x, condition)
        if self.training:
            self._update(x.detach(), mask)
        normed = (x - self.mean) / (self.den.abs() + self.epsilon) * self.gamma + self.bias
        if condition is None:
            return normed
        return torch.where(mask > 0, normed, x)
