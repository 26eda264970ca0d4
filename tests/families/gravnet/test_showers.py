"""Inference and metrics: condensation showers, IoU matching, shower figures, the DBSCAN baseline."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.gravnet.condensation import condensation_clusters, predicted_showers
from raytrack.families.gravnet.dbscan_baseline import dbscan
from raytrack.families.gravnet.shower_metrics import binned, counts, figures, shower_rows
from raytrack.families.gravnet.showers_matcher import iou_matrix, match_showers


def test_condensation_takes_hits_within_t_d_of_the_highest_beta():
    beta = np.array([0.9, 0.05, 0.3, 0.8, 0.2, 0.05, 0.15])
    ccoords = np.array([[0.0, 0.0], [0.3, 0.0], [0.0, 0.4], [2.0, 0.0], [2.2, 0.1], [5.0, 5.0],
                        [0.1, 0.1]])  # fmt: skip
    labels, alpha = condensation_clusters(beta, ccoords, np.ones(7), t_beta=0.1, t_d=0.5)
    np.testing.assert_array_equal(alpha, [0, 3])  # 2, 4 and 6 were taken before their turn
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, -1, 0])
    wide, _ = condensation_clusters(beta, ccoords, np.full(7, 20.0), t_beta=0.1, t_d=0.5)
    assert (wide == 0).all()  # a distance scale of 20 reaches every hit


def test_shower_energy_is_corrected_deposits_without_tracks():
    showers = predicted_showers(
        np.array([0.9, 0.2, 0.8]), np.array([[0.0], [0.1], [0.2]]), np.ones(3),
        energy=np.array([2.0, 3.0, 50.0]), energy_corr=np.array([1.5, 1.0, 1.0]),
        is_track=np.array([False, False, True]), t_beta=0.1, t_d=0.5,
    )  # fmt: skip
    assert showers.count == 1
    assert showers.deposited[0] == pytest.approx(5.0) and showers.energy[0] == pytest.approx(7.5)


def test_iou_is_energy_weighted():
    t_idx = np.array([0, 0, 0, 1, 1, -1])
    labels = np.array([0, 0, 1, 1, 1, 1])
    energy = np.array([1.0, 1.0, 2.0, 3.0, 1.0, 1.0])
    iou = iou_matrix(t_idx, labels, energy, np.array([0, 1]), 2)
    # pred 0 ∩ truth 0 = 2, union 4; pred 1 = 7, truth 1 = 4, ∩ = 4, union 7; pred 1 ∩ truth 0 = 2
    np.testing.assert_allclose(iou, [[2 / 4, 0.0], [2 / 9, 4 / 7]])


def test_matching_is_one_to_one_above_the_threshold():
    t_idx = np.array([0, 0, 0, 0, 1, 1, 2])
    labels = np.array([0, 0, 1, 1, 1, 2, -1])
    energy = np.array([5.0, 5.0, 5.0, 5.0, 1.0, 1.0, 1.0])
    matching = match_showers(t_idx, labels, energy, np.zeros(7, bool), 3, iou_threshold=0.1)
    np.testing.assert_array_equal(matching.truth_ids, [0, 1, 2])
    # truth 0 is split in two halves: only one half matches; truth 2 lies in no shower
    assert matching.truth_match[0] in (0, 1) and matching.truth_match[2] == -1
    assert matching.truth_match[1] == 2  # pred 1 is taken by truth 0 or fits truth 1 worse
    assert (matching.pred_match >= 0).sum() == 2
    strict = match_showers(t_idx, labels, energy, np.zeros(7, bool), 3, iou_threshold=0.6)
    assert (strict.truth_match == -1).all()
    with pytest.raises(ValueError, match="iou_threshold"):
        match_showers(t_idx, labels, energy, np.zeros(7, bool), 3, iou_threshold=0.0)


def test_figures_of_a_perfect_and_of_a_split_reconstruction():
    t_idx = np.array([0, 0, 1, 1, -1])
    t_energy = np.array([10.0, 10.0, 30.0, 30.0, 0.1])
    energy = np.array([4.0, 6.0, 15.0, 15.0, 0.1])
    track = np.zeros(5, bool)
    perfect = predicted_showers(np.array([0.9, 0.0, 0.9, 0.0, 0.0]),
                                np.array([[0.0], [0.1], [5.0], [5.1], [9.0]]), np.ones(5), energy,
                                np.full(5, 1.0), track, t_beta=0.1, t_d=0.5)  # fmt: skip
    rows = shower_rows(7, t_idx, t_energy, np.array([22, 22, 211, 211, 0]), perfect,
                       match_showers(t_idx, perfect.labels, energy, track, perfect.count))  # fmt: skip
    found = figures(counts(rows))
    assert found["efficiency"] == 1.0 and found["fake_rate"] == 0.0
    assert found["response"] == pytest.approx((10 / 10 + 30 / 30) / 2)
    split = predicted_showers(np.array([0.9, 0.0, 0.9, 0.5, 0.0]),
                              np.array([[0.0], [0.1], [5.0], [8.0], [9.0]]), np.ones(5), energy,
                              np.full(5, 1.0), track, t_beta=0.1, t_d=0.5)  # fmt: skip
    rows = shower_rows(7, t_idx, t_energy, np.array([22, 22, 211, 211, 0]), split,
                       match_showers(t_idx, split.labels, energy, track, split.count))  # fmt: skip
    found = figures(counts(rows))
    assert found["efficiency"] == 1.0 and found["fake_rate"] == pytest.approx(1 / 3)
    bins = binned(rows, [0, 20, 40])
    assert list(bins["true_showers"]) == [1, 1] and list(bins["efficiency"]) == [1.0, 1.0]


def test_dbscan_agrees_with_scikit_learn():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.3, (60, 3)), rng.normal(3, 0.3, (50, 3)),
                             rng.uniform(-2, 5, (30, 3))])  # fmt: skip
    for eps, min_samples in ((0.3, 5), (0.5, 3), (1.0, 1)):
        ours = dbscan(points, eps, min_samples)
        theirs = sklearn_cluster.DBSCAN(eps=eps, min_samples=min_samples).fit(points).labels_
        np.testing.assert_array_equal(ours < 0, theirs < 0)
        pairs = {(a, b) for a, b in zip(ours, theirs) if a >= 0}
        assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
