"""How the XANESNET modes train: the task of ``mlp``, ``cnn`` and ``lstm``, and the base of the others.

A row of an ``xyz_xanes`` store (:mod:`.source`) becomes ``{"id", "descriptor", "spectrum"}``
(scaled per ``data.options``, :mod:`.scaling`); the network reads the source vector of its
``direction`` and predicts the other. The training loss is the mean over the batch of the
per-item loss ``loss_fn`` (:mod:`.losses`) between prediction and target, plus
``loss_reg_param`` times the ``loss_reg_type`` penalty of the network's parameters. Under
``kfold`` each fold member trains on its own items (:mod:`.kfold`).

Validation metrics (``val_<name>``): ``loss`` (the training loss without the penalty), ``mse``
and ``mae`` of the prediction in the stored units (per feature: per energy point for spectra),
and the cross-validated ``cv_loss`` and ``cv_mse``. The statistics are sums (additive over
batches and workers).

Legend: ``B`` items; ``F`` descriptor features; ``P`` spectrum points; ``M`` fold members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import validate_call
from torch import nn

from raytrack.families.xanesnet.hparams import (
    DIRECTION_DEFAULT,
    Direction,
    KFold,
    LossArgs,
    LossFn,
    LossRegParam,
    LossRegType,
    NDescriptor,
    NPoints,
    NRepeats,
    NSplits,
)
from raytrack.families.xanesnet.kfold import FoldAssignment, held_out_statistics
from raytrack.families.xanesnet.losses import make_loss, regularisation
from raytrack.families.xanesnet.scaling import KINDS, Standardiser, XanesOptions
from raytrack.families.xanesnet.store_check import check_store
from raytrack.store.columns import Column
from raytrack.tasks.base import Row, Task, TaskContext, move_to


class XanesTask(Task):
    """Trains a network of one XANESNET mode from descriptor to spectrum or back.

    Args:
        n_descriptor, n_points: the store's descriptor length and grid points (checked).
        direction: ``xyz_to_xanes`` or ``xanes_to_xyz``.
        loss_fn, loss_args: the loss and its parameter (:mod:`.losses`).
        loss_reg_type, loss_reg_param: the parameter penalty and its weight.
        kfold, n_splits, n_repeats, kfold_seed: k-fold cross-validation (:mod:`.kfold`).
    """

    metrics: ClassVar[tuple[str, ...]] = ("loss", "mse", "mae", "cv_loss", "cv_mse")
    Options = XanesOptions
    loss_terms: ClassVar[Mapping[str, str]] = {"loss": "model"}

    @validate_call
    def __init__(
        self, *, n_descriptor: NDescriptor, n_points: NPoints,
        direction: Direction = DIRECTION_DEFAULT, loss_fn: LossFn = "mse",
        loss_args: LossArgs = None, loss_reg_type: LossRegType = None,
        loss_reg_param: LossRegParam = 0.001, kfold: KFold = False, n_splits: NSplits = 5,
        n_repeats: NRepeats = 1, kfold_seed: int = 0,
    ) -> None:  # fmt: skip
        self.configure(n_descriptor, n_points, direction, kfold, n_splits, n_repeats, kfold_seed)
        self.loss_fn = loss_fn
        self.loss = make_loss(loss_fn, loss_args)
        self.loss_reg_type, self.loss_reg_param = loss_reg_type, loss_reg_param

    def configure(self, n_descriptor: int, n_points: int, direction: str, kfold: bool,
                  n_splits: int, n_repeats: int, kfold_seed: int) -> None:  # fmt: skip
        """What every XANESNET task shares (called by each ``__init__``)."""
        self.n_descriptor, self.n_points, self.direction = n_descriptor, n_points, direction
        self.source, self.target = KINDS if direction == "xyz_to_xanes" else KINDS[::-1]
        self.out_features = n_points if self.target == "spectrum" else n_descriptor
        self.kfold, self.n_splits, self.n_repeats, self.kfold_seed = (
            kfold,
            n_splits,
            n_repeats,
            kfold_seed,
        )
        self.folds: FoldAssignment | None = None
        self.scaler = Standardiser()
        self.data_state: dict[str, Any] = {}
        self._cv_due = True

    # -- setup and state ----------------------------------------------------------------------

    def setup(self, context: TaskContext) -> None:
        """Check the store against the sizes, fit the scaling on the training split, deal the folds."""
        from raytrack.store.sample_store import SampleStore

        train = [int(i) for i in context.splits.get("train", ())]
        if context.store_path is None:
            if self.kfold:
                raise ValueError("kfold needs the trial's sample store to judge the folds")
            return
        store = SampleStore(context.store_path)
        self.data_state = check_store(store, self.n_descriptor, self.n_points)
        self.data_state["train_ids"] = train
        opts = self.options
        kinds = [kind for kind, on in zip(KINDS, (opts.standardise_descriptor,
                                                  opts.standardise_spectrum)) if on]  # fmt: skip
        self.scaler = Standardiser(kinds)
        if kinds:
            self.scaler.fit(store.iter_rows(ids=train, columns=kinds))
        self.check_targets(store, train)
        if self.kfold:
            if context.world_size > 1:
                raise ValueError(
                    "kfold trains its fold members in one process: set train.workers: 1 "
                    f"(got {context.world_size} workers)"
                )
            self.folds = FoldAssignment(train, self.n_splits, self.n_repeats, self.kfold_seed)

    @property
    def trained_targets(self) -> tuple[str, ...]:
        """The kinds of vector the loss compares with a target."""
        return (self.target,)

    def check_targets(self, store: Any, train: Sequence[int]) -> None:
        """``bce`` reads targets as probabilities: they must lie in [0, 1]."""
        if self.loss_fn != "bce":
            return
        for kind in self.trained_targets:
            if kind in self.scaler.kinds:
                raise ValueError(
                    f"loss_fn: bce needs targets in [0, 1], but data.options.standardise_{kind} "
                    f"scales the {kind} to zero mean; turn it off or choose another loss_fn"
                )
            values = [np.asarray(r[kind]) for r in store.iter_rows(ids=train, columns=[kind])]
            low, high = float(np.min(values)), float(np.max(values))
            if low < 0 or high > 1:
                raise ValueError(
                    f"loss_fn: bce needs targets in [0, 1], but the training {kind}s span "
                    f"{low:g}..{high:g}; normalise the spectra (normalise: max) or choose another "
                    "loss_fn"
                )

    def state_dict(self) -> dict[str, Any]:
        return {"scaler": self.scaler.state_dict(), "data": dict(self.data_state)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.data_state = dict(state.get("data", {}))

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        self._cv_due = True

    # -- rows and batches -----------------------------------------------------------------------

    def prepare(self, row: Row) -> dict[str, Any]:
        missing = [c for c in ("sample_id", *KINDS) if c not in row]
        if missing:
            raise ValueError(
                f"a XANESNET model reads rows of xyz_xanes stores, but this row has no {missing} "
                f"(its columns: {sorted(row)})"
            )
        sample = {"id": int(row["sample_id"])}
        for kind, size, name in (("descriptor", self.n_descriptor, "n_descriptor"),
                                 ("spectrum", self.n_points, "n_points")):  # fmt: skip
            value = np.asarray(row[kind], dtype=np.float64)
            if value.shape != (size,):
                raise ValueError(
                    f"sample {sample['id']} has a {kind} of shape {value.shape}, but the model's "
                    f"{name} is {size}: set model.hparams.{name}: {value.shape[0]}"
                )
            sample[kind] = self.scaler.scale(kind, value)
        return sample

    def collate(self, samples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        return {
            "id": torch.tensor([s["id"] for s in samples], dtype=torch.int64),
            **{kind: torch.from_numpy(np.stack([s[kind] for s in samples])) for kind in KINDS},
        }

    # -- the network ----------------------------------------------------------------------------

    def forward(
        self, module: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        return module(batch[self.source])

    def item_terms(self, module: nn.Module, output: Mapping[str, torch.Tensor],
                   batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # fmt: skip
        """Each loss term per item, ``(B,)``, in the order of :attr:`loss_terms`."""
        return {"loss": self.loss(output["prediction"], batch[self.target])}

    def penalised(
        self, terms: dict[str, torch.Tensor], modules: list[nn.Module]
    ) -> dict[str, torch.Tensor]:
        """``terms`` with the mean penalty of ``modules`` added to the first term."""
        penalty = regularisation(modules, self.loss_reg_type)
        if penalty is not None:
            first = next(iter(terms))
            terms[first] = terms[first] + self.loss_reg_param * penalty / len(modules)
        return terms

    def predict(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The prediction of ``batch`` in the stored units, ``(B, out_features)``."""
        return self.scaler.unscale(self.target, self.forward(model, batch)["prediction"])

    # -- training and validation ----------------------------------------------------------------

    def training_step(
        self, model: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        if not self.kfold:
            terms = self.item_terms(model, self.forward(model, batch), batch)
            return self.penalised({k: v.mean() for k, v in terms.items()}, [model])
        if self.folds is None:
            raise ValueError("kfold: the task was not set up (Task.setup deals the folds)")
        members = list(getattr(model, "module", model).members)
        totals: dict[str, torch.Tensor] = {}
        for m, member in enumerate(members):
            own = ~self.folds.fold_of(batch["id"], m)
            if not own.any():
                continue
            part = {key: value[own] for key, value in batch.items()}
            for key, value in self.item_terms(member, self.forward(member, part), part).items():
                totals[key] = totals[key] + value.mean() if key in totals else value.mean()
        return self.penalised({k: v / len(members) for k, v in totals.items()}, members)

    def statistics(
        self, module: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Additive statistics of ``batch``: counts, loss-term sums, squared and absolute errors."""
        output = self.forward(module, batch)
        terms = self.item_terms(module, output, batch)
        prediction = self.scaler.unscale(self.target, self.prediction_of(output)).double()
        truth = self.scaler.unscale(self.target, batch[self.target]).double()
        error = prediction - truth
        stats = {
            "count": torch.tensor(float(len(truth)), dtype=torch.float64),
            "points": torch.tensor(float(truth.numel()), dtype=torch.float64),
            "se": error.pow(2).sum(),
            "ae": error.abs().sum(),
        }
        stats.update({f"{name}_sum": value.double().sum() for name, value in terms.items()})
        return stats

    def prediction_of(self, output: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return output["prediction"]

    def validation_step(
        self, model: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        stats = self.statistics(model, batch)
        if self.kfold:
            stats.update(self.cv_statistics(model))
        return stats

    def cv_statistics(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Each member's loss and squared-error sums on its own fold, once per epoch (zeros after)."""
        members = list(getattr(model, "module", model).members)
        if not self._cv_due:
            return held_out_statistics(self, members, None)
        if self.folds is None or "store" not in self.data_state:
            raise ValueError("kfold: the task was not set up (Task.setup deals the folds)")
        self._cv_due = False
        return held_out_statistics(self, members, self.data_state["store"])

    loss_metric_terms: ClassVar[tuple[str, ...]] = ("loss",)
    """The loss terms whose sum is the ``loss`` metric."""

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        count, points = float(totals["count"]), float(totals["points"])
        metrics = {
            "loss": sum(float(totals[f"{t}_sum"]) for t in self.loss_metric_terms) / count,
            "mse": float(totals["se"]) / points,
            "mae": float(totals["ae"]) / points,
        }
        for term in self.loss_terms:
            if term in self.metrics:
                metrics[term] = float(totals[f"{term}_sum"]) / count
        if self.kfold:
            metrics["cv_loss"] = float((totals["cv_loss"] / totals["cv_count"]).mean())
            metrics["cv_mse"] = float((totals["cv_se"] / totals["cv_points"]).mean())
        else:
            metrics["cv_loss"], metrics["cv_mse"] = metrics["loss"], metrics["mse"]
        return {name: metrics[name] for name in self.metrics}

    # -- pipeline stage -------------------------------------------------------------------------

    @property
    def output_column(self) -> str:
        return f"predicted_{self.target}"

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The row with the model's prediction added as ``predicted_<spectrum|descriptor>``."""
        batch = move_to(self.collate([self.prepare(row)]), device)
        with torch.no_grad():
            prediction = self.predict(model, batch)[0].cpu().numpy().astype(np.float32)
        return {**row, self.output_column: prediction}

    def output_columns(self, row: Row) -> list[Column]:
        return [Column(self.output_column, "float32", (self.out_features,))]
