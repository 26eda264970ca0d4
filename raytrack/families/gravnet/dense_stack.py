"""A stack of Keras-style dense layers with HGCalML's ``DenseOptions``.

Each entry ``{n: width}`` of a ``dense_*`` list is ``Dense(n, activation)`` followed by
``Dropout(dropout)``, as ``config_trainer.py`` builds them; an empty list passes its input on.
The stack's kernel regulariser (``l2``: ``rate·Σw²``, ``l1``: ``rate·Σ|w|`` over its kernels, not
biases) is returned by :meth:`DenseStack.regularization` and added to the loss by the task, as
Keras adds ``kernel_regularizer`` losses.

Shapes:
    - input: ``(N, in_channels)``
    - output: ``(N, out_channels)`` (``out_channels`` = the last width, or ``in_channels``)
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gravnet.architecture import DenseOptions, LayerEntry
from raytrack.families.gravnet.message_passing import activation_module, keras_dense


class DenseStack(nn.Module):
    """Dense → activation → dropout for each width of ``layers`` (module documentation)."""

    def __init__(
        self, in_channels: int, layers: list[LayerEntry] | list[int], options: DenseOptions
    ) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be at least 1, but got {in_channels}")
        widths = [entry.n if isinstance(entry, LayerEntry) else int(entry) for entry in layers]
        self.options = options
        self.layers = nn.ModuleList()
        modules: list[nn.Module] = []
        width = in_channels
        for n in widths:
            dense = keras_dense(width, n)
            self.layers.append(dense)
            modules += [dense, activation_module(options.activation)]
            if options.dropout > 0:
                modules.append(nn.Dropout(options.dropout))
            width = n
        self.net = nn.Sequential(*modules)
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def regularization(self) -> torch.Tensor | None:
        """The kernel regulariser's loss of this stack (``None`` without one or without layers)."""
        rate = self.options.kernel_regularizer_rate
        if self.options.kernel_regularizer == "none" or rate == 0 or not len(self.layers):
            return None
        if self.options.kernel_regularizer == "l2":
            return rate * sum(layer.weight.pow(2).sum() for layer in self.layers)
        return rate * sum(layer.weight.abs().sum() for layer in self.layers)
