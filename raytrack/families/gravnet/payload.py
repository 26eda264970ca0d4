"""The payload losses of object condensation and HGCalML's per-shower weights, per hit.

As HGCalML's ``LLFullObjectCondensation`` / ``LLExtendedObjectCondensation``
(``modules/LossLayers.py``); each is computed for every hit against the truth of its shower and
then averaged per shower with the weights ``β²`` (:mod:`.object_condensation`):

- **energy** (``train_energy_correction``): the predicted factor ``c`` corrects the shower's
  deposited energy ``E_dep`` (``t_rec_energy``) towards its true energy ``E``:
  ``ln(((E − c·E_dep) / sqrt(E))² + 1)``;
- **position**: ``huber(sqrt(|p − p_true|² / 10² + 0.01), 10)`` on the impact point's (x, y), cm;
- **time**: ``(t − t_true)²`` (ns²; the reference divides by a predicted uncertainty, which
  this model does not predict);
- **class**: the cross-entropy of the six classes of :data:`~.output_heads.CLASSES`, the class
  of a PDG id as ``LLExtendedObjectCondensation`` assigns it (:func:`pid_classes`).

**Shower weights** (``use_energy_weights``, HGCalML's ``_calc_energy_weights``): 1 above 10 GeV,
``(E − 0.5) / 9.5`` (at least 0) below, and a hundredth of that when the shower is not fully
contained.

Shapes: every input and output is per hit, ``(N,)`` (``(N, 2)``/``(N, 3)`` positions,
``(N, 6)`` logits).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

PAYLOADS = ("energy", "position", "time", "class")
"""The payload terms, in the order of :func:`payload_losses`' columns."""

_CHARGED_HADRONS = (211, 321, 2212)
_NEUTRAL_HADRONS = (130, 2112)


def pid_classes(pdg: torch.Tensor) -> torch.Tensor:
    """HGCalML's class of each PDG id: muon 0, electron 1, photon 2, charged hadron 3, neutral
    hadron 4, anything else (noise included) 5."""
    a = pdg.abs()
    out = torch.full_like(a, 5)
    out = torch.where(a == 13, 0, out)
    out = torch.where(a == 11, 1, out)
    out = torch.where(a == 22, 2, out)
    out = torch.where(torch.isin(a, a.new_tensor(_CHARGED_HADRONS)), 3, out)
    return torch.where(torch.isin(a, a.new_tensor(_NEUTRAL_HADRONS)), 4, out)


def huber(x: torch.Tensor, d: float) -> torch.Tensor:
    """HGCalML's ``huber``: ``x²`` below ``|x| < d``, linear (``d² + 2d(|x| − d)``) above."""
    absx = x.abs()
    return torch.where(absx < d, x**2, d**2 + 2.0 * d * (absx - d))


def energy_weights(t_energy: torch.Tensor, t_fully_contained: torch.Tensor) -> torch.Tensor:
    """Per-hit weight of the hit's shower (module documentation)."""
    weight = torch.where(t_energy > 10.0, torch.ones_like(t_energy), (t_energy - 0.5) / 9.5)
    weight = torch.relu(weight)
    return torch.where(t_fully_contained > 0, weight, 0.01 * weight)


def payload_losses(
    outputs: dict[str, torch.Tensor], truth: dict[str, torch.Tensor]
) -> torch.Tensor:
    """``(N, 4)`` unweighted per-hit losses in the order of :data:`PAYLOADS`."""
    t_energy = truth["t_energy"]
    ediff = (t_energy - outputs["energy_corr"] * truth["t_rec_energy"]) / torch.sqrt(
        t_energy.abs() + 1e-3
    )
    energy = torch.log(ediff**2 + 1.0 + 1e-5)
    distance = (truth["t_pos"][:, :2] - outputs["pos"]).pow(2).sum(dim=1)
    position = huber(torch.sqrt(distance / 10.0**2 + 1e-2), 10.0)
    time = (truth["t_time"] - outputs["time"]) ** 2
    classes = F.cross_entropy(outputs["pid_logits"], truth["t_class"], reduction="none")
    return torch.stack([energy, position, time, classes], dim=1)
