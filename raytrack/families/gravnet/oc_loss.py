"""The loss of a batch of events: object condensation plus payloads, with HGCalML's options.

HGCalML's ``LLFullObjectCondensation.loss`` (``modules/LossLayers.py``) per event
(:func:`~.object_condensation.event_terms`), with the ``LossOptions`` of ``config_trainer``:

- ``attractive`` × ``potential_scaling``; ``repulsive`` × ``potential_scaling`` ×
  ``repulsion_scaling``; ``min_beta`` × ``beta_loss_scale``; ``noise`` (``s_b`` inside);
  ``exceed_beta`` × ``too_much_beta_scale``;
- the payloads (:mod:`.payload`) ``energy`` × ``energy_loss_weight``, ``position`` ×
  ``position_loss_weight``, ``time`` × ``timing_loss_weight``, ``class`` ×
  ``classification_loss_weight``;
- objects weighted by their shower weights with ``use_energy_weights``, else equally.

Each term is returned per event; the task averages them over the batch's events (HGCalML
divides by the batch size) and reports each on its own, as the reference logs
``ExtendedOCLoss_attractive_loss`` and the others.

Shapes:
    - ``outputs``: the model's dict over the batch's ``N`` hits; ``batch``: the task's batch
      (``row_splits`` ``(B + 1,)``)
    - output: one ``(B,)`` tensor per term of :data:`TERMS`
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from raytrack.families.gravnet.object_condensation import Implementation, event_terms
from raytrack.families.gravnet.payload import PAYLOADS, energy_weights, payload_losses

TERMS = ("attractive", "repulsive", "min_beta", "noise", "exceed_beta", *PAYLOADS)
"""The loss terms, reported as ``train_loss_<term>`` and ``val_<term>``."""


@dataclass(frozen=True)
class LossOptions:
    """HGCalML's ``LossOptions`` section (the task's hyperparameters of the same names)."""

    q_min: float = 0.1
    s_b: float = 1.0
    use_average_cc_pos: float = 0.0
    energy_loss_weight: float = 1.0
    position_loss_weight: float = 1.0
    timing_loss_weight: float = 1.0
    classification_loss_weight: float = 1.0
    beta_loss_scale: float = 1.0
    too_much_beta_scale: float = 0.0
    potential_scaling: float = 1.0
    repulsion_scaling: float = 1.0
    use_energy_weights: bool = True
    oc_implementation: Implementation = "std"

    def __post_init__(self) -> None:
        if self.q_min <= 0:
            raise ValueError(
                f"q_min must be positive (the charge floor), but got q_min={self.q_min}"
            )
        if not 0.0 <= self.use_average_cc_pos <= 1.0:
            raise ValueError(
                f"use_average_cc_pos must be in [0, 1], but got {self.use_average_cc_pos}"
            )

    def payload_weights(self, like: torch.Tensor) -> torch.Tensor:
        weights = (self.energy_loss_weight, self.position_loss_weight, self.timing_loss_weight,
                   self.classification_loss_weight)  # fmt: skip
        return like.new_tensor(weights)


def batch_terms(
    outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor], options: LossOptions
) -> dict[str, torch.Tensor]:
    """Every term of :data:`TERMS` for each event of ``batch`` (module documentation)."""
    beta = outputs["beta"]
    payload = payload_losses(outputs, batch) * options.payload_weights(beta)
    if options.use_energy_weights:
        weight = energy_weights(batch["t_energy"], batch["t_fully_contained"])
    else:
        weight = torch.ones_like(beta)
    splits = batch["row_splits"].tolist()
    per_event: dict[str, list[torch.Tensor]] = {name: [] for name in TERMS}
    for start, stop in zip(splits[:-1], splits[1:]):
        part = slice(start, stop)
        terms = event_terms(
            beta[part], outputs["ccoords"][part], outputs["dist"][part], payload[part],
            batch["t_idx"][part], weight[part], batch["spectator"][part],
            q_min=options.q_min, s_b=options.s_b, use_average_cc_pos=options.use_average_cc_pos,
            implementation=options.oc_implementation,
        )  # fmt: skip
        potential = options.potential_scaling
        per_event["attractive"].append(terms.attractive * potential)
        per_event["repulsive"].append(terms.repulsive * potential * options.repulsion_scaling)
        per_event["min_beta"].append(terms.min_beta * options.beta_loss_scale)
        per_event["noise"].append(terms.noise)
        per_event["exceed_beta"].append(terms.exceed_beta * options.too_much_beta_scale)
        for i, name in enumerate(PAYLOADS):
            per_event[name].append(terms.payload[i])
    return {name: torch.stack(values) for name, values in per_event.items()}
