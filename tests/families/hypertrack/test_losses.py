"""HyperTrack's losses against values computed by hand from their definitions."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.hypertrack.cluster_losses import cluster_losses
from raytrack.families.hypertrack.losses import (
    BETA_DEFAULTS,
    edge_bce_loss,
    edge_contrastive_loss,
    total_loss,
)
from raytrack.families.hypertrack.pivot_clustering import ClusterAttempt

# --- edge_BCE: logits (0, 2, -1), labels (1, 0, 0); balance weight of the true edge 2/1 = 2
LOGITS, LABELS = torch.tensor([0.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, 0.0])
BCE = [math.log(2), math.log(1 + math.e**2), math.log(1 + math.e**-1)]
W = [2.0, 1.0, 1.0]


def _close(value: torch.Tensor, expected: float) -> None:
    assert float(value) == pytest.approx(expected, rel=1e-5)


def test_edge_bce_types_by_hand():
    bce = sum(w * b for w, b in zip(W, BCE)) / 3  # torch's weighted mean divides by the count
    focal = sum((1 - math.exp(-b)) * w * b for w, b in zip(W, BCE)) / sum(W)
    hinge = (2 * 1 + 1 * 3 + 1 * 0) / sum(W)  # max(0, 1 - y± logit) = 1, 3, 0
    _close(edge_bce_loss(LOGITS, LABELS), focal)  # default: Focal, gamma 1, balanced
    _close(edge_bce_loss(LOGITS, LABELS, params={"type": "BCE"}), bce)
    _close(edge_bce_loss(LOGITS, LABELS, params={"type": "BCE+Hinge"}), 0.95 * bce + 0.05 * hinge)
    _close(
        edge_bce_loss(LOGITS, LABELS, params={"type": "BCE+Hinge", "delta": 0.5}),
        0.5 * bce + 0.5 * hinge,
    )
    focal2 = sum((1 - math.exp(-b)) ** 2 * w * b for w, b in zip(W, BCE)) / sum(W)
    _close(edge_bce_loss(LOGITS, LABELS, params={"gamma": 2.0}), focal2)
    _close(
        edge_bce_loss(LOGITS, LABELS, params={"type": "BCE", "edge_balance": False}), sum(BCE) / 3
    )


def test_edge_bce_can_leave_out_self_edges():
    edge_index = torch.tensor([[0, 1, 2], [1, 0, 2]])  # the last edge is a self-edge
    got = edge_bce_loss(
        LOGITS,
        LABELS,
        edge_index,
        {"type": "BCE", "remove_self_edges": True, "edge_balance": False},
    )
    _close(got, (BCE[0] + BCE[1]) / 2)
    with pytest.raises(ValueError, match="needs the edge_index"):
        edge_bce_loss(LOGITS, LABELS, params={"remove_self_edges": True})


# --- edge_contrastive: objects 7 = {0, 1} and 9 = {2, 3}, hit 4 noise
EDGES = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 3, 4, 0]])
EDGE_LOGITS = torch.tensor([0.5, 1.0, -0.5, 2.0, 0.0, 3.0])
TRUTH = torch.tensor([7, 7, 9, 9, -1])
HIT_W = torch.tensor([1.0, 2.0, 0.5, 0.5, 0.0])


def _nll(pos: list[float], neg: list[float], tau: float) -> float:
    e = lambda logit: math.exp(math.tanh(logit) / tau)
    denominator = sum(e(n) for n in neg)
    return sum(-math.log(e(p) / (e(p) + denominator)) for p in pos) / len(pos)


def test_edge_contrastive_by_hand():
    tau = 0.5
    nll7 = _nll([0.5, 1.0], [-0.5], tau)  # positives 0->1, 1->0; negative 1->2
    nll9 = _nll([2.0], [-0.5, 0.0], tau)  # positive 2->3; negatives 1->2, 3->4
    params = {"tau": tau}
    got = edge_contrastive_loss(EDGE_LOGITS, EDGES, TRUTH, HIT_W, params)
    _close(got, (3.0 * nll7 + 1.0 * nll9) / 4.0 / 2.0)  # object weights 3 and 1, 2 hits each
    unweighted = edge_contrastive_loss(
        EDGE_LOGITS, EDGES, TRUTH, HIT_W, {**params, "weights": False}
    )
    _close(unweighted, (nll7 + nll9) / 2.0 / 2.0)
    # min_prob 0.4 drops the edge 1->2 (sigmoid(-0.5) = 0.38)
    dropped = edge_contrastive_loss(EDGE_LOGITS, EDGES, TRUTH, HIT_W, {**params, "min_prob": 0.4})
    _close(dropped, (3.0 * _nll([0.5, 1.0], [], tau) + _nll([2.0], [0.0], tau)) / 4.0 / 2.0)
    one = edge_contrastive_loss(
        EDGE_LOGITS,
        EDGES,
        TRUTH,
        HIT_W,
        {**params, "sub_sample": 1},
        torch.Generator().manual_seed(0),
    )
    assert float(one) == pytest.approx(nll7 / 2, rel=1e-5) or float(one) == pytest.approx(
        nll9 / 2, rel=1e-5
    )


def test_edge_contrastive_without_positive_edges_is_zero_with_a_graph():
    logits = torch.tensor([0.3], requires_grad=True)
    loss = edge_contrastive_loss(logits, torch.tensor([[0], [1]]), torch.tensor([0, 1]))
    assert float(loss.detach()) == 0.0 and loss.requires_grad


# --- cluster losses: truth (0, 0, 0, 1, 1, -1)
CTRUTH = torch.tensor([0, 0, 0, 1, 1, -1])


def _attempt(micro, pivots, members, logits) -> ClusterAttempt:
    logits = torch.tensor(logits)
    return ClusterAttempt(
        logits=logits,
        prob=torch.sigmoid(logits),
        micrograph=torch.tensor(micro),
        pivots=torch.tensor(pivots),
        members=torch.tensor(members),
    )


def _bce(logit: float, t: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def _sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


A_LOGITS = [2.0, 0.0, -1.0, 1.0]
A = dict(micro=[0, 1, 3, 4], pivots=[0, 1, 3], members=[0, 3, 4], logits=A_LOGITS)
A_TARGET = [1.0, 1.0, 0.0, 0.0]  # pivot majority: object 0


def test_cluster_bce_and_set_losses_of_one_cluster_by_hand():
    clusters = [_attempt(**A)]
    p = [_sig(v) for v in A_LOGITS]
    bce = [_bce(v, t) for v, t in zip(A_LOGITS, A_TARGET)]
    out = cluster_losses(clusters, CTRUTH, cluster_BCE={"type": "BCE"})
    _close(out["cluster_BCE"], sum(bce) / 4)
    out = cluster_losses(clusters, CTRUTH)  # Focal, intersect
    _close(out["cluster_BCE"], sum((1 - math.exp(-b)) * b for b in bce) / 4)
    # intersect: members 0 (object 0: +1/6), 3 and 4 (not: -1/6); hit 1 is no member
    _close(out["cluster_contrastive"], 1.0 - (p[0] - p[2] - p[3]) / 6)
    inter, total = p[0] + p[1], sum(p) + 2
    dice = cluster_losses(clusters, CTRUTH, cluster_contrastive={"type": "dice"})
    _close(dice["cluster_contrastive"], 1 - (2 * inter + 1) / (total + 1))
    jac = cluster_losses(clusters, CTRUTH, cluster_contrastive={"type": "jaccard", "smooth": 0.5})
    _close(jac["cluster_contrastive"], 1 - (inter + 0.5) / (total - inter + 0.5))
    hinge = cluster_losses(clusters, CTRUTH, cluster_BCE={"type": "BCE+Hinge"})
    margins = [max(0.0, 1 - v * (2 * t - 1)) for v, t in zip(A_LOGITS, A_TARGET)]
    _close(hinge["cluster_BCE"], 0.95 * sum(bce) / 4 + 0.05 * sum(margins) / 4)


def test_meta_target_weights_and_normalisation_over_clusters():
    a = _attempt(**A)
    b = _attempt(micro=[3, 4], pivots=[3, 4], members=[3, 4], logits=[1.0, 1.0])
    one = cluster_losses([a], CTRUTH, cluster_BCE={"type": "BCE"})["cluster_BCE"]
    two = cluster_losses([a, b], CTRUTH, cluster_BCE={"type": "BCE"})["cluster_BCE"]
    _close(two, (float(one) + _bce(1.0, 1.0)) / 2)  # divided by K = 2
    # members 3, 4, 0: majority object 1, so the targets flip to (0, 0, 1, 1)
    major = cluster_losses([a], CTRUTH, cluster_BCE={"type": "BCE"}, meta_target="major")
    _close(major["cluster_BCE"], sum(_bce(v, t) for v, t in zip(A_LOGITS, [0, 0, 1, 1])) / 4)
    hw = torch.tensor([1.0, 3.0, 0.0, 2.0, 2.0, 0.0])
    weighted = cluster_losses([a], CTRUTH, hw, cluster_BCE={"type": "BCE", "weights": True})
    expected = sum(w * _bce(v, t) for w, v, t in zip([1, 3, 2, 2], A_LOGITS, A_TARGET)) / 8
    _close(weighted["cluster_BCE"], expected)
    noise = _attempt(micro=[5, 0], pivots=[5], members=[5, 0], logits=[0.0, 0.0])
    _close(cluster_losses([noise], CTRUTH, cluster_BCE={"type": "BCE"})["cluster_BCE"], math.log(2))
    empty = cluster_losses([], CTRUTH)
    assert float(empty["cluster_BCE"]) == 0.0 and float(empty["cluster_contrastive"]) == 0.0


def test_total_loss_is_the_beta_weighted_sum():
    assert BETA_DEFAULTS == {
        "edge_BCE": 0.2,
        "edge_contrastive": 1.0,
        "cluster_BCE": 0.2,
        "cluster_contrastive": 0.2,
    }
    terms = {k: torch.tensor(v) for k, v in zip(BETA_DEFAULTS, [1.0, 2.0, 3.0, 4.0])}
    _close(total_loss(terms), 0.2 + 2.0 + 0.6 + 0.8)
    _close(total_loss(terms, {"edge_contrastive": 0.5}), 0.2 + 1.0 + 0.6 + 0.8)
    with pytest.raises(ValueError, match="unknown loss term"):
        total_loss({"track_neglogpdf": torch.tensor(1.0)})
    with pytest.raises(ValueError, match="beta: unknown key"):
        total_loss(terms, {"edge_bce": 1.0})


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: edge_bce_loss(LOGITS, LABELS, params={"type": "MSE"}), "edge_BCE.type must be"),
        (lambda: edge_bce_loss(LOGITS, LABELS, params={"alpha": 1}), "edge_BCE: unknown key"),
        (
            lambda: edge_contrastive_loss(EDGE_LOGITS, EDGES, TRUTH, params={"tau": 0}),
            "tau must be positive",
        ),
        (
            lambda: cluster_losses([], CTRUTH, cluster_contrastive={"type": "iou"}),
            "cluster_contrastive.type must be",
        ),
        (lambda: cluster_losses([], CTRUTH, meta_target="vote"), "meta_target must be"),
    ],
)
def test_bad_parameters_name_the_key(call, message):
    with pytest.raises(ValueError, match=message):
        call()
