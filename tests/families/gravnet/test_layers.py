"""The layers of the HGCalML model: gooey batch norm, kNN, GravNet, message passing, the model."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from raytrack.families.gravnet.architecture import DenseOptions
from raytrack.families.gravnet.dense_stack import DenseStack
from raytrack.families.gravnet.examples import HPARAMS, example_rows
from raytrack.families.gravnet.gooey_batchnorm import ScaledGooeyBatchNorm2
from raytrack.families.gravnet.gravnet_layer import GravNetLayer
from raytrack.families.gravnet.gravnet_model import GravNetOC
from raytrack.families.gravnet.knn import select_knn
from raytrack.families.gravnet.message_passing import (
    DistanceWeightedMessagePassing,
    accumulate_knn,
)
from raytrack.families.gravnet.task import GravNetTask

MODEL_HPARAMS = {k: v for k, v in HPARAMS.items() if k not in ("too_much_beta_scale",
                                                             "use_average_cc_pos")}  # fmt: skip


def test_gooey_batchnorm_follows_its_update_rule():
    norm = ScaledGooeyBatchNorm2(2, viscosity=0.2, fluidity_decay=0.5, max_viscosity=0.9)
    x = torch.tensor([[1.0, 10.0], [3.0, 14.0]])
    out = norm(x)
    # mean ← 0 + (1 − 0.2)(batch mean); den ← 1 + 0.8(mean |x − old mean| − 1); the means
    # divide by the row count + epsilon, as the reference's
    count = 2 + 1e-2
    torch.testing.assert_close(norm.mean, 0.8 * torch.tensor([4.0, 24.0]) / count)
    torch.testing.assert_close(norm.den, 1 + 0.8 * (torch.tensor([4.0, 24.0]) / count - 1))
    assert float(norm.viscosity) == pytest.approx(0.2 + (0.9 - 0.2) * 0.5)
    torch.testing.assert_close(out, (x - norm.mean) / (norm.den + 1e-2))
    for _ in range(30):
        norm(x)
    assert float(norm.viscosity) == pytest.approx(0.9, abs=1e-6)  # rises to max_viscosity
    frozen = norm.mean.clone()
    norm.eval()
    norm(x * 5)
    torch.testing.assert_close(norm.mean, frozen)


def test_gooey_batchnorm_conditioning_separates_hits_and_tracks():
    tracks = ScaledGooeyBatchNorm2(1, viscosity=0.0)
    hits = ScaledGooeyBatchNorm2(1, viscosity=0.0, invert_condition=True)
    x = torch.tensor([[100.0], [1.0], [3.0]])
    is_track = torch.tensor([1.0, 0.0, 0.0])
    out = tracks(hits(x, is_track), is_track)
    assert float(hits.mean) == pytest.approx(4.0 / (2 + 1e-2))  # hits only (masked mean)
    assert float(tracks.mean) == pytest.approx(100.0 / (1 + 1e-2))
    out = out.detach()
    hit_mean, hit_den = float(hits.mean), float(hits.den)
    expected = (torch.tensor([1.0, 3.0]) - hit_mean) / (hit_den + 1e-2)
    torch.testing.assert_close(out[1:, 0], expected)  # hits by the hits' statistics
    assert float(out[0]) == pytest.approx((100.0 - float(tracks.mean)) / (float(tracks.den) + 1e-2))


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_knn_finds_the_nearest_hits_of_the_same_event(backend):
    generator = torch.Generator().manual_seed(0)
    coords = torch.randn(30, 3, generator=generator)
    coords[5] = coords[4]  # a duplicate must not displace the hit itself
    splits = torch.tensor([0, 12, 30])
    idx, distsq = select_knn(coords, splits, 4, backend=backend)
    assert idx.shape == (30, 5)
    assert (idx[:, 0] == torch.arange(30)).all() and (distsq[:, 0] == 0).all()
    assert ((idx[:12] < 12).all()) and ((idx[12:] >= 12).all())
    for i in range(30):
        start, stop = (0, 12) if i < 12 else (12, 30)
        d = ((coords[start:stop] - coords[i]) ** 2).sum(1)
        d[i - start] = float("inf")
        expected = set((torch.argsort(d)[:4] + start).tolist())
        assert set(idx[i, 1:].tolist()) == expected or torch.isclose(
            torch.sort(d)[0][3], torch.sort(d)[0][4]
        )  # ties may pick either
    torch.testing.assert_close(distsq, ((coords[idx] - coords[:, None]) ** 2).sum(-1))


def test_knn_needs_more_hits_than_neighbours_and_names_the_key():
    with pytest.raises(ValueError, match=r"gravnet\[1\]\.n = 8: .* an event of this batch has 6"):
        select_knn(torch.randn(16, 2), torch.tensor([0, 10, 16]), 8, what="gravnet[1].n")


def test_accumulation_is_distance_weighted_mean_and_max():
    features = torch.tensor([[1.0], [2.0], [4.0]])
    idx = torch.tensor([[0, 1, 2]])
    distsq = torch.tensor([[0.0, 0.1, 0.05]])
    weights = [1.0, math.exp(-1.0), math.exp(-0.5)]
    out = accumulate_knn(features, idx, distsq)
    values = [w * f for w, f in zip(weights, [1.0, 2.0, 4.0])]
    torch.testing.assert_close(out, torch.tensor([[sum(values) / 3, max(values)]]))


def test_message_passing_concatenates_relative_messages_and_input():
    layer = DistanceWeightedMessagePassing(3, 5)
    x = torch.randn(7, 3)
    idx, distsq = select_knn(x, torch.tensor([0, 7]), 3)
    assert layer(x, idx, distsq).shape == (7, 3 + 10)


def test_gravnet_events_are_independent_and_the_space_learns():
    torch.manual_seed(0)
    layer = GravNetLayer(6, n_neighbours=3, n_dimensions=2, n_filters=4, n_propagate=5)
    a, b = torch.randn(8, 6), torch.randn(9, 6)
    alone = layer(a, torch.tensor([0, 8]))[0]
    together = layer(torch.cat([a, b]), torch.tensor([0, 8, 17]))[0]
    torch.testing.assert_close(together[:8], alone)
    permutation = torch.randperm(8)
    torch.testing.assert_close(layer(a[permutation], torch.tensor([0, 8]))[0], alone[permutation])
    together.sum().backward()
    assert layer.input_spatial_transform.weight.grad.abs().sum() > 0


def test_the_model_outputs_and_its_regulariser():
    model = GravNetOC(**MODEL_HPARAMS)
    task = GravNetTask()
    batch = task.collate([task.prepare(row) for row in example_rows()[:2]])
    out = model(batch["features"], batch["row_splits"])
    n = len(batch["features"])
    assert out["beta"].shape == (n,) and out["ccoords"].shape == (n, 4)
    assert out["pos"].shape == (n, 2) and out["pid_logits"].shape == (n, 6)
    assert ((out["beta"] > 0) & (out["beta"] < 1)).all() and (
        (out["dist"] > 0) & (out["dist"] < 2)
    ).all()
    kernels = [m.weight for s in model.modules() if isinstance(s, DenseStack) for m in s.layers]
    expected = 0.001 * sum(w.pow(2).sum().item() for w in kernels)
    assert float(model.regularization().detach()) == pytest.approx(expected, rel=1e-5)
    plain = GravNetOC(**{**MODEL_HPARAMS, "DenseOptions": {"kernel_regularizer_rate": 0.0}})
    assert plain.regularization() is None
    l1 = GravNetOC(**{**MODEL_HPARAMS, "DenseOptions": {"kernel_regularizer": "l1"}})
    kernels = [m.weight for s in l1.modules() if isinstance(s, DenseStack) for m in s.layers]
    expected = 0.001 * sum(w.abs().sum().item() for w in kernels)
    assert float(l1.regularization().detach()) == pytest.approx(expected, rel=1e-5)


def test_bad_architectures_name_their_keys():
    with pytest.raises(ValidationError, match="gravnet"):
        GravNetOC(gravnet=[])
    with pytest.raises(
        ValidationError, match="kernel_regularizer_rate=0.01 needs kernel_regularizer"
    ):
        DenseOptions(kernel_regularizer="none", kernel_regularizer_rate=0.01)
    with pytest.raises(ValidationError, match="max_viscosity must be at least viscosity"):
        GravNetOC(BatchNormOptions={"viscosity": 0.5, "max_viscosity": 0.1})
    with pytest.raises(ValidationError, match="dropuot"):
        GravNetOC(DenseOptions={"dropuot": 0.1})
