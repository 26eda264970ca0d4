"""The multilayer perceptron of acorn (ATLAS GNN4ITk), as its ``InteractionGNN2`` builds it.

acorn's ``make_mlp`` (``acorn/utils/ml_utils.py``) differs from the Exa.TrkX one
(:func:`raytrack.families.exatrkx.mlp.make_mlp`) in its normalisations: ``LayerNorm`` without
affine parameters, ``BatchNorm1d`` with ``eps=6e-5`` and ``track_running_stats`` off by default
(batch statistics in training and evaluation alike), and the last layer normalised only when
asked separately (``output_batch_norm``) and only when it has an output activation.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from raytrack.families.exatrkx.mlp import activation

BATCH_NORM_EPS = 6e-5
"""acorn's ``BatchNorm1d`` epsilon."""


def acorn_mlp(
    input_size: int,
    sizes: Sequence[int],
    *,
    hidden_activation: str = "ReLU",
    output_activation: str | None = None,
    layer_norm: bool = False,
    batch_norm: bool = False,
    output_batch_norm: bool = False,
    track_running_stats: bool = False,
    inplace: bool = False,
) -> nn.Sequential:
    """``input_size → sizes[0] → … → sizes[-1]`` in acorn's layout.

    Hidden ``Linear`` layers are followed by ``LayerNorm(affine=False)`` (``layer_norm``),
    ``BatchNorm1d`` (``batch_norm``) and ``hidden_activation``; the last one, when
    ``output_activation`` is set, by ``BatchNorm1d`` (``output_batch_norm``) and the activation.
    ``inplace`` lets activations overwrite their input (always a fresh tensor here).
    """
    if input_size < 1 or not sizes or any(s < 1 for s in sizes):
        raise ValueError(
            f"acorn_mlp needs a positive input size and at least one positive layer size, "
            f"but got input_size={input_size}, sizes={list(sizes)}"
        )
    dims = [input_size, *sizes]
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if layer_norm:
            layers.append(nn.LayerNorm(dims[i + 1], elementwise_affine=False))
        if batch_norm:
            layers.append(_batch_norm(dims[i + 1], track_running_stats))
        layers.append(activation(hidden_activation, inplace=inplace))
    layers.append(nn.Linear(dims[-2], dims[-1]))
    if output_activation is not None:
        if output_batch_norm:
            layers.append(_batch_norm(dims[-1], track_running_stats))
        layers.append(activation(output_activation, inplace=inplace))
    return nn.Sequential(*layers)


def _batch_norm(width: int, track_running_stats: bool) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(width, eps=BATCH_NORM_EPS, track_running_stats=track_running_stats)
