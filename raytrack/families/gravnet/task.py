"""Training task of the HGCalML GravNet model: object condensation on calorimeter events.

Per event (:meth:`GravNetTask.prepare`): the 10 hit features and the truth the loss needs
(``t_idx``, ``t_energy``, ``t_pos``, ``t_time``, the class of ``t_pid``, the spectator weight of
``t_spectator``, ``t_rec_energy``, ``t_fully_contained``). A batch concatenates its events with
HGCalML's ``row_splits``.

**Batches in hits.** HGCalML's ``batch_size`` counts hits (``120000``): its generator packs
events until the budget is full. raytrack's ``train.batch_size`` and each stage's
``batch_size`` count events; choose ``events ≈ hits / mean hits per event`` (``raytrack generate
calo_sim`` prints the conversion for its store). Every epoch reports the mean events and hits of
its training batches (``val_batch_events``, ``val_batch_hits``), so each stage's batch size is in
the history.

**Loss** (:mod:`.oc_loss`): the terms ``attractive, repulsive, min_beta, noise, exceed_beta,
energy, position, time, class`` per event, averaged over the batch's events, plus
``regularizer`` (the dense kernels' L2/L1, ``DenseOptions``); each is a loss term of its own
(``train_loss_<term>``, weights per stage with ``train.stages[].loss_weights``).

**Validation**: the same terms (``val_loss`` is their sum, the regulariser left out), and the
showers of each event (:mod:`.condensation` with ``t_beta``, ``t_d``) matched to the truth
(:mod:`.showers_matcher` with ``iou_threshold``): ``val_efficiency``, ``val_fake_rate``,
``val_response``, ``val_resolution`` (:mod:`.shower_metrics`).

**Infer**: the input row plus per-hit ``pred_beta, pred_ccoords, pred_dist, pred_energy_corr,
pred_pos, pred_time, pred_class`` and ``pred_sid`` (the hit's predicted shower, −1: none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.gravnet.calo_event import IS_TRACK, CaloEvent
from raytrack.families.gravnet.condensation import predicted_showers
from raytrack.families.gravnet.object_condensation import Implementation
from raytrack.families.gravnet.oc_loss import TERMS, LossOptions, batch_terms
from raytrack.families.gravnet.payload import pid_classes
from raytrack.families.gravnet.shower_metrics import STATISTICS, counts, figures, shower_rows
from raytrack.families.gravnet.showers_matcher import match_showers
from raytrack.families.gravnet.spectators import spectator_weights
from raytrack.store.columns import Column
from raytrack.tasks.base import Row, Task

NonNegative = Annotated[float, Field(ge=0.0)]
SHOWER_METRICS = ("efficiency", "fake_rate", "response", "resolution")
BATCH_METRICS = ("batch_events", "batch_hits")


class GravNetTask(Task):
    """Object condensation training of :class:`~.gravnet_model.GravNetOC` (module docs).

    Args (HGCalML's ``LossOptions``, ``General.oc_implementation`` and inference thresholds):
        q_min: the charge floor ``q = arctanh²β + q_min`` (> 0).
        s_b: weight of the noise term (β of noise hits pushed to 0).
        use_average_cc_pos: fraction of an object's charge-weighted mean position in its centre.
        energy_loss_weight, position_loss_weight, timing_loss_weight,
        classification_loss_weight: weights of the payload losses.
        beta_loss_scale: weight of the condensation-point term ``min_beta``.
        too_much_beta_scale: weight of ``exceed_beta`` (0: off, the reference default).
        potential_scaling, repulsion_scaling: scales of the potentials.
        use_energy_weights: weigh objects by HGCalML's shower-energy weights.
        oc_implementation: ``std`` (Gaussian repulsion) or ``hinge``.
        t_beta, t_d: condensation thresholds of the validation showers (β, distance).
        iou_threshold: least energy-weighted IoU of a matched shower pair.
    """

    metrics = ("loss", *TERMS, *SHOWER_METRICS, *BATCH_METRICS)
    loss_terms = {name: "model" for name in (*TERMS, "regularizer")}

    @validate_call
    def __init__(
        self,
        *,
        q_min: Annotated[float, Field(gt=0.0)] = 0.1,
        s_b: NonNegative = 1.0,
        use_average_cc_pos: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0,
        energy_loss_weight: NonNegative = 1.0,
        position_loss_weight: NonNegative = 1.0,
        timing_loss_weight: NonNegative = 1.0,
        classification_loss_weight: NonNegative = 1.0,
        beta_loss_scale: NonNegative = 1.0,
        too_much_beta_scale: NonNegative = 0.0,
        potential_scaling: NonNegative = 1.0,
        repulsion_scaling: NonNegative = 1.0,
        use_energy_weights: bool = True,
        oc_implementation: Implementation = "std",
        t_beta: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1,
        t_d: Annotated[float, Field(gt=0.0)] = 0.5,
        iou_threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1,
    ) -> None:
        self.loss = LossOptions(
            q_min=q_min, s_b=s_b, use_average_cc_pos=use_average_cc_pos,
            energy_loss_weight=energy_loss_weight, position_loss_weight=position_loss_weight,
            timing_loss_weight=timing_loss_weight,
            classification_loss_weight=classification_loss_weight,
            beta_loss_scale=beta_loss_scale, too_much_beta_scale=too_much_beta_scale,
            potential_scaling=potential_scaling, repulsion_scaling=repulsion_scaling,
            use_energy_weights=use_energy_weights, oc_implementation=oc_implementation,
        )  # fmt: skip
        self.t_beta, self.t_d, self.iou_threshold = t_beta, t_d, iou_threshold
        self._batches = self._events = self._hits = 0

    # -- data --------------------------------------------------------------------------------

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        event = CaloEvent.from_row(row)
        return {
            "event_id": np.int64(event.event_id),
            "features": np.array(event.features, np.float32),
            "t_idx": np.array(event.t_idx, np.int64),
            "t_energy": np.array(event.t_energy, np.float32),
            "t_pos": np.array(event.t_pos, np.float32),
            "t_time": np.array(event.t_time, np.float32),
            "t_pid": np.array(event.t_pid, np.int64),
            "spectator": spectator_weights(event.t_spectator).astype(np.float32),
            "t_rec_energy": np.array(event.t_rec_energy, np.float32),
            "t_fully_contained": np.array(event.t_fully_contained, np.float32),
        }

    def collate(self, samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """The events concatenated, with ``row_splits`` ``(B + 1,)`` and ``event_id`` ``(B,)``."""
        batch = {
            key: torch.as_tensor(np.concatenate([s[key] for s in samples]))
            for key in samples[0]
            if key != "event_id"
        }
        sizes = [len(s["t_idx"]) for s in samples]
        batch["row_splits"] = torch.as_tensor(
            np.concatenate([[0], np.cumsum(sizes)]), dtype=torch.long
        )
        batch["event_id"] = torch.as_tensor([int(s["event_id"]) for s in samples])
        batch["t_class"] = pid_classes(batch["t_pid"])
        return batch

    # -- training ----------------------------------------------------------------------------

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        self._batches = self._events = self._hits = 0

    def training_step(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        outputs = _float32(model(batch["features"], batch["row_splits"]))
        terms = {
            name: value.mean() for name, value in batch_terms(outputs, batch, self.loss).items()
        }
        regularizer = getattr(model, "module", model).regularization()
        terms["regularizer"] = regularizer if regularizer is not None else outputs["beta"].sum() * 0
        self._batches += 1
        self._events += len(batch["row_splits"]) - 1
        self._hits += int(batch["row_splits"][-1])
        return terms

    # -- validation --------------------------------------------------------------------------

    @torch.no_grad()
    def validation_step(
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        outputs = _float32(model(batch["features"], batch["row_splits"]))
        terms = batch_terms(outputs, batch, self.loss)
        stats = {f"{name}_sum": value.detach().double().sum() for name, value in terms.items()}
        stats["events"] = torch.tensor(float(len(batch["row_splits"]) - 1), dtype=torch.float64)
        totals = dict.fromkeys(STATISTICS, 0.0)
        host = {key: value.detach().cpu().numpy() for key, value in {**outputs, **batch}.items()}
        splits = host["row_splits"].tolist()
        for i, (start, stop) in enumerate(zip(splits[:-1], splits[1:])):
            rows = self._event_rows(host, slice(start, stop), int(host["event_id"][i]))
            for key, value in counts(rows).items():
                totals[key] += value
        stats.update(
            {key: torch.tensor(value, dtype=torch.float64) for key, value in totals.items()}
        )
        return stats

    def _event_rows(self, host: Mapping[str, np.ndarray], part: slice, event_id: int) -> Any:
        is_track = host["features"][part, IS_TRACK] > 0.5
        energy = host["features"][part, 0].astype(np.float64)
        showers = predicted_showers(
            host["beta"][part], host["ccoords"][part], host["dist"][part], energy,
            host["energy_corr"][part], is_track, t_beta=self.t_beta, t_d=self.t_d,
        )  # fmt: skip
        matching = match_showers(
            host["t_idx"][part], showers.labels, energy, is_track, showers.count,
            iou_threshold=self.iou_threshold,
        )  # fmt: skip
        return shower_rows(event_id, host["t_idx"][part], host["t_energy"][part],
                           host["t_pid"][part], showers, matching)  # fmt: skip

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        events = float(totals["events"])
        mean = (lambda key: float(totals[key]) / events) if events else (lambda key: float("nan"))
        found = {name: mean(f"{name}_sum") for name in TERMS}
        found["loss"] = float(sum(found.values()))
        found.update(figures({key: float(totals[key]) for key in STATISTICS}))
        found.pop("deposited_response")
        batches = self._batches
        found["batch_events"] = self._events / batches if batches else float("nan")
        found["batch_hits"] = self._hits / batches if batches else float("nan")
        return found

    # -- pipeline stage ------------------------------------------------------------------------

    @torch.no_grad()
    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The row with the model's per-hit outputs and predicted showers (module docs)."""
        sample = self.prepare(row)
        features = torch.as_tensor(sample["features"], device=device)
        splits = torch.as_tensor([0, len(features)], device=device)
        model.eval()
        out = {k: v.float().cpu().numpy() for k, v in model(features, splits).items()}
        is_track = sample["features"][:, IS_TRACK] > 0.5
        showers = predicted_showers(
            out["beta"], out["ccoords"], out["dist"], sample["features"][:, 0].astype(np.float64),
            out["energy_corr"], is_track, t_beta=self.t_beta, t_d=self.t_d,
        )  # fmt: skip
        return {
            **row,
            "pred_beta": out["beta"], "pred_ccoords": out["ccoords"], "pred_dist": out["dist"],
            "pred_energy_corr": out["energy_corr"], "pred_pos": out["pos"],
            "pred_time": out["time"], "pred_class": out["pid_logits"].argmax(1).astype(np.int32),
            "pred_sid": showers.labels.astype(np.int32),
        }  # fmt: skip

    def output_columns(self, row: Row) -> tuple[Column, ...]:
        n_ccoords = np.asarray(row["pred_ccoords"]).shape[1]
        return (
            Column("pred_beta", "float32", (None,), "hit"),
            Column("pred_ccoords", "float32", (None, n_ccoords), "hit"),
            Column("pred_dist", "float32", (None,), "hit"),
            Column("pred_energy_corr", "float32", (None,), "hit"),
            Column("pred_pos", "float32", (None, 2), "hit"),
            Column("pred_time", "float32", (None,), "hit"),
            Column("pred_class", "int32", (None,), "hit"),
            Column("pred_sid", "int32", (None,), "hit"),
        )


def _float32(outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's outputs in float32 (they are bfloat16 under ``train.precision: bfloat16``):
    the condensation losses and the showers are computed in float32."""
    return {k: v.float() if v.is_floating_point() else v for k, v in outputs.items()}
