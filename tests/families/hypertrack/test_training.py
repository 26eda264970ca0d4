"""One event's training losses (both stages) and the additive validation statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from raytrack.families.hypertrack.losses import edge_bce_loss, edge_contrastive_loss
from raytrack.families.hypertrack.measures import edge_auc
from raytrack.families.hypertrack.model import HyperTrackNet
from raytrack.families.hypertrack.training import event_losses, train_options
from raytrack.families.hypertrack.validation import event_statistics, validation_metrics

SMALL_GRAPH = {"nstack": 2, "h_dim": 16, "z_dim": 8, "SuperEdgeConv": {"m_dim": 16}}
SMALL_CLUSTER = {"h_dim": 16, "nstack_dec": 1}


def _net() -> HyperTrackNet:
    torch.manual_seed(0)
    return HyperTrackNet(SMALL_GRAPH, SMALL_CLUSTER)


def _args(event: dict) -> tuple:
    return event["x"], event["edge_index"], event["edge_label"], event["labels"], event["weight"]


def test_train_options_merge_blocks_and_name_unknown_keys():
    p = train_options({"edge_BCE": {"type": "BCE"}, "beta": {"cluster_BCE": 1.0}})
    assert p["edge_BCE"]["type"] == "BCE" and p["edge_BCE"]["gamma"] == 1.0
    assert p["beta"] == {"edge_BCE": 0.2, "edge_contrastive": 1.0, "cluster_BCE": 1.0,
                         "cluster_contrastive": 0.2}  # fmt: skip
    assert p["meta_target"] == "pivotmajor" and p["cluster_loss_rejected"] is False
    with pytest.raises(ValueError, match="train_param: unknown key"):
        train_options({"edge_bce": {}})


def test_gnn_stage_is_the_weighted_edge_losses(event, one_thread):
    net = _net()
    got = event_losses(net, *_args(event))
    assert set(got["terms"]) == {"edge_BCE", "edge_contrastive"} and got["clustering"] is None
    logits = got["outputs"]["edge_logits"]
    bce = edge_bce_loss(logits, event["edge_label"])
    con = edge_contrastive_loss(logits, event["edge_index"], event["labels"], event["weight"])
    assert float(got["loss"].detach()) == pytest.approx(
        float((0.2 * bce + 1.0 * con).detach()), rel=1e-5
    )


def test_transformer_stage_adds_the_cluster_losses(event, one_thread):
    net = _net()
    param = {"transformer": {"min_cluster_size": 1, "fixed_threshold": 0.0}}  # accept all
    got = event_losses(
        net, *_args(event), do_clustering=True, edge_threshold=0.3, cluster_param=param,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert set(got["terms"]) == {
        "edge_BCE",
        "edge_contrastive",
        "cluster_BCE",
        "cluster_contrastive",
    }
    assert got["clustering"].clusters
    got["loss"].backward()
    assert net.transformer.mask_decoder[-1].weight.grad.abs().sum() > 0


def test_rejected_attempts_are_scored_only_when_asked(event, one_thread):
    net = _net()
    kw = {"do_clustering": True, "edge_threshold": 0.3}
    accepted = event_losses(net, *_args(event), generator=torch.Generator().manual_seed(0), **kw)
    assert accepted["clustering"].clusters == [] and accepted["clustering"].rejected
    assert float(accepted["terms"]["cluster_BCE"]) == 0.0
    both = event_losses(
        net, *_args(event), generator=torch.Generator().manual_seed(0),
        train_param={"cluster_loss_rejected": True}, **kw,
    )  # fmt: skip
    assert float(both["terms"]["cluster_BCE"].detach()) > 0.0


# truth: object 1 = hits 0..4, object 2 = hits 5..8, object 3 = hits 9..11, noise 12, 13
PID = np.array([1] * 5 + [2] * 4 + [3] * 3 + [0, 0])
PRED = torch.tensor([10, 10, 10, 11, 12, 11, 11, 11, 11, 12, 12, 12, 10, 11])
WEIGHT = np.where(PID == 0, 0.0, 1.0)


def test_validation_statistics_add_over_events():
    edge_index = torch.tensor([[0, 0, 1, 5, 12], [1, 2, 2, 6, 13]])
    prob = torch.tensor([0.9, 0.4, 0.7, 0.2, 0.8])
    label = torch.tensor([1, 1, 1, 1, 0])
    one = event_statistics(edge_index, prob, label, 14, edge_threshold=0.5, labels=PRED,
                           particle_id=PID, weight=WEIGHT)  # fmt: skip
    # kept 0->1, 1->2, 12->13: TP 2, FP 1; true 4: FN 2; TN 196 - 5
    assert one["adjacency"].tolist() == [2, 1, 2, 191]
    assert one["clusters"].tolist() == [2, 2, 3]
    twice = {k: one[k] + one[k] for k in one}
    m = validation_metrics(twice)
    assert m["edge_auc"] == pytest.approx(edge_auc(prob, label))
    assert m["adj_tpr"] == 0.5 and m["adj_pur"] == pytest.approx(2 / 3)
    assert m["adj_fpr"] == pytest.approx(1 / 192)
    assert m["efficiency"] == 1.0 and m["purity"] == pytest.approx(2 / 3)
    assert m["majority_score"] == pytest.approx(7 / 9) and m["trackml_score"] == pytest.approx(
        10 / 12
    )
    edges_only = event_statistics(edge_index, prob, label, 14)
    assert math.isnan(validation_metrics(edges_only)["efficiency"])
    with pytest.raises(ValueError, match="particle_id and weight"):
        event_statistics(edge_index, prob, label, 14, labels=PRED)
