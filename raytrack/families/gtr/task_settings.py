"""The GTR task's settings: ``loss`` and ``runner`` (hyperparameters) and ``data.options``.

- ``loss``: biogtr's ``loss`` section (:class:`~raytrack.families.gtr.association_loss.AssociationLoss`);
- ``runner.metrics``: the MOT metrics each split computes (biogtr's ``runner.metrics``);
- ``data.options``: what is done to the stored clips at training time (``augmentations``, biogtr's
  ``dataset.train_dataset.augmentations``) and how tracks are matched to the truth
  (``iou_threshold`` for boxes, ``distance_threshold`` for points).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from raytrack.families.gtr.hparams import MOT_METRICS, MotMetricName


class LossSettings(BaseModel):
    """biogtr's ``loss`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    neg_unmatched: bool = False
    """Instances without a track id learn to associate with the background of every frame
    (false: they are left out of the loss)."""
    epsilon: Annotated[float, Field(gt=0)] = 1e-4
    """Added to the number of matched targets the loss is divided by."""
    asso_weight: Annotated[float, Field(gt=0)] = 1.0
    """The association loss's weight."""


class RunnerMetrics(BaseModel):
    """Which MOT metrics each split computes (``val``: every epoch; ``test``: ``raytrack evaluate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    val: list[MotMetricName] = Field(default_factory=lambda: list(MOT_METRICS))
    """Validation tracks every clip when this is not empty; the metrics not listed are reported as
    NaN (an empty list: no tracking in validation, only ``val_loss``)."""
    test: list[MotMetricName] = Field(default_factory=lambda: list(MOT_METRICS))
    """The MOT metrics in the ``mot`` evaluator's summary."""

    @model_validator(mode="before")
    @classmethod
    def _no_train_metrics(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("train"):
            raise ValueError(
                "runner.metrics.train: raytrack reports no tracking metrics on training clips "
                "(each epoch reports train_loss and the val_* metrics); move them to val"
            )
        if isinstance(data, dict) and "train" in data:
            data = {k: v for k, v in data.items() if k != "train"}
        return data


class RunnerSettings(BaseModel):
    """biogtr's ``runner`` section (its ``persistent_tracking`` is ``tracker.persistent_tracking``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: RunnerMetrics = Field(default_factory=RunnerMetrics)


class GTROptions(BaseModel):
    """``data.options`` of a GTR model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    augmentations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Training-clip augmentations: albumentations class names with their parameters, applied to
    every instance crop of a training clip, plus ``NodeDropout: {p, n}`` (up to ``n`` anchors of an
    instance lose their box and crop, each with probability ``p``) and ``InstanceDropout: {p,
    n}`` (up to ``n`` instances of a frame are dropped, each with probability ``p``). Validation
    and evaluation clips are never augmented."""
    iou_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Boxes (MOTChallenge stores): a track matches a true object at IoU >= this."""
    distance_threshold: Annotated[float, Field(gt=0)] = 5.0
    """Points (SLEAP, ISBI, simulated stores): a track matches a true object within this many
    pixels (the ISBI 2012 particle-tracking challenge's gate)."""

    @field_validator("augmentations")
    @classmethod
    def _known_augmentations(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from raytrack.families.gtr.augmentations import check_augmentations

        check_augmentations(value)
        return value
