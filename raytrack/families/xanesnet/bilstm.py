"""XANESNET's ``lstm`` mode: a bidirectional LSTM read along the input vector, then a dense head.

The reference's ``models/lstm.py`` (page ``model_lstm``): ``num_layers`` bidirectional LSTM
layers (S. Hochreiter and J. Schmidhuber, Neural Comput. 9 (1997) 1735) of ``hidden_size``
units, then ``Linear(hidden_out_size) → activation → Dropout → Linear(O)``. Here the input
vector is read as a sequence of ``I`` steps of one value each (a spectrum energy by energy, a
descriptor feature by feature), and the head reads the last layer's final state in both
directions:

.. math::

    \\hat y = W_2\\, \\mathrm{dropout}(\\sigma(W_1 [\\overrightarrow{h}_I; \\overleftarrow{h}_1]))

The reference passes the ``(B, I)`` batch to ``nn.LSTM(batch_first=True)`` as it is, which
torch reads as one unbatched sequence of ``B`` steps: its prediction for one item depends on
the other items of the batch. This model keeps items independent.

Legend: ``B`` items; ``I``/``O`` input/output features; ``H = hidden_size``.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.activation import make_activation
from raytrack.families.xanesnet.hparams import Activation


class BiLSTM(nn.Module):
    """The ``lstm`` network (see the module docstring).

    Args:
        in_features: input features (the sequence length).
        out_features: output features.
        hidden_size: units of each LSTM direction.
        hidden_out_size: units of the head's hidden layer.
        num_layers: stacked LSTM layers.
        dropout: dropout probability in the head.
        activation: activation of the head's hidden layer.

    Shapes:
        - input: ``(B, I)``
        - output: ``{"prediction": (B, O)}``
    """

    def __init__(self, in_features: int, out_features: int, *, hidden_size: int,
                 hidden_out_size: int, num_layers: int, dropout: float,
                 activation: Activation) -> None:  # fmt: skip
        super().__init__()
        self.lstm = nn.LSTM(
            input_size=1, hidden_size=hidden_size, num_layers=num_layers, bidirectional=True,
            batch_first=True,
        )  # fmt: skip
        self.dense_layers = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_out_size),
            make_activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden_out_size, out_features),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # oneDNN has no bfloat16 LSTM: under CPU autocast the LSTM runs in float32
            with torch.autocast("cpu", enabled=False):
                _, (h_n, _) = self.lstm(x.float().unsqueeze(-1))
        else:  # h_n: (2 * num_layers, B, H)
            _, (h_n, _) = self.lstm(x.unsqueeze(-1))
        final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # last layer: forward, backward
        return {"prediction": self.dense_layers(final)}
