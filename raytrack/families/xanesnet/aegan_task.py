"""How ``aegan_mlp`` trains: generators and discriminators, two optimizers in the one loop.

As the reference's ``AEGANLearn``, with domain ``a`` the descriptor and ``b`` the spectrum, per
item (``ℓ_g`` = ``loss_gen.loss_fn``, ``ℓ_d`` = ``loss_dis.loss_fn`` on the discriminators'
logits ``D``):

.. math::

    L_{gen} = \\ell_g(\\hat a^{rec}, a) + \\ell_g(\\hat b^{rec}, b) + \\ell_g(\\hat a^{pred}, a)
        + \\ell_g(\\hat b^{pred}, b) + \\lambda_g R(\\theta_G)

    L_{adv} = \\tfrac14 \\textstyle\\sum_{f \\in \\text{fakes}} \\ell_d(D(f), 1), \\qquad
    L_{dis} = \\tfrac12 [\\ell_d(D_a(a), 1) + \\ell_d(D_b(b), 1)]
        + \\tfrac14 \\textstyle\\sum_{f} \\ell_d(D(f), 0) + \\lambda_d R(\\theta_D)

over the four generated vectors (both reconstructions, both predictions). The terms
``generator`` and ``adversarial`` train the generator side (both generators and the shared
layers; optimizer ``generator``), ``discriminator`` trains the two discriminators (optimizer
``discriminator``): the loop steps both optimizers on every batch, each from its own terms'
gradients (``train.optimizers: {generator: {lr: ...}, discriminator: {lr: ...}}`` sets the
reference's ``lr_gen`` and ``lr_dis``, and ``name`` its ``optim_fn_gen``/``optim_fn_dis``).

Differences from the reference: its generator update leaves the adversarial term out (its
discriminators never influence the generators; ``train.stages`` with ``loss_weights:
{adversarial: 0}`` reproduces that); it divides each generator term by the batch maximum of its
target to balance the two domains, which the standardised descriptor makes unneeded here; and
its discriminators end in a sigmoid that its ``bce`` loss (with logits) applies again.
``loss_dis.loss_fn`` is ``bce`` (on logits), or ``mse``/``l1`` on ``sigmoid(D)`` (least-squares
GAN). Metrics: ``loss`` (= ``generator`` without the penalty), ``adversarial``,
``discriminator``, and ``mse``/``mae`` of the prediction in ``direction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import ConfigDict, validate_call
from torch import nn
from typing_extensions import TypedDict

from raytrack.families.xanesnet.fold_ensemble import FoldEnsemble
from raytrack.families.xanesnet.hparams import (
    DIRECTION_DEFAULT,
    Direction,
    KFold,
    LossArgs,
    LossFn,
    LossRegParam,
    LossRegType,
    NDescriptor,
    NPoints,
    NRepeats,
    NSplits,
)
from raytrack.families.xanesnet.losses import make_loss, regularisation
from raytrack.families.xanesnet.task import XanesTask


class GeneratorLoss(TypedDict, total=False):
    """``loss_gen``: the reference's loss settings of the generator side."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    loss_fn: LossFn
    loss_args: LossArgs
    loss_reg_type: LossRegType
    loss_reg_param: LossRegParam


class DiscriminatorLoss(TypedDict, total=False):
    """``loss_dis``: the discriminators' loss settings (a loss of logits takes no ``loss_args``)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    loss_fn: Literal["bce", "mse", "l1"]
    loss_args: None
    loss_reg_type: LossRegType
    loss_reg_param: LossRegParam


DEFAULTS: dict[str, Any] = {"loss_args": None, "loss_reg_type": None, "loss_reg_param": 0.001}


def discriminator_loss(logits: torch.Tensor, real: bool, loss_fn: str) -> torch.Tensor:
    """Per item: how far the discriminator's ``logits`` are from the label (1 real, 0 generated)."""
    label = torch.full_like(logits, 1.0 if real else 0.0)
    if loss_fn == "bce":
        return F.binary_cross_entropy_with_logits(logits, label, reduction="none")
    distance = torch.sigmoid(logits) - label
    return distance.pow(2) if loss_fn == "mse" else distance.abs()


class AEGANTask(XanesTask):
    """The task of ``aegan_mlp`` (see the module docstring).

    Args:
        n_descriptor, n_points, direction: as :class:`~.task.XanesTask`'s (``direction`` picks
            the prediction that ``mse``, ``mae``, ``infer`` and ``evaluate`` report).
        loss_gen: ``{loss_fn, loss_args, loss_reg_type, loss_reg_param}`` of the generators.
        loss_dis: ``{loss_fn, loss_reg_type, loss_reg_param}`` of the discriminators.
        kfold, n_splits, n_repeats, kfold_seed: k-fold cross-validation (:mod:`.kfold`).
    """

    metrics: ClassVar[tuple[str, ...]] = (
        "loss", "mse", "mae", "generator", "adversarial", "discriminator", "cv_loss", "cv_mse",
    )  # fmt: skip
    loss_terms: ClassVar[Mapping[str, str]] = {
        "generator": "generator", "adversarial": "generator", "discriminator": "discriminator",
    }  # fmt: skip
    loss_metric_terms: ClassVar[tuple[str, ...]] = ("generator",)

    @validate_call
    def __init__(
        self, *, n_descriptor: NDescriptor, n_points: NPoints,
        direction: Direction = DIRECTION_DEFAULT,
        loss_gen: GeneratorLoss = {"loss_fn": "mse"},  # noqa: B006 (validated, never mutated)
        loss_dis: DiscriminatorLoss = {"loss_fn": "bce"},  # noqa: B006
        kfold: KFold = False, n_splits: NSplits = 5, n_repeats: NRepeats = 1, kfold_seed: int = 0,
    ) -> None:  # fmt: skip
        self.configure(n_descriptor, n_points, direction, kfold, n_splits, n_repeats, kfold_seed)
        gen = {"loss_fn": "mse", **DEFAULTS, **loss_gen}
        dis = {"loss_fn": "bce", **DEFAULTS, **loss_dis}
        self.loss_fn, self.loss = gen["loss_fn"], make_loss(gen["loss_fn"], gen["loss_args"])
        self.loss_reg_type, self.loss_reg_param = gen["loss_reg_type"], gen["loss_reg_param"]
        self.dis_loss_fn = dis["loss_fn"]
        self.dis_reg_type, self.dis_reg_param = dis["loss_reg_type"], dis["loss_reg_param"]

    def parameter_groups(self, model: nn.Module) -> dict[str, list[nn.Parameter]]:
        net = getattr(model, "module", model)
        members = list(net.members) if isinstance(net, FoldEnsemble) else [net]

        def params(kind: str) -> list[nn.Parameter]:
            return [p for m in members for name in getattr(m, kind)
                    for p in getattr(m, name).parameters() if p.requires_grad]  # fmt: skip

        return {"generator": params("generator_modules"),
                "discriminator": params("discriminator_modules")}  # fmt: skip

    @property
    def trained_targets(self) -> tuple[str, ...]:
        return ("descriptor", "spectrum")  # each domain is reconstructed and predicted

    def forward(
        self, module: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        return module(descriptor=batch["descriptor"], spectrum=batch["spectrum"])

    def prediction_of(self, output: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return output[f"prediction_{self.target}"]

    def predict(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        output = model(**{self.source: batch[self.source]})
        return self.scaler.unscale(self.target, output[f"prediction_{self.target}"])

    def item_terms(self, module: nn.Module, output: Mapping[str, torch.Tensor],
                   batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # fmt: skip
        a, b = batch["descriptor"], batch["spectrum"]
        generator = (
            self.loss(output["reconstruction_descriptor"], a)
            + self.loss(output["reconstruction_spectrum"], b)
            + self.loss(output["prediction_descriptor"], a)
            + self.loss(output["prediction_spectrum"], b)
        )
        real = module.discriminate(a, b)
        fakes = [
            module.discriminate(output[f"{kind}_descriptor"], output[f"{kind}_spectrum"])
            for kind in ("reconstruction", "prediction")
        ]
        loss = lambda logits, is_real: discriminator_loss(logits, is_real, self.dis_loss_fn)
        fooled = [
            loss(fake[domain], True) for fake in fakes for domain in ("descriptor", "spectrum")
        ]
        caught = [
            loss(fake[domain], False) for fake in fakes for domain in ("descriptor", "spectrum")
        ]
        return {
            "generator": generator,
            "adversarial": 0.25 * sum(fooled),
            "discriminator": 0.5 * (loss(real["descriptor"], True) + loss(real["spectrum"], True))
            + 0.25 * sum(caught),
        }

    def penalised(
        self, terms: dict[str, torch.Tensor], modules: list[nn.Module]
    ) -> dict[str, torch.Tensor]:
        for term, kind, reg_type, weight in (
            ("generator", "generator_modules", self.loss_reg_type, self.loss_reg_param),
            ("discriminator", "discriminator_modules", self.dis_reg_type, self.dis_reg_param),
        ):
            parts = [getattr(m, name) for m in modules for name in getattr(m, kind)]
            penalty = regularisation(parts, reg_type)
            if penalty is not None:
                terms[term] = terms[term] + weight * penalty / len(modules)
        return terms
