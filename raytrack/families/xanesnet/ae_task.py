"""How the autoencoder modes (``ae_mlp``, ``ae_cnn``) train: reconstruction + prediction.

As the reference's ``AELearn``: the network reconstructs its input and predicts the output from
the same code, and the loss is the sum of the two, each the per-item ``loss_fn`` averaged over
the batch:

.. math::

    L = \\overline{\\ell(\\hat y, y)} + \\lambda R(\\theta) + \\overline{\\ell(\\hat x, x)}

Two loss terms of one optimizer: ``prediction`` (with the ``loss_reg_type`` penalty ``λ R``)
and ``reconstruction``, which ``train.stages`` may weight (``loss_weights: {prediction: 0}``
pretrains the autoencoder alone). Validation adds the ``prediction`` and ``reconstruction``
metrics; ``loss`` is their sum, ``mse``/``mae`` are the prediction's.

Legend: ``B`` items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from raytrack.families.xanesnet.task import XanesTask


class AutoencoderTask(XanesTask):
    """The task of ``ae_mlp`` and ``ae_cnn`` (arguments as :class:`~.task.XanesTask`'s)."""

    metrics: ClassVar[tuple[str, ...]] = (
        "loss", "mse", "mae", "prediction", "reconstruction", "cv_loss", "cv_mse",
    )  # fmt: skip
    loss_terms: ClassVar[Mapping[str, str]] = {"prediction": "model", "reconstruction": "model"}
    loss_metric_terms: ClassVar[tuple[str, ...]] = ("prediction", "reconstruction")

    def item_terms(self, module: nn.Module, output: Mapping[str, torch.Tensor],
                   batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # fmt: skip
        return {
            "prediction": self.loss(output["prediction"], batch[self.target]),
            "reconstruction": self.loss(output["reconstruction"], batch[self.source]),
        }
