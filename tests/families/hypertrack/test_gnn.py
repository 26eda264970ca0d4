"""The HyperTrack GNN edge predictor: SuperEdgeConv, shapes, symmetry, options, overfitting."""

from __future__ import annotations

import pytest
import torch

from raytrack.families.hypertrack.gnn import EDGE_TYPES, HyperTrackGNN, degree_contrast
from raytrack.families.hypertrack.losses import edge_bce_loss, edge_contrastive_loss, total_loss
from raytrack.families.hypertrack.measures import edge_auc
from raytrack.families.hypertrack.mlp import make_mlp
from raytrack.families.hypertrack.super_edge_conv import AGGREGATIONS, SuperEdgeConv

SMALL = {"nstack": 2, "h_dim": 16, "z_dim": 8, "m_dim": 16}


def _model(seed: int = 0, **kwargs) -> HyperTrackGNN:
    torch.manual_seed(seed)
    return HyperTrackGNN(**{**SMALL, **kwargs}).eval()


def _logits(model: HyperTrackGNN, event: dict) -> torch.Tensor:
    with torch.no_grad():
        return model(event["x"], event["edge_index"])["edge_logits"]


def test_message_is_the_mlp_of_the_documented_features():
    torch.manual_seed(0)
    conv = SuperEdgeConv(in_dim=2, m_dim=3, h_dim=4, edge_attr_dim=1).eval()
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    edge_attr = torch.tensor([[0.5]])
    x_i, x_j = x[1:2], x[0:1]  # the edge 0 -> 1
    # x_j - x_i = (-2, 3): norm sqrt(13); x_j ⊙ x_i = (3, -2): dot product 1
    feats = torch.tensor([[3.0, -1.0, -2.0, 3.0, 3.0, -2.0, 13.0**0.5, 1.0, 0.5]])
    with torch.no_grad():
        torch.testing.assert_close(conv.message(x_i, x_j, edge_attr), conv.nn(feats))
        out = conv(x, torch.tensor([[0], [1]]), edge_attr)
        # node 1 gets the one message, node 0 none (mean of nothing = 0); no residual (2 != 4)
        expected = conv.nn_final(torch.cat([x, torch.cat([torch.zeros(1, 3), conv.nn(feats)])], -1))
    torch.testing.assert_close(out, expected)


def test_degree_contrast_by_hand():
    edge_index = torch.tensor([[0, 0, 1], [1, 2, 0]])  # out-degrees 2, 1, 0; mean 1
    torch.testing.assert_close(
        degree_contrast(edge_index, 3, torch.float32), torch.tensor([1.0, 2.0, -1.0])
    )


@pytest.mark.parametrize("edge_type", EDGE_TYPES)
def test_shapes_and_symmetry(event, edge_type):
    model = _model(edge_type=edge_type)
    out = model(event["x"], event["edge_index"])
    n, e = event["x"].shape[0], event["edge_index"].shape[1]
    assert out["z"].shape == (n, 8) and out["edge_logits"].shape == (e,)
    with torch.no_grad():
        z = out["z"]
        ab = model.decode(z, event["edge_index"])
        ba = model.decode(z, event["edge_index"].flip(0))
    if edge_type == "asymmetric":
        assert not torch.allclose(ab, ba)
    else:
        torch.testing.assert_close(ab, ba)


def test_node_permutation_permutes_the_latents_and_keeps_the_edge_logits(event):
    model = _model()
    perm = torch.randperm(event["x"].shape[0], generator=torch.Generator().manual_seed(1))
    inv = torch.argsort(perm)
    with torch.no_grad():
        out = model(event["x"], event["edge_index"])
        out_p = model(event["x"][perm], inv[event["edge_index"]])
    torch.testing.assert_close(out_p["z"], out["z"][perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out_p["edge_logits"], out["edge_logits"], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "change",
    [{"edge_type": t} for t in EDGE_TYPES[1:]]
    + [{"aggr": a} for a in AGGREGATIONS[1:]]
    + [{"aggr": ["mean", "max"]}, {"use_residual": False}]
    + [{"MLP_GNN_edge": {"act": "relu"}}, {"MLP_GNN_latent": {"bn": False}}]
    + [{"MLP_fusion": {"last_act": False}}, {"MLP_correlate": {"act": "tanh"}}],
)
def test_every_option_changes_the_result(event, change):
    # training mode: batch norms use the batch's statistics (fresh running ones are identities)
    base = _logits(_model().train(), event)
    assert not torch.allclose(_logits(_model(**change).train(), event), base)


def test_dropout_acts_in_training_only(event):
    model = _model(MLP_GNN_edge={"dropout": 0.5})
    model.train()
    a = model(event["x"], event["edge_index"])["edge_logits"]
    b = model(event["x"], event["edge_index"])["edge_logits"]
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(_logits(model, event), _logits(model, event))


def test_mlp_structure_follows_last_act_and_bn():
    plain = make_mlp([3, 5, 2], act="tanh", bn=False, last_act=False)
    full = make_mlp([3, 5, 2], act="tanh", bn=True, last_act=True)
    assert isinstance(plain[-1], torch.nn.Linear)
    assert [type(m).__name__ for m in full[-1]] == ["Linear", "Tanh", "BatchNormLastDim"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"edge_type": "dot"}, "edge_type must be one of"),
        ({"aggr": "median"}, "aggr must be one of"),
        ({"aggr": ["mean"]}, "list of nstack=2"),
        ({"GNN_model": "GaugeEdgeConv"}, "GNN_model must be one of"),
        ({"nstack": 0}, "nstack must be at least 1"),
        ({"MLP_fusion": {"act": "gelu"}}, "MLP_fusion.act must be one of"),
        ({"MLP_correlate": {"width": 3}}, "MLP_correlate: unknown key"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HyperTrackGNN(**{**SMALL, **kwargs})


def test_a_tiny_model_overfits_a_tiny_graph(event, one_thread):
    torch.manual_seed(0)
    model = HyperTrackGNN(**SMALL)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    before = edge_auc(torch.sigmoid(_logits(model.eval(), event)), event["edge_label"])
    model.train()
    for _ in range(80):
        logits = model(event["x"], event["edge_index"])["edge_logits"]
        terms = {
            "edge_BCE": edge_bce_loss(logits, event["edge_label"]),
            "edge_contrastive": edge_contrastive_loss(
                logits, event["edge_index"], event["labels"], event["weight"]
            ),
        }
        opt.zero_grad()
        total_loss(terms).backward()
        opt.step()
    after = edge_auc(torch.sigmoid(_logits(model.eval(), event)), event["edge_label"])
    assert before < 0.8 and after > 0.98
