"""The builders of the six XANESNET modes: hyperparameters in, an initialised network out.

Each builder's keyword arguments are its mode's hyperparameters (the registry reads them), named
as on the reference's pages; it orients the network by ``direction`` (input and output sizes
from ``n_descriptor`` and ``n_points``), initialises its weights (``kernel_init``,
``bias_init``, ``weight_init_seed``: :mod:`.initialisation`) and, under ``kfold``, builds one
member per fold (:class:`~.fold_ensemble.FoldEnsemble`; member ``m`` is seeded with
``weight_init_seed + m``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import Field, validate_call
from torch import nn

from raytrack.families.xanesnet.ae_cnn import AECNN
from raytrack.families.xanesnet.ae_mlp import AEMLP
from raytrack.families.xanesnet.aegan_mlp import AEGANMLP
from raytrack.families.xanesnet.bilstm import BiLSTM
from raytrack.families.xanesnet.cnn import CNN
from raytrack.families.xanesnet.fold_ensemble import FoldEnsemble
from raytrack.families.xanesnet.hparams import (
    DIRECTION_DEFAULT,
    Activation,
    Direction,
    Dropout,
    Initialiser,
    KFold,
    NDescriptor,
    NPoints,
    NRepeats,
    NSplits,
    WeightInitSeed,
)  # fmt: skip
from raytrack.families.xanesnet.initialisation import initialise
from raytrack.families.xanesnet.mlp import MLP

Units = Annotated[int, Field(ge=1)]
Layers = Annotated[int, Field(ge=1)]
ShrinkRate = Annotated[float, Field(gt=0.0, le=1.0)]


def sizes(direction: Direction, n_descriptor: int, n_points: int) -> tuple[int, int]:
    """``(input, output)`` features of a network predicting in ``direction``."""
    return (n_descriptor, n_points) if direction == "xyz_to_xanes" else (n_points, n_descriptor)


def _built(make: Callable[[], nn.Module], kernel_init: str, bias_init: str,
           weight_init_seed: int | None, kfold: bool, n_splits: int, n_repeats: int) -> nn.Module:  # fmt: skip
    if not kfold:
        return initialise(make(), kernel_init, bias_init, weight_init_seed)
    members = [
        initialise(
            make(),
            kernel_init,
            bias_init,
            None if weight_init_seed is None else weight_init_seed + m,
        )  # fmt: skip
        for m in range(n_splits * n_repeats)
    ]
    return FoldEnsemble(members, n_splits)


@validate_call
def build_mlp(
    *, n_descriptor: NDescriptor, n_points: NPoints, direction: Direction = DIRECTION_DEFAULT,
    hidden_size: Units = 512, num_hidden_layers: Layers = 5, shrink_rate: ShrinkRate = 0.5,
    dropout: Dropout = 0.2, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``mlp`` mode (:class:`~.mlp.MLP`)."""
    i, o = sizes(direction, n_descriptor, n_points)
    make = lambda: MLP(i, o, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                       shrink_rate=shrink_rate, dropout=dropout, activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)


@validate_call
def build_ae_mlp(
    *, n_descriptor: NDescriptor, n_points: NPoints, direction: Direction = DIRECTION_DEFAULT,
    hidden_size: Units = 512, num_hidden_layers: Layers = 5, shrink_rate: ShrinkRate = 0.5,
    dropout: Dropout = 0.2, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``ae_mlp`` mode (:class:`~.ae_mlp.AEMLP`)."""
    i, o = sizes(direction, n_descriptor, n_points)
    make = lambda: AEMLP(i, o, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                         shrink_rate=shrink_rate, dropout=dropout, activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)


@validate_call
def build_cnn(
    *, n_descriptor: NDescriptor, n_points: NPoints, direction: Direction = DIRECTION_DEFAULT,
    hidden_size: Units = 64, out_channel: Units = 32, channel_mul: Units = 2,
    num_conv_layers: Layers = 3, kernel_size: Units = 3, stride: Units = 1,
    dropout: Dropout = 0.2, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``cnn`` mode (:class:`~.cnn.CNN`)."""
    i, o = sizes(direction, n_descriptor, n_points)
    make = lambda: CNN(i, o, hidden_size=hidden_size, out_channel=out_channel,
                       channel_mul=channel_mul, num_conv_layers=num_conv_layers,
                       kernel_size=kernel_size, stride=stride, dropout=dropout,
                       activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)


@validate_call
def build_ae_cnn(
    *, n_descriptor: NDescriptor, n_points: NPoints, direction: Direction = DIRECTION_DEFAULT,
    hidden_size: Units = 64, out_channel: Units = 32, channel_mul: Units = 2,
    num_conv_layers: Layers = 3, kernel_size: Units = 3, stride: Units = 1,
    dropout: Dropout = 0.2, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``ae_cnn`` mode (:class:`~.ae_cnn.AECNN`)."""
    i, o = sizes(direction, n_descriptor, n_points)
    make = lambda: AECNN(i, o, hidden_size=hidden_size, out_channel=out_channel,
                         channel_mul=channel_mul, num_conv_layers=num_conv_layers,
                         kernel_size=kernel_size, stride=stride, dropout=dropout,
                         activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)


@validate_call
def build_lstm(
    *, n_descriptor: NDescriptor, n_points: NPoints, direction: Direction = DIRECTION_DEFAULT,
    hidden_size: Units = 100, hidden_out_size: Units = 50, num_layers: Layers = 1,
    dropout: Dropout = 0.2, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``lstm`` mode (:class:`~.bilstm.BiLSTM`)."""
    i, o = sizes(direction, n_descriptor, n_points)
    make = lambda: BiLSTM(i, o, hidden_size=hidden_size, hidden_out_size=hidden_out_size,
                          num_layers=num_layers, dropout=dropout, activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)


@validate_call
def build_aegan_mlp(
    *, n_descriptor: NDescriptor, n_points: NPoints,
    hidden_size: Units = 256, n_hl_gen: Layers = 2, n_hl_shared: Layers = 2, n_hl_dis: Layers = 2,
    dropout: Dropout = 0.0, activation: Activation = "prelu",
    kernel_init: Initialiser = "xavier_uniform", bias_init: Initialiser = "zeros",
    weight_init_seed: WeightInitSeed = None,
    kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1,
) -> nn.Module:  # fmt: skip
    """The ``aegan_mlp`` mode (:class:`~.aegan_mlp.AEGANMLP`); it learns both directions (the
    task's ``direction`` says which one it reports, infers and evaluates)."""
    make = lambda: AEGANMLP(n_descriptor, n_points, hidden_size=hidden_size, n_hl_gen=n_hl_gen,
                            n_hl_shared=n_hl_shared, n_hl_dis=n_hl_dis, dropout=dropout,
                            activation=activation)  # fmt: skip
    return _built(make, kernel_init, bias_init, weight_init_seed, kfold, n_splits, n_repeats)
