"""HyperTrack's measures against hand-counted cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from raytrack.families.hypertrack.measures import (
    adjacency_metrics,
    cluster_metrics,
    edge_auc,
    majority_match,
    trackml_score_of_labels,
)

# truth: object 1 = hits 0..4, object 2 = hits 5..8, object 3 = hits 9..11 (3 hits), noise 12, 13
TRUTH = np.array([1] * 5 + [2] * 4 + [3] * 3 + [-1, -1])
# clusters: 10 = {0, 1, 2, 12}, 11 = {3, 5, 6, 7, 8, 13}, 12 = {4, 9, 10, 11}
PRED = np.array([10, 10, 10, 11, 12, 11, 11, 11, 11, 12, 12, 12, 10, 11])


def test_edge_auc_by_hand():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered right
    assert edge_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])) == 0.75
    assert edge_auc(np.array([0.2, 0.3]), np.array([1, 1])) == -1.0


def test_adjacency_metrics_by_hand():
    true = torch.tensor([[0, 1], [1, 2]])  # 0->1, 1->2
    pred = torch.tensor([[0, 0, 0], [1, 2, 2]])  # 0->1, 0->2 (twice)
    m = adjacency_metrics(true, pred, 3)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (1, 1, 1, 6)
    assert (m["pos"], m["neg"]) == (2, 7)
    assert m["tpr"] == 0.5 and m["pur"] == 0.5
    assert m["fpr"] == pytest.approx(1 / 7) and m["acc"] == pytest.approx(7 / 9)


def test_majority_match_by_hand():
    m = majority_match(PRED, TRUTH)
    # 10: 3 of its 4 hits are object 1's, 3 of object 1's 5 -> match
    # 11: 4 of 6 are object 2's, all 4 of object 2's -> match
    # 12: 3 of 4 are object 3's, but object 3 has fewer than 4 hits
    assert m["match"] == {10: 1, 11: 2}
    assert m["n_true"] == 2 and m["n_clusters"] == 3
    assert m["efficiency"] == 1.0 and m["purity"] == pytest.approx(2 / 3)
    assert m["score"] == pytest.approx(7 / 9)  # 3 + 4 matched hits of the 9 in objects 1 and 2
    m3 = majority_match(PRED, TRUTH, hits_min=3)
    assert m3["match"] == {10: 1, 11: 2, 12: 3} and m3["efficiency"] == 1.0
    assert m3["purity"] == 1.0


def test_exactly_half_is_no_match_and_weights_enter_the_score():
    half = np.array([0, 0, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1])  # 2 of 4 each way
    m = majority_match(half, TRUTH)
    assert m["match"] == {} and m["efficiency"] == 0.0 and m["purity"] == 0.0
    w = np.arange(14, dtype=float)
    m = majority_match(PRED, TRUTH, w)
    assert m["score"] == pytest.approx((0 + 1 + 2 + 5 + 6 + 7 + 8) / sum(range(9)))


def test_trackml_score_of_labels_by_hand():
    pid = np.where(TRUTH < 0, 0, TRUTH)
    weight = np.where(TRUTH < 0, 0.0, 1.0)
    # every track is good: 3 + 4 + 3 majority hits of the 12 weighted hits
    assert trackml_score_of_labels(PRED, pid, weight) == pytest.approx(10 / 12)
    assert trackml_score_of_labels(TRUTH, pid, weight) == pytest.approx(1.0)
    # unclustered hits are one-hit tracks, never one big track
    assert trackml_score_of_labels(np.full(14, -1), pid, weight) == 0.0


def test_cluster_metrics_bundle():
    pid = np.where(TRUTH < 0, 0, TRUTH)
    weight = np.where(TRUTH < 0, 0.0, 1.0)
    m = cluster_metrics(torch.tensor(PRED), torch.tensor(pid), torch.tensor(weight))
    assert m["efficiency"] == 1.0 and m["purity"] == pytest.approx(2 / 3)
    assert m["majority_score"] == pytest.approx(7 / 9)
    assert m["trackml_score"] == pytest.approx(10 / 12)
    assert not math.isnan(m["trackml_score"])
