"""XANESNET's ``aegan_mlp`` mode: two generators with shared layers and two discriminators.

The reference's ``models/aegan_mlp.py`` and ``scheme/aegan_learn.py`` (page
``model_aegan_mlp``): an autoencoding GAN learning both directions at once. Domain ``a`` is the
structure descriptor, domain ``b`` the spectrum. Each domain's generator encodes its input, the
shared encoder and decoder map the code, and either generator decodes it:

.. math::

    c_d = S_{dec}(S_{enc}(G_d^{enc}(x_d))), \\qquad
    \\hat x_a^{rec} = G_a^{dec}(c_a),\\; \\hat x_b^{rec} = G_b^{dec}(c_b),\\;
    \\hat x_b^{pred} = G_b^{dec}(c_a),\\; \\hat x_a^{pred} = G_a^{dec}(c_b)

and each domain's discriminator ``D_d`` scores an input as real or generated
(:mod:`.aegan_blocks`). Its task (:mod:`.aegan_task`) trains the generator side and the
discriminators with two optimizers.

Legend: ``B`` items; ``F`` descriptor features; ``P`` spectrum points.
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.xanesnet.aegan_blocks import Discriminator, Generator, SharedLayers
from raytrack.families.xanesnet.hparams import Activation


class AEGANMLP(nn.Module):
    """The ``aegan_mlp`` network (see the module docstring).

    Args:
        n_descriptor: descriptor features ``F``.
        n_points: spectrum points ``P``.
        hidden_size: units of every hidden layer.
        n_hl_gen: hidden layers of each generator's encoder and decoder.
        n_hl_shared: hidden layers of the shared encoder and of the shared decoder.
        n_hl_dis: hidden layers of each discriminator.
        dropout: dropout probability after each hidden activation.
        activation: activation of every hidden layer.

    Shapes:
        - input: ``descriptor`` ``(B, F)`` and/or ``spectrum`` ``(B, P)``
        - output: from a descriptor ``{"reconstruction_descriptor": (B, F),
          "prediction_spectrum": (B, P)}``, from a spectrum ``{"reconstruction_spectrum":
          (B, P), "prediction_descriptor": (B, F)}`` (both when both are given)
    """

    generator_modules = ("gen_a", "gen_b", "shared_encoder", "shared_decoder")
    discriminator_modules = ("dis_a", "dis_b")

    def __init__(self, n_descriptor: int, n_points: int, *, hidden_size: int, n_hl_gen: int,
                 n_hl_shared: int, n_hl_dis: int, dropout: float,
                 activation: Activation) -> None:  # fmt: skip
        super().__init__()
        self.gen_a = Generator(n_descriptor, hidden_size, n_hl_gen, activation, dropout)
        self.gen_b = Generator(n_points, hidden_size, n_hl_gen, activation, dropout)
        self.shared_encoder = SharedLayers(hidden_size, n_hl_shared, activation, dropout)
        self.shared_decoder = SharedLayers(hidden_size, n_hl_shared, activation, dropout)
        self.dis_a = Discriminator(n_descriptor, hidden_size, n_hl_dis, activation, dropout)
        self.dis_b = Discriminator(n_points, hidden_size, n_hl_dis, activation, dropout)

    def _code(self, generator: Generator, x: torch.Tensor) -> torch.Tensor:
        return self.shared_decoder(self.shared_encoder(generator.encode(x)))

    def forward(self, descriptor: torch.Tensor | None = None,
                spectrum: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
        out: dict[str, torch.Tensor] = {}
        if descriptor is not None:
            code = self._code(self.gen_a, descriptor)
            out["reconstruction_descriptor"] = self.gen_a.decode(code)
            out["prediction_spectrum"] = self.gen_b.decode(code)
        if spectrum is not None:
            code = self._code(self.gen_b, spectrum)
            out["reconstruction_spectrum"] = self.gen_b.decode(code)
            out["prediction_descriptor"] = self.gen_a.decode(code)
        if not out:
            raise ValueError("aegan_mlp needs a descriptor, a spectrum or both")
        return out

    def discriminate(
        self, descriptor: torch.Tensor, spectrum: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Real-or-generated logits of each domain's discriminator."""
        return {"descriptor": self.dis_a(descriptor), "spectrum": self.dis_b(spectrum)}
