"""The GravNet layer: message passing over neighbours found in a learned space.

S. R. Qasim, J. Kieseler, Y. Iiyama, M. Pierini, "Learning representations of irregular
particle-detector geometry with distance-weighted graph networks", Eur. Phys. J. C 79 (2019)
608, arXiv:1902.07987; as HGCalML's ``RaggedGravNet`` (``modules/GravNetLayersRagged.py``).

Each hit is placed in a learned space ``s = W_s x`` of ``n_dimensions`` coordinates (no bias;
initialised near the identity on the first inputs, so the space starts as the input's leading
features — the cluster coordinates in the HGCalML model); its ``n_neighbours`` nearest hits of
the same event in that space (:func:`~.knn.select_knn`) send their propagated features
``f = act(W_f x)`` weighted by ``exp(−10 d²)`` (:func:`~.message_passing.accumulate_knn`):

.. math::

    y_i = \\text{relu}\\big(W_o\\,[\\text{mean}_i - f_i,\\ \\text{max}_i - f_i,\\ x_i]\\big)

The gradient reaches the space through the distance weights. The layer also returns the
coordinates and, for the message passing that follows, the neighbour lists *with* the hit itself
and their squared distances (HGCalML's ``return_self``).

Shapes:
    - input ``x``: ``(N, F)``; ``row_splits``: ``(B + 1,)``
    - output: ``features`` ``(N, n_filters)``, ``coords`` ``(N, n_dimensions)``, ``idx`` and
      ``distsq`` ``(N, n_neighbours + 1)``
"""

from __future__ import annotations

import torch
from torch import nn

from raytrack.families.gravnet.architecture import Activation
from raytrack.families.gravnet.knn import KnnBackend, select_knn
from raytrack.families.gravnet.message_passing import (
    accumulate_knn,
    activation_module,
    keras_dense,
)


class GravNetLayer(nn.Module):
    """See the module documentation.

    Args:
        in_channels: features per hit entering the layer.
        n_neighbours: neighbours per hit (HGCalML's ``gravnet[i].n``); events need more hits.
        n_dimensions: coordinates of the learned space (``n_gravnet_space_coordinates``).
        n_filters: output features per hit.
        n_propagate: propagated (message) features per hit.
        feature_activation: activation of the propagated features (HGCalML's default relu).
        coord_initialiser_noise: standard deviation added to the identity start of ``W_s``.
        knn_backend: ``torch`` or ``faiss`` (:mod:`.knn`).
        name: how errors name ``n_neighbours`` (e.g. ``gravnet[1].n``).
    """

    def __init__(
        self, in_channels: int, *, n_neighbours: int, n_dimensions: int, n_filters: int = 64,
        n_propagate: int = 64, feature_activation: Activation = "relu",
        coord_initialiser_noise: float = 1e-2, knn_backend: KnnBackend = "torch",
        name: str = "n_neighbours",
    ) -> None:  # fmt: skip
        super().__init__()
        for what, value in (("in_channels", in_channels), ("n_neighbours", n_neighbours),
                            ("n_dimensions", n_dimensions), ("n_filters", n_filters),
                            ("n_propagate", n_propagate)):  # fmt: skip
            if value < 1:
                raise ValueError(f"{what} must be at least 1, but got {what}={value}")
        self.n_neighbours = n_neighbours
        self.knn_backend = knn_backend
        self.name = name
        self.input_spatial_transform = nn.Linear(in_channels, n_dimensions, bias=False)
        with torch.no_grad():
            weight = torch.randn(n_dimensions, in_channels) * coord_initialiser_noise
            diagonal = torch.arange(min(in_channels, n_dimensions))
            weight[diagonal, diagonal] += 1.0
            self.input_spatial_transform.weight.copy_(weight)
        self.input_feature_transform = keras_dense(in_channels, n_propagate)
        self.feature_activation = activation_module(feature_activation)
        self.output_feature_transform = keras_dense(2 * n_propagate + in_channels, n_filters)

    def forward(
        self, x: torch.Tensor, row_splits: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        coords = self.input_spatial_transform(x)
        idx, distsq = select_knn(
            coords, row_splits, self.n_neighbours, backend=self.knn_backend, what=self.name
        )
        f = self.feature_activation(self.input_feature_transform(x))
        messages = accumulate_knn(f, idx[:, 1:], distsq[:, 1:]) - f.repeat(1, 2)
        out = torch.relu(self.output_feature_transform(torch.cat([messages, x], dim=1)))
        return out, coords, idx, distsq
