"""The reference's activation functions by name (its ``ActivationSwitch``)."""

from __future__ import annotations

from torch import nn

from raytrack.families.xanesnet.hparams import Activation

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "prelu": nn.PReLU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "leakyrelu": nn.LeakyReLU,
    "selu": nn.SELU,
}


def make_activation(name: Activation) -> nn.Module:
    """A new activation module (one per layer: a PReLU learns its own slope in each layer)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, but got activation={name!r}"
        ) from None
