"""The HyperTrack multilayer perceptron and its option block (``act``, ``bn``, ``dropout``, ``last_act``).

Every MLP of the model (``MLP_GNN_edge``, ``MLP_GNN_latent``, ``MLP_fusion``, ``MLP_correlate``,
``MLP_enc``, ``MLP_mask`` and the attention blocks' feed-forward nets) is one
:func:`make_mlp` over a list of layer widths. Each hidden layer is ``Linear → act → BatchNorm
(bn) → Dropout``; the last layer is a plain ``Linear`` unless ``last_act``, in which case it is a
hidden-style block too (the reference's ``hypertrack/dmlp.py`` ordering: activation before the
normalisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}
"""The ``act`` choices (the reference's names)."""

MLP_KEYS = ("act", "bn", "dropout", "last_act")


class BatchNormLastDim(nn.BatchNorm1d):
    """``BatchNorm1d`` over the last dimension of a tensor of any rank (``[N, C]`` or
    ``[B, N, C]``), so the same MLP serves node tensors and padded set batches."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return super().forward(x)
        shape = x.shape
        return super().forward(x.reshape(-1, shape[-1])).reshape(shape)


def mlp_options(options: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """Check an MLP option block (``{act, bn, dropout, last_act}``) and fill its defaults.

    Raises ``ValueError`` naming the block (``name``) for an unknown key or value.
    """
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(MLP_KEYS))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown}; allowed: {list(MLP_KEYS)}")
    out = {"act": "silu", "bn": False, "dropout": 0.0, "last_act": False, **opts}
    if out["act"] not in ACTIVATIONS:
        raise ValueError(
            f"{name}.act must be one of {sorted(ACTIVATIONS)}, but got act={out['act']!r}"
        )
    if not 0.0 <= float(out["dropout"]) < 1.0:
        raise ValueError(f"{name}.dropout must be in [0, 1), but got dropout={out['dropout']}")
    return out


def make_mlp(
    layers: Sequence[int],
    act: str = "silu",
    bn: bool = False,
    dropout: float = 0.0,
    last_act: bool = False,
) -> nn.Sequential:
    """An MLP over the widths ``layers`` (``[in, hidden..., out]``, at least two entries)."""
    if len(layers) < 2 or any(int(w) < 1 for w in layers):
        raise ValueError(
            f"make_mlp needs at least two positive widths [in, ..., out], but got {list(layers)}"
        )
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, but got act={act!r}")
    blocks: list[nn.Module] = []
    n = len(layers) - 1
    for i in range(n):
        linear = nn.Linear(int(layers[i]), int(layers[i + 1]))
        if i == n - 1 and not last_act:
            blocks.append(linear)
            break
        block = [linear, ACTIVATIONS[act]()]
        if bn:
            block.append(BatchNormLastDim(int(layers[i + 1])))
        if dropout > 0:
            block.append(nn.Dropout(dropout))
        blocks.append(nn.Sequential(*block))
    return nn.Sequential(*blocks)
