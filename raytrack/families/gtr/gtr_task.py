"""How GTR trains: clips in, association loss out; validation tracks clips and scores them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from raytrack.families.gtr.association_loss import AssociationLoss
from raytrack.families.gtr.augmentations import Augmenter
from raytrack.families.gtr.clip import INSTANCE, Clip
from raytrack.families.gtr.hparams import MOT_METRICS, UseVisFeats
from raytrack.families.gtr.mot_metrics import MotCounts
from raytrack.families.gtr.scoring import score_sequence
from raytrack.families.gtr.task_settings import GTROptions, LossSettings, RunnerSettings
from raytrack.families.gtr.tracker import Tracker
from raytrack.families.gtr.tracker_settings import TrackerSettings
from raytrack.store.columns import Column
from raytrack.tasks.base import Row, Task, TaskContext


class GTRTask(Task):
    """Trains a :class:`~raytrack.families.gtr.global_tracking_transformer.GlobalTrackingTransformer`.

    A sample is one clip (:class:`~raytrack.families.gtr.clip.Clip`); a training clip (one of the
    split's training ids) is augmented with ``data.options.augmentations``. The training step
    runs the model on every instance of each clip (all of them queries, as in biogtr) and
    returns the :class:`~raytrack.families.gtr.association_loss.AssociationLoss`, averaged over
    the batch's clips. Validation sums each clip's loss and, when ``runner.metrics.val`` is not
    empty, tracks every clip with the :class:`~raytrack.families.gtr.tracker.Tracker` and sums
    its MOT counts; ``val_mota``, ``val_idf1``, ``val_num_switches``, ... are py-motmetrics'
    metrics over all validation clips (each clip one sequence).

    As a pipeline stage (``raytrack infer``) it writes each clip with its predicted track ids
    (``pred_track_id``; with ``return_embedding`` also ``pos_emb`` and ``temp_emb``).
    """

    metrics: ClassVar[tuple[str, ...]] = ("loss", *MOT_METRICS)
    Options: ClassVar[type[GTROptions]] = GTROptions
    options: GTROptions

    def __init__(
        self,
        *,
        use_vis_feats: UseVisFeats = True,
        loss: LossSettings = LossSettings(),  # noqa: B008 - frozen pydantic models
        tracker: TrackerSettings = TrackerSettings(),  # noqa: B008
        runner: RunnerSettings = RunnerSettings(),  # noqa: B008
    ) -> None:
        self.use_vis_feats = use_vis_feats
        self.loss_settings = LossSettings.model_validate(loss)
        self.tracker_settings = TrackerSettings.model_validate(tracker)
        self.runner = RunnerSettings.model_validate(runner)
        self.loss_fn = AssociationLoss(self.loss_settings)
        self.train_ids: frozenset[int] = frozenset()
        self._augmenter: Augmenter | None = None

    def setup(self, context: TaskContext) -> None:
        self.train_ids = frozenset(int(i) for i in context.splits.get("train", ()))
        if context.store_path is not None and self.use_vis_feats:
            from raytrack.store.sample_store import SampleStore

            store = SampleStore(context.store_path)
            if "crop" not in store.schema.names:
                raise ValueError(
                    f"use_vis_feats is true, but the store at {store.path} holds no image crops "
                    f"(source {store.source!r}): set model.hparams.use_vis_feats: false, or build "
                    "the store with crops"
                )

    def augmenter(self) -> Augmenter | None:
        if self._augmenter is None and self.options.augmentations:
            self._augmenter = Augmenter(self.options.augmentations)
        return self._augmenter

    def prepare(self, row: Row) -> Clip:
        clip = Clip.from_row(row, with_crops=self.use_vis_feats)
        augmenter = self.augmenter()
        if augmenter is not None and clip.clip_id in self.train_ids:
            clip = augmenter(clip)
        return clip

    def collate(self, samples: Sequence[Clip]) -> list[Clip]:
        return list(samples)

    def clip_loss(self, model: nn.Module, clip: Clip) -> torch.Tensor:
        """The association loss of one clip (every instance a query)."""
        crops = clip.crop_images() if self.use_vis_feats else None
        out = model(clip.normalized_boxes(), clip.times(), crops)
        return self.loss_fn(out["asso"], clip.frame, clip.track_id)

    def training_step(self, model: nn.Module, batch: list[Clip]) -> torch.Tensor:
        losses = [self.clip_loss(model, clip) for clip in batch if len(clip)]
        if not losses:  # no instance in any clip: a zero that still reaches every parameter
            return sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0
        return torch.stack(losses).mean()

    def validation_step(self, model: nn.Module, batch: list[Clip]) -> dict[str, torch.Tensor]:
        loss, clips, counts = 0.0, 0, MotCounts()
        tracking = bool(self.runner.metrics.val)
        for clip in batch:
            if len(clip):
                loss += float(self.clip_loss(model, clip).detach())
                clips += 1
            if tracking:
                ids = Tracker(self.tracker_settings).track(model, [clip])
                counts = counts + score_sequence(
                    [clip], ids, self.options.iou_threshold, self.options.distance_threshold
                )
        return {
            "loss_sum": torch.tensor(loss, dtype=torch.float64),
            "clips": torch.tensor(float(clips), dtype=torch.float64),
            "mot": counts.as_tensor(),
        }

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        clips = float(totals["clips"])
        out = {"loss": float(totals["loss_sum"]) / clips if clips else math.nan}
        values = MotCounts.from_tensor(totals["mot"]).metrics(MOT_METRICS)
        selected = set(self.runner.metrics.val)
        out.update({name: values[name] if name in selected else math.nan for name in MOT_METRICS})
        return out

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        clip = Clip.from_row(row, with_crops=self.use_vis_feats)
        order = np.argsort(np.asarray(row["frame"]), kind="stable")
        (ids,) = Tracker(self.tracker_settings).track(model, [clip])
        out = dict(row)
        out["pred_track_id"] = _unsorted(ids.astype(np.int32), order)
        if getattr(model, "return_embedding", False):
            moved = clip.to(device)
            with torch.no_grad():
                result = model(moved.normalized_boxes(), moved.times(),
                               moved.crop_images() if self.use_vis_feats else None)  # fmt: skip
            for name in ("pos_emb", "temp_emb"):
                out[name] = _unsorted(result[name].cpu().numpy().astype(np.float32), order)
        return out

    def output_columns(self, row: Row) -> list[Column]:
        columns = [Column("pred_track_id", "int32", (None,), INSTANCE)]
        for name in ("pos_emb", "temp_emb"):
            if name in row:
                columns.append(Column(name, "float32", (None, row[name].shape[1]), INSTANCE))
        return columns


def _unsorted(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``values`` given in frame order, put back in the row's order."""
    out = np.empty_like(values)
    out[order] = values
    return out
