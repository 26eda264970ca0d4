"""The per-hit outputs of the HGCalML model: β, clustering space and the payload predictions.

As HGCalML's ``create_outputs`` (``modules/model_blocks.py``), from the final features ``x``:

- ``beta`` = sigmoid(Wx + b): the condensation score (object condensation's β);
- ``ccoords`` = Wx (no bias; identity plus N(0, 0.001) at the start): the clustering space;
- ``dist`` = 1 with ``fix_distance_scale`` (the reference default), else 2·sigmoid(Wx + b):
  the distance scale dividing distances in the clustering space;
- ``energy_corr`` = 1 + elu(W(0.01 x) + b), zero-initialised: the factor correcting the
  deposited energy of the hit's shower (a shower's energy is this factor at its condensation
  point times the sum of its hits' energies);
- ``pos`` = Wx (no bias): the shower's impact point (x, y) on the front face (cm);
- ``time`` = 10 + W(0.01 x) + b: its impact time (ns);
- ``pid_logits`` = Wx + b: the logits of HGCalML's six classes (:data:`CLASSES`).

Shapes:
    - input ``x``: ``(N, F)``
    - output: ``beta, dist, energy_corr, time`` ``(N,)``; ``ccoords`` ``(N, n_ccoords)``;
      ``pos`` ``(N, 2)``; ``pid_logits`` ``(N, 6)``
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from raytrack.families.gravnet.message_passing import keras_dense

CLASSES = ("muon", "electron", "photon", "charged_hadron", "neutral_hadron", "ambiguous")
"""HGCalML's particle classes (``LLExtendedObjectCondensation``), in the order of the logits."""


def eye_dense(in_features: int, out_features: int, stddev: float) -> nn.Linear:
    """A bias-free ``Linear`` starting at the identity plus N(0, ``stddev``) (``EyeInitializer``)."""
    layer = nn.Linear(in_features, out_features, bias=False)
    with torch.no_grad():
        weight = torch.randn(out_features, in_features) * stddev
        diagonal = torch.arange(min(in_features, out_features))
        weight[diagonal, diagonal] += 1.0
        layer.weight.copy_(weight)
    return layer


class CondensationHeads(nn.Module):
    """The output layers (see the module documentation)."""

    def __init__(self, in_channels: int, n_ccoords: int, fix_distance_scale: bool = True) -> None:
        super().__init__()
        if in_channels < 1 or n_ccoords < 1:
            raise ValueError(
                f"in_channels and n_ccoords must be at least 1, but got in_channels="
                f"{in_channels}, n_ccoords={n_ccoords}"
            )
        self.beta = keras_dense(in_channels, 1)
        self.ccoords = eye_dense(in_channels, n_ccoords, stddev=0.001)
        self.dist = None if fix_distance_scale else keras_dense(in_channels, 1)
        self.energy = nn.Linear(in_channels, 1)
        self.pos = keras_dense(in_channels, 2, bias=False)
        self.time = keras_dense(in_channels, 1)
        self.pid = keras_dense(in_channels, len(CLASSES))
        for layer in (self.energy,):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        beta = torch.sigmoid(self.beta(x)).squeeze(-1)
        if self.dist is None:
            dist = torch.ones_like(beta)
        else:
            dist = 2.0 * torch.sigmoid(self.dist(x)).squeeze(-1)
        return {
            "beta": beta,
            "ccoords": self.ccoords(x),
            "dist": dist,
            "energy_corr": 1.0 + F.elu(self.energy(0.01 * x)).squeeze(-1),
            "pos": self.pos(x),
            "time": 10.0 + self.time(0.01 * x).squeeze(-1),
            "pid_logits": self.pid(x),
        }
