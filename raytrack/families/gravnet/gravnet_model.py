"""The HGCalML ``config_trainer`` model: GravNet iterations with object-condensation outputs.

S. R. Qasim, N. Chernyavskaya, J. Kieseler, K. Long, O. Viazlo, M. Pierini, R. Nawaz,
"End-to-end multi-particle reconstruction in high occupancy imaging calorimeters with graph
neural networks", Eur. Phys. J. C 82 (2022) 753, arXiv:2204.01681; the network of HGCalML's
``Train/config_trainer.py`` (cms-pepr/HGCalML), with its hyperparameter names:

1. inputs: the 10 hit features (:data:`~.calo_event.FEATURE_NAMES`), normalised by two
   :class:`~.gooey_batchnorm.ScaledGooeyBatchNorm2`, one for hits and one for tracks (conditioned
   on ``isTrack``); cluster coordinates start as ``(x/10z, y/10z, r/100)`` (``XYZtoXYZPrime``),
   normalised, extended by a learned map to ``n_cluster_space_coordinates`` when that is above 3;
   features, coordinates and ``isTrack`` go through ``Dense(64)``;
2. for each entry ``{n: k}`` of ``gravnet``: the ``dense_pre_gravnet`` layers → batch norm →
   ``[coordinates, x]`` → :class:`~.gravnet_layer.GravNetLayer` (``k`` neighbours in a learned
   space of ``n_gravnet_space_coordinates``) → ``[space, x, gravnet features]`` → batch norm →
   the ``message_passing`` layers (:class:`~.message_passing.DistanceWeightedMessagePassing`,
   each followed by a batch norm) on the GravNet neighbours → the ``dense_post_message_passing``
   layers → batch norm;
3. the outputs of all iterations, concatenated → ``dense_final`` → batch norm →
   :class:`~.output_heads.CondensationHeads`.

(``config_trainer.py`` feeds ``dense_final`` the last iteration only, leaving the
concatenation it builds unused; here all iterations are concatenated, as the issue asks.) Every
dense layer follows ``DenseOptions``, every batch norm ``BatchNormOptions``
(:mod:`.architecture`). :meth:`GravNetOC.regularization` is the dense kernels' regulariser.

Shapes:
    - input ``features``: ``(N, 10)``; ``row_splits``: ``(B + 1,)`` (events concatenated)
    - output: the heads' dict (:mod:`.output_heads`)
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.gravnet.architecture import (
    BatchNormOptions,
    DenseOptions,
    GravNetEntry,
    GravNetList,
    LayerEntry,
    LayerList,
)
from raytrack.families.gravnet.calo_event import FEATURE_NAMES, IS_TRACK, X, Z
from raytrack.families.gravnet.dense_stack import DenseStack
from raytrack.families.gravnet.gooey_batchnorm import ScaledGooeyBatchNorm2
from raytrack.families.gravnet.gravnet_layer import GravNetLayer
from raytrack.families.gravnet.knn import KnnBackend
from raytrack.families.gravnet.message_passing import DistanceWeightedMessagePassing
from raytrack.families.gravnet.output_heads import CondensationHeads, eye_dense

EMBEDDING_WIDTH = 64
"""Width of the dense layer after the inputs (``config_trainer.py``'s ``dense_pre_loop``)."""

SpaceCoordinates = Annotated[int, Field(ge=1, le=64)]


def _widths(*widths: int) -> tuple[LayerEntry, ...]:
    return tuple(LayerEntry(n=n) for n in widths)


# Defaults: the ``gravnet`` list of HGCalML's models/config_trainer/config.yaml and the layer
# lists of its Train/configuration/test_config.yaml (the Architecture section).
DEFAULT_GRAVNET = (GravNetEntry(n=32), GravNetEntry(n=128), GravNetEntry(n=64))
DEFAULT_MESSAGE_PASSING = _widths(64, 64, 32, 32, 16, 16)
DEFAULT_DENSE_LAYERS = _widths(64, 64, 64)
DEFAULT_DENSE_OPTIONS = DenseOptions()
DEFAULT_BATCHNORM_OPTIONS = BatchNormOptions()


def prime_coordinates(xyz: torch.Tensor) -> torch.Tensor:
    """HGCalML's ``XYZtoXYZPrime``: ``(x / 10z, y / 10z, r / 100)``."""
    x, y, z = xyz[:, 0:1], xyz[:, 1:2], xyz[:, 2:3]
    r = torch.sqrt(xyz.pow(2).sum(dim=1, keepdim=True) + 1e-2)
    safe_z = torch.where(z == 0, torch.ones_like(z), 10.0 * z)
    return torch.cat([x / safe_z, y / safe_z, r / 100.0], dim=1)


class _Iteration(nn.Module):
    """One entry of the ``gravnet`` list (step 2 of the module documentation)."""

    def __init__(
        self, index: int, in_channels: int, n_coords: int, entry: GravNetEntry,
        message_passing: LayerList,
        dense_pre: LayerList, dense_post: LayerList, n_space: int, dense: DenseOptions,
        norm: BatchNormOptions, knn_backend: KnnBackend,
    ) -> None:  # fmt: skip
        super().__init__()
        bn = norm.model_dump()
        self.dense_pre = DenseStack(in_channels, dense_pre, dense)
        self.norm_pre = ScaledGooeyBatchNorm2(self.dense_pre.out_channels, **bn)
        width = n_coords + self.dense_pre.out_channels
        self.gravnet = GravNetLayer(
            width, n_neighbours=entry.n, n_dimensions=n_space, n_filters=entry.n_filters,
            n_propagate=entry.n_propagate, knn_backend=knn_backend, name=f"gravnet[{index}].n",
        )  # fmt: skip
        width = n_space + width + entry.n_filters
        self.norm_gravnet = ScaledGooeyBatchNorm2(width, **bn)
        self.message_passing = nn.ModuleList()
        self.norm_message_passing = nn.ModuleList()
        for layer in message_passing:
            mp = DistanceWeightedMessagePassing(width, layer.n, dense.activation)
            self.message_passing.append(mp)
            width = mp.out_channels
            self.norm_message_passing.append(ScaledGooeyBatchNorm2(width, **bn))
        self.dense_post = DenseStack(width, dense_post, dense)
        self.norm_post = ScaledGooeyBatchNorm2(self.dense_post.out_channels, **bn)
        self.out_channels = self.dense_post.out_channels

    def forward(
        self, x: torch.Tensor, coords: torch.Tensor, row_splits: torch.Tensor
    ) -> torch.Tensor:
        x = self.norm_pre(self.dense_pre(x))
        x = torch.cat([coords, x], dim=1)
        gn_features, gn_coords, idx, distsq = self.gravnet(x, row_splits)
        x = self.norm_gravnet(torch.cat([gn_coords, x, gn_features], dim=1))
        for mp, norm in zip(self.message_passing, self.norm_message_passing):
            x = norm(mp(x, idx, distsq))
        return self.norm_post(self.dense_post(x))


class GravNetOC(nn.Module):
    """The HGCalML model (see the module documentation).

    Args (HGCalML's ``Architecture``, ``DenseOptions`` and ``BatchNormOptions`` keys):
        gravnet: one ``{n: neighbours}`` per GravNet iteration (optionally ``n_filters``,
            ``n_propagate``; default 64 as in ``config_trainer.py``).
        message_passing: widths of the message-passing layers of every iteration.
        dense_pre_gravnet: dense widths before each GravNet layer.
        dense_post_message_passing: dense widths after each iteration's message passing.
        dense_final: dense widths after the iterations, before the outputs.
        n_cluster_space_coordinates: dimensions of the clustering space.
        n_gravnet_space_coordinates: dimensions of each GravNet layer's learned space.
        DenseOptions: activation, kernel regulariser and rate, dropout of every dense layer.
        BatchNormOptions: options of every ScaledGooeyBatchNorm2.
        fix_distance_scale: a constant distance scale of 1 (``create_outputs``'s default), else
            a learned one in (0, 2).
        knn_backend: exact kNN with ``torch`` or ``faiss`` (:mod:`.knn`).
    """

    @validate_call
    def __init__(
        self,
        *,
        gravnet: GravNetList = DEFAULT_GRAVNET,
        message_passing: LayerList = DEFAULT_MESSAGE_PASSING,
        dense_pre_gravnet: LayerList = DEFAULT_DENSE_LAYERS,
        dense_post_message_passing: LayerList = DEFAULT_DENSE_LAYERS,
        dense_final: LayerList = DEFAULT_DENSE_LAYERS,
        n_cluster_space_coordinates: SpaceCoordinates = 3,
        n_gravnet_space_coordinates: SpaceCoordinates = 3,
        DenseOptions: DenseOptions = DEFAULT_DENSE_OPTIONS,  # HGCalML's section names
        BatchNormOptions: BatchNormOptions = DEFAULT_BATCHNORM_OPTIONS,
        fix_distance_scale: bool = True,
        knn_backend: KnnBackend = "torch",
    ) -> None:
        super().__init__()
        dense, bn = DenseOptions, BatchNormOptions.model_dump()
        n_features, n_coords = len(FEATURE_NAMES), n_cluster_space_coordinates
        self.norm_hits = ScaledGooeyBatchNorm2(n_features, invert_condition=True, **bn)
        self.norm_tracks = ScaledGooeyBatchNorm2(n_features, **bn)
        self.norm_coords = ScaledGooeyBatchNorm2(3, **bn)
        self.extend_coords = (
            eye_dense(3 + n_features, n_coords - 3, stddev=0.001) if n_coords > 3 else None
        )
        self.embedding = DenseStack(n_features + n_coords + 1, [EMBEDDING_WIDTH], dense)
        self.iterations = nn.ModuleList()
        width = EMBEDDING_WIDTH
        for index, entry in enumerate(gravnet):
            iteration = _Iteration(
                index, width, n_coords, entry, list(message_passing), list(dense_pre_gravnet),
                list(dense_post_message_passing), n_gravnet_space_coordinates, dense,
                BatchNormOptions, knn_backend,
            )  # fmt: skip
            self.iterations.append(iteration)
            width = iteration.out_channels
        concatenated = sum(iteration.out_channels for iteration in self.iterations)
        self.dense_final = DenseStack(concatenated, list(dense_final), dense)
        self.norm_final = ScaledGooeyBatchNorm2(self.dense_final.out_channels, **bn)
        self.heads = CondensationHeads(self.dense_final.out_channels, n_coords, fix_distance_scale)

    def forward(self, features: torch.Tensor, row_splits: torch.Tensor) -> dict[str, torch.Tensor]:
        is_track = features[:, IS_TRACK : IS_TRACK + 1]
        x = self.norm_tracks(self.norm_hits(features, is_track), is_track)
        coords = self.norm_coords(prime_coordinates(features[:, X : Z + 1]))
        if self.extend_coords is not None:
            coords = torch.cat([coords, self.extend_coords(torch.cat([coords, x], dim=1))], 1)
        x = self.embedding(torch.cat([x, coords, is_track], dim=1))
        outputs = []
        for iteration in self.iterations:
            x = iteration(x, coords, row_splits)
            outputs.append(x)
        x = self.norm_final(self.dense_final(torch.cat(outputs, dim=1)))
        return self.heads(x)

    def regularization(self) -> torch.Tensor | None:
        """The dense kernels' regulariser (``DenseOptions``), or ``None`` without one."""
        terms = [m.regularization() for m in self.modules() if isinstance(m, DenseStack)]
        terms = [t for t in terms if t is not None]
        return sum(terms) if terms else None
