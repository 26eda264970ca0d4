"""acorn's edge features for ``exatrkx_gnn2`` (``edge_channels``): values, and training on them."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.exatrkx.interaction_gnn2 import EDGE_FEATURES, InteractionGNN2, edge_features
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.registry import get_model
from tests.conftest import simulated_events

SMALL = {"hidden": 8, "n_graph_iters": 2, "n_node_net_layers": 2, "n_edge_net_layers": 2,
         "n_edge_decoder_layers": 2, "checkpointing": False}  # fmt: skip


def test_edge_features_by_hand():
    # hits as acorn scales them: r/1000, φ/π, z/1000
    position = torch.tensor([[0.1, 0.9, 0.05], [0.2, -0.9, 0.2], [0.2, 0.9, 0.0]])
    edges = torch.tensor([[0, 0, 2], [1, 2, 1]])
    got = edge_features(position, edges, len(EDGE_FEATURES))
    # 0 → 1 crosses φ = ±π: -0.9 - 0.9 = -1.8, wrapped to +0.2
    eta = [math.asinh(0.5), math.asinh(1.0), 0.0]
    expected = torch.tensor([
        [0.1, 0.2, 0.15, eta[1] - eta[0], 0.2 / 0.1, (0.1 + 0.2) / 2 * 2.0],
        [0.1, 0.0, -0.05, eta[2] - eta[0], 0.0, 0.0],
        # same r: dphi / dr = -1.8 (wrapped +0.2) / 0 → +inf → 100
        [0.0, 0.2, 0.2, eta[1] - eta[2], 100.0, 0.2 * 100.0],
    ])  # fmt: skip
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(edge_features(position, edges, 2), expected[:, :2])


def test_the_model_computes_its_edge_features_when_none_are_given():
    torch.manual_seed(0)
    model = InteractionGNN2(**SMALL, cell_channels=2, edge_channels=6).eval()
    x = torch.randn(30, 5)
    x[:, 2] = x[:, 2].abs() + 0.03  # r > 0
    edge_index = torch.randint(0, 30, (2, 90))
    given = edge_features(x[:, -3:], edge_index, 6)
    torch.testing.assert_close(
        model(x, edge_index)["edge_logits"], model(x, edge_index, given)["edge_logits"]
    )
    with pytest.raises(ValueError, match=r"needs an \(E, 6\) edge_attr, but got \(90, 4\)"):
        model(x, edge_index, given[:, :4])
    with pytest.raises(ValueError, match="needs spatial_channels=3"):
        InteractionGNN2(**SMALL, spatial_channels=2, edge_channels=6)


def test_the_registered_model_trains_on_edge_features_through_the_gnn_task():
    (event,) = simulated_events(1, seed=3, rfactor=0.01)
    torch.manual_seed(0)
    model, task = get_model("exatrkx_gnn2").build(
        {**SMALL, "edge_channels": 6, "edge_cut": 0.5, "weight": 2.0}, {}
    )
    task.options = TrackingDataOptions(pt_signal_cut=0.5)
    batch = task.collate([task.prepare(event.to_row())])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = task.training_step(model, batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    assert model.edge_encoder.block_sizes == (6,)  # the encoder reads the edge features
