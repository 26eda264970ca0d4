"""The additive validation statistics of HyperTrack events and the metrics from their sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from raytrack.families.hypertrack.measures import edge_auc
from raytrack.families.hypertrack.validation import event_statistics, validation_metrics

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
