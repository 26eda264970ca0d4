"""The sections of HGCalML's ``config_trainer`` experiment file that shape the model.

HGCalML's ``Train/config_trainer.py`` reads a YAML file with an ``Architecture`` section (the
``gravnet`` list, the ``message_passing`` list, the ``dense_*`` lists and the numbers of space
coordinates), a ``DenseOptions`` and a ``BatchNormOptions`` section. In raytrack the
architecture keys are the model's hyperparameters under their own names, and the two option
sections are hyperparameters holding a section each::

    model:
      name: gravnet_oc
      hparams:
        gravnet: [{n: 32}, {n: 128}, {n: 64}]
        message_passing: [{n: 64}, {n: 32}]
        dense_pre_gravnet: [{n: 64}]
        DenseOptions: {activation: elu, kernel_regularizer: l2, kernel_regularizer_rate: 0.001}
        BatchNormOptions: {max_viscosity: 0.5}

Every section forbids unknown keys, so a misspelt option is an error naming it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Activation = Literal[
    "elu", "relu", "tanh", "selu", "gelu", "sigmoid", "softplus", "swish", "linear"
]
"""Keras activation names of ``DenseOptions.activation``."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerEntry(_Section):
    """One dense or message-passing layer of a list (``{n: 64}``): its width."""

    n: int = Field(ge=1, le=4096)


class GravNetEntry(_Section):
    """One iteration of the GravNet loop (``{n: 32}``).

    ``n`` is the number of neighbours of the GravNet layer's kNN (HGCalML's ``n_neighbours``);
    ``n_filters`` and ``n_propagate`` are its output and message widths, fixed to 64 in
    ``config_trainer.py`` and settable here per iteration.
    """

    n: int = Field(ge=1, le=1024)
    n_filters: int = Field(64, ge=1, le=4096)
    n_propagate: int = Field(64, ge=1, le=4096)


GravNetList = Annotated[list[GravNetEntry], Field(min_length=1)]
"""The ``gravnet`` list: one entry per GravNet iteration (at least one)."""

LayerList = list[LayerEntry]
"""A list of layer widths (``message_passing``, ``dense_*``); may be empty."""


class DenseOptions(_Section):
    """Options of every dense layer of the network (HGCalML's ``DenseOptions``).

    ``kernel_regularizer`` adds ``rate·Σw²`` (``l2``) or ``rate·Σ|w|`` (``l1``) of every dense
    kernel to the loss, as a Keras kernel regulariser does (the ``regularizer`` loss term);
    ``none`` with a nonzero rate is an error rather than a silently ignored rate. ``dropout`` is
    the rate of the dropout after each dense layer.
    """

    activation: Activation = "elu"
    kernel_regularizer: Literal["l2", "l1", "none"] = "l2"
    kernel_regularizer_rate: float = Field(0.001, ge=0.0, le=1.0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _rate_needs_regulariser(self) -> DenseOptions:
        if self.kernel_regularizer == "none" and self.kernel_regularizer_rate > 0:
            raise ValueError(
                f"kernel_regularizer_rate={self.kernel_regularizer_rate} needs kernel_regularizer "
                "l2 or l1 (it is 'none'); set the rate to 0 or choose a regulariser"
            )
        return self


class BatchNormOptions(_Section):
    """Options of every ``ScaledGooeyBatchNorm2`` (HGCalML's ``BatchNormOptions``).

    The running statistics follow ``old + (1 − viscosity)·(new − old)`` each training step, and
    the viscosity rises as ``v + (max_viscosity − v)·fluidity_decay`` (see
    :class:`~raytrack.families.gravnet.gooey_batchnorm.ScaledGooeyBatchNorm2`).
    """

    viscosity: float = Field(0.01, ge=0.0, le=1.0)
    fluidity_decay: float = Field(1e-4, ge=0.0, le=1.0)
    max_viscosity: float = Field(0.99, ge=0.0, le=1.0)
    no_gaus: bool = True
    epsilon: float = Field(1e-2, gt=0.0)

    @model_validator(mode="after")
    def _viscosity_rises(self) -> BatchNormOptions:
        if self.max_viscosity < self.viscosity:
            raise ValueError(
                f"max_viscosity must be at least viscosity (it only rises), but got "
                f"viscosity={self.viscosity}, max_viscosity={self.max_viscosity}"
            )
        return self
