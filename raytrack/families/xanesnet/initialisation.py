"""Weight initialisation by name: the reference's ``kernel_init``, ``bias_init`` and
``weight_init_seed`` (its ``KernelInitSwitch``, ``BiasInitSwitch`` and ``init_model_weights``).

Every linear, convolution and transposed-convolution layer gets ``kernel_init`` on its weight
and ``bias_init`` on its bias, as in the reference (whose bias choices are only zeros and ones;
here a fan-based initialiser draws a bias from the distribution it gives the layer's weights,
the fans of a bias being its layer's); the LSTM's input and recurrent weight
matrices and biases get them too (the reference leaves them at torch's default). Normalisation
layers and PReLU slopes keep torch's defaults. The draws come from a generator seeded with
``weight_init_seed``, so the same seed gives the same weights whatever else the run draws;
without a seed they come from the run's random state (``train.seed``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from raytrack.families.xanesnet.hparams import Initialiser

INITIALISERS: dict[str, Callable[..., torch.Tensor]] = {
    "xavier_uniform": nn.init.xavier_uniform_,
    "uniform": nn.init.uniform_,
    "normal": nn.init.normal_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": nn.init.kaiming_uniform_,
    "zeros": nn.init.zeros_,
    "ones": nn.init.ones_,
}
_NEED_MATRIX = {"xavier_uniform", "xavier_normal", "kaiming_uniform"}
"""Fan-based initialisers: defined for tensors of 2 or more dimensions only."""


def _apply(
    name: str, tensor: torch.Tensor, generator: torch.Generator | None, what: str,
    weight: torch.Tensor | None = None,
) -> None:  # fmt: skip
    if name not in INITIALISERS:
        raise ValueError(f"{what} must be one of {sorted(INITIALISERS)}, but got {what}={name!r}")
    if name in _NEED_MATRIX and tensor.dim() < 2:  # a bias: draw as its layer's weights
        drawn = torch.empty_like(weight)
        _apply(name, drawn, generator, what)
        tensor.copy_(drawn.reshape(-1)[: tensor.numel()].view_as(tensor))
        return
    function = INITIALISERS[name]
    if name in ("zeros", "ones"):
        function(tensor)
    else:
        function(tensor, generator=generator)


@torch.no_grad()
def initialise(model: nn.Module, kernel_init: Initialiser, bias_init: Initialiser,
               weight_init_seed: int | None) -> nn.Module:  # fmt: skip
    """Initialise ``model``'s layers in place (see the module docstring); returns ``model``."""
    generator = None
    if weight_init_seed is not None:
        generator = torch.Generator().manual_seed(int(weight_init_seed))
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
            _apply(kernel_init, module.weight, generator, "kernel_init")
            if module.bias is not None:
                _apply(bias_init, module.bias, generator, "bias_init", module.weight)
        elif isinstance(module, nn.LSTM):
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    _apply(kernel_init, param, generator, "kernel_init")
                else:  # bias_ih_l0 → weight_ih_l0
                    weight = getattr(module, name.replace("bias", "weight", 1))
                    _apply(bias_init, param, generator, "bias_init", weight)
    return model
