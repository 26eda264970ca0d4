"""Multilayer perceptrons of the Exa.TrkX stages (embedding, filter, interaction GNN).

:func:`make_mlp` builds the reference's ``make_mlp``: ``Linear`` layers of the given sizes, each
hidden one followed by an optional normalisation and the hidden activation, the last one by an
optional output activation (normalised too when an output activation is given, as the
reference does).

:class:`SplitInputMLP` is the same network whose input is a concatenation of named blocks
``[a, b, c]``; its first ``Linear`` is split into one weight per block, so that message-passing
models can project node features *before* gathering them onto edges and never materialise the
concatenation (``W [x_i, x_j, e] = (x W_i)[i] + (x W_j)[j] + e W_e``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import nn

Activation = Literal["ReLU", "SiLU", "Tanh", "GELU", "LeakyReLU", "ELU", "Sigmoid", "Mish"]
"""Names of the ``torch.nn`` activations the Exa.TrkX models accept (the reference's names)."""

ACTIVATIONS: tuple[str, ...] = get_args(Activation)

# Activations that may overwrite their input in place: the input is not needed for backward.
_INPLACE = {"ReLU", "SiLU", "ELU", "LeakyReLU", "Mish"}


def activation(name: str, *, inplace: bool = False) -> nn.Module:
    """Instantiate the ``torch.nn`` activation ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r} (choices: {', '.join(ACTIVATIONS)})")
    cls = getattr(nn, name)
    return cls(inplace=True) if inplace and name in _INPLACE else cls()


def make_mlp(
    input_size: int,
    sizes: Sequence[int],
    hidden_activation: str = "ReLU",
    output_activation: str | None = "ReLU",
    layer_norm: bool = False,
    batch_norm: bool = False,
    *,
    inplace: bool = False,
) -> nn.Sequential:
    """The Exa.TrkX MLP: ``input_size → sizes[0] → … → sizes[-1]``.

    Each hidden ``Linear`` is followed by ``LayerNorm`` (``layer_norm``) or ``BatchNorm1d``
    (``batch_norm``) and ``hidden_activation``; the last by the normalisation and
    ``output_activation`` only when ``output_activation`` is not ``None``. ``inplace`` lets
    activations that allow it overwrite their input (they always follow a fresh tensor here).
    """
    if input_size < 1 or not sizes or any(s < 1 for s in sizes):
        raise ValueError(
            f"make_mlp needs a positive input size and at least one positive layer size, "
            f"but got input_size={input_size}, sizes={list(sizes)}"
        )
    if layer_norm and batch_norm:
        raise ValueError("make_mlp takes layer_norm or batch_norm, not both")
    dims = [input_size, *sizes]
    layers: list[nn.Module] = []
    for i in range(len(sizes)):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        last = i == len(sizes) - 1
        act = output_activation if last else hidden_activation
        if act is None:
            continue
        if layer_norm:
            layers.append(nn.LayerNorm(dims[i + 1]))
        elif batch_norm:
            layers.append(nn.BatchNorm1d(dims[i + 1]))
        layers.append(activation(act, inplace=inplace))
    return nn.Sequential(*layers)


class SplitInputMLP(nn.Module):
    """:func:`make_mlp` over the concatenation of input blocks, with the first layer split.

    ``block_sizes`` are the widths of the concatenated inputs. The first layer's output is
    built block by block: :meth:`project` gives one block's share ``x @ W_block.T`` (with the
    first bias when ``bias=True``; exactly one block must carry it), :meth:`accumulate` adds
    another block's share to it in one fused ``addmm``, and :meth:`finish` runs the rest of the
    network. Message-passing models project *node* blocks at node level and gather the results
    onto edges. The result equals ``make_mlp(sum(block_sizes), sizes, ...)(torch.cat(blocks,
    -1))`` with the same parameters (the first weight is one ``nn.Linear``, initialised alike).
    """

    def __init__(
        self,
        block_sizes: Sequence[int],
        sizes: Sequence[int],
        hidden_activation: str = "ReLU",
        output_activation: str | None = "ReLU",
        layer_norm: bool = False,
        batch_norm: bool = False,
        *,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        full = make_mlp(
            sum(int(s) for s in block_sizes),
            sizes,
            hidden_activation,
            output_activation,
            layer_norm,
            batch_norm,
            inplace=inplace,
        )
        self._split(block_sizes, full)

    @classmethod
    def from_mlp(cls, block_sizes: Sequence[int], mlp: nn.Sequential) -> SplitInputMLP:
        """Split an existing ``nn.Sequential`` whose first module is the ``Linear`` on the
        concatenation of ``block_sizes`` (its modules are kept, not copied)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._split(block_sizes, mlp)
        return self

    def _split(self, block_sizes: Sequence[int], full: nn.Sequential) -> None:
        self.block_sizes = tuple(int(s) for s in block_sizes)
        self._starts = tuple(sum(self.block_sizes[:i]) for i in range(len(self.block_sizes)))
        first = full[0]
        if not isinstance(first, nn.Linear) or first.in_features != sum(self.block_sizes):
            raise ValueError(
                f"SplitInputMLP needs a first Linear layer with {sum(self.block_sizes)} inputs "
                f"(the sum of block_sizes={list(self.block_sizes)}), but got {first}"
            )
        self.first: nn.Linear = first
        self.rest = nn.Sequential(*list(full)[1:])

    def _weight(self, block: int) -> torch.Tensor:
        start = self._starts[block]
        return self.first.weight[:, start : start + self.block_sizes[block]].t()

    def project(self, block: int, x: torch.Tensor, *, bias: bool = False) -> torch.Tensor:
        """``x @ W_block.T`` (``+ b`` when ``bias``): block ``block``'s share of the first layer."""
        if bias:
            return torch.addmm(self.first.bias, x, self._weight(block))
        return x @ self._weight(block)

    def accumulate(self, total: torch.Tensor, block: int, x: torch.Tensor) -> torch.Tensor:
        """``total + x @ W_block.T`` in one ``addmm`` (a new tensor)."""
        return torch.addmm(total, x, self._weight(block))

    def accumulate_(self, total: torch.Tensor, block: int, x: torch.Tensor) -> torch.Tensor:
        """:meth:`accumulate` in place in ``total`` (which backward must not need)."""
        return total.addmm_(x, self._weight(block))

    def finish(self, first_layer_output: torch.Tensor) -> torch.Tensor:
        """The network after the first ``Linear``, given its full output (bias included)."""
        return self.rest(first_layer_output)

    def forward(self, *blocks: torch.Tensor) -> torch.Tensor:
        """The plain MLP on ``torch.cat(blocks, -1)``, computed block by block."""
        total = self.project(0, blocks[0], bias=True)
        for i in range(1, len(blocks)):
            total = self.accumulate(total, i, blocks[i])
        return self.finish(total)
