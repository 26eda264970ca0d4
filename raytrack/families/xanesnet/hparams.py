"""Hyperparameters that several XANESNET models, or a model and its task, take: declared once.

The registry passes a name that a builder and its task both take to both, and refuses a model
whose two signatures declare it differently, so each shared hyperparameter's type, bounds and
default live here. Names are the reference's (NewcastleRSE/XANESNET, the "Model Modes and
Hyperparameters" page and the per-model pages); see the family's README for the few homes that
differ (``batch_size``, ``lr`` and ``optim_fn`` are settings of the one training loop).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

Direction = Literal["xyz_to_xanes", "xanes_to_xyz"]
"""What the model predicts: a spectrum from a structure's descriptor (``xyz_to_xanes``, the
reference's ``train_xyz``) or a descriptor from a spectrum (``xanes_to_xyz``, ``train_xanes``)."""
DIRECTION_DEFAULT: Direction = "xyz_to_xanes"

NDescriptor = Annotated[int, Field(ge=1)]
"""Length of the stored descriptor vector (wACSF: ``1 + n_g2 + n_g4``); checked against the
store when training starts."""

NPoints = Annotated[int, Field(ge=2)]
"""Points of the stored spectra's energy grid; checked against the store when training starts."""

Activation = Literal["prelu", "relu", "tanh", "sigmoid", "elu", "leakyrelu", "selu"]
"""The reference's activation choices (``torch.nn`` PReLU, ReLU, Tanh, Sigmoid, ELU, LeakyReLU,
SELU); a fresh module per layer (a PReLU's slope is learnt per layer)."""

Initialiser = Literal[
    "xavier_uniform", "uniform", "normal", "xavier_normal", "kaiming_uniform", "zeros", "ones"
]
"""``torch.nn.init`` functions the reference offers for ``kernel_init`` and ``bias_init``."""

WeightInitSeed = Annotated[int, Field(ge=0)] | None
"""Seed of the weight initialisation; ``None``: the run's random state (``train.seed``)."""

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]

KFold = bool
"""Train ``n_splits`` fold models per trial (k-fold cross-validation, see :mod:`.kfold`)."""
NSplits = Annotated[int, Field(ge=2)]
NRepeats = Annotated[int, Field(ge=1)]

LossFn = Literal["mse", "bce", "emd", "cosine", "l1", "wcc"]
LossRegType = Literal["L1", "L2"] | None
LossRegParam = Annotated[float, Field(ge=0.0)]
LossArgs = Annotated[float, Field(gt=0.0)] | None
"""The loss's parameter: ``wcc``'s Gaussian half width at half maximum in grid points
(default 10), positive; the other losses take none and leave it unused (so a search may draw it
for every trial while it only matters to ``wcc`` ones)."""
