"""The Exa.TrkX filter task's data: the stored graph, labels and the regimes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.families.exatrkx.filter import EdgeFilter
from raytrack.families.tracking.event import CELL_COLUMNS
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.families.tracking.truth import apply_options
from tests.families.exatrkx.filter_events import ConstantFilter, hand_event, make_task
from tests.families.exatrkx.test_interaction_gnn import straight_track_event

# -- the stored graph and the regimes ------------------------------------------------------------


def test_events_without_a_stored_graph_are_an_error():
    row = straight_track_event().to_row()
    with pytest.raises(ValueError, match="no stored graph.*raytrack infer.*embedding stage"):
        make_task().prepare(row)
    with pytest.raises(ValueError, match="no stored graph"):
        make_task().infer(EdgeFilter(hidden=4), row)


def test_options_keep_the_graph_on_the_kept_hits():
    event = hand_event()
    selected = apply_options(event, TrackingDataOptions(noise=False))
    noise = np.flatnonzero(event.hits["particle_id"] == 0)
    assert selected.num_hits == event.num_hits - 1 and len(noise) == 1
    touching = np.isin(event.edge_index, noise).any(0)
    assert selected.edge_index.shape[1] == (~touching).sum()
    old = np.delete(np.arange(event.num_hits), noise)  # new position -> old position
    np.testing.assert_array_equal(old[selected.edge_index], event.edge_index[:, ~touching])


def test_pid_labels_differ_from_truth_graph_labels():
    row = hand_event().to_row()
    plain, pid = make_task().prepare(row), make_task(regime=("pid",)).prepare(row)
    src, dst = plain["edge_index"]
    hits = straight_track_event().hits
    skip = (hits["layer_id"][src] == 2) & (hits["layer_id"][dst] == 6)
    same = (hits["particle_id"][src] == hits["particle_id"][dst]) & (hits["particle_id"][src] != 0)
    assert plain["y"].sum() == 6 and pid["y"].sum() == 8
    assert not plain["y"][skip & same].any() and pid["y"][skip & same].all()
    np.testing.assert_array_equal(pid["y"], same)


def test_subset_trains_only_signal_true_edges():
    row = hand_event().to_row()
    options = {"pt_signal_cut": 1.0}
    sample = make_task(options, regime=("subset",), ratio=0).prepare(row)
    particle = straight_track_event().hits["particle_id"]
    src, dst = sample["edge_index"]
    touches_signal = (particle[src] == 1) | (particle[dst] == 1)  # particle 1 has pT 2 > 1 GeV
    np.testing.assert_array_equal(sample["subset"], touches_signal)
    for ratio in (0, 2):
        task = make_task(options, regime=("subset",), ratio=ratio)
        batch = task.collate([task.prepare(row)])
        trained = task.training_edges(ConstantFilter(5.0), batch)
        positives = trained[batch["y"][trained]]
        assert positives.numel() == 3 and batch["signal"][positives].all()  # the 3 signal edges
        non_signal_true = torch.nonzero(batch["y"] & ~batch["signal"]).flatten()
        assert non_signal_true.numel() == 3 and not np.isin(non_signal_true, trained).any()
    plain = make_task(options, ratio=0)
    trained = plain.training_edges(ConstantFilter(5.0), plain.collate([plain.prepare(row)]))
    assert trained.numel() == 22  # without subset every edge is trained


def test_weighting_weights_true_edges_by_hit_weight():
    row = hand_event().to_row()
    task = make_task(regime=("weighting",), ratio=0, weight=1.0)
    sample = task.prepare(row)
    y, w = sample["y"], sample["edge_weight"]
    particle = straight_track_event().hits["particle_id"][sample["edge_index"][0]]
    assert np.allclose(w[~y], 1.0) and np.isclose(w[y].mean(), 1.0) and not np.allclose(w[y], 1.0)
    assert w[y & (particle == 1)].mean() > w[y & (particle == 2)].mean()  # hit weights 2 vs 1
    torch.manual_seed(0)
    model = EdgeFilter(hidden=8)
    plain = make_task(ratio=0, weight=1.0)
    weighted_loss = task.training_step(model, task.collate([sample]))
    plain_loss = plain.training_step(model, plain.collate([plain.prepare(row)]))
    assert not torch.isclose(weighted_loss, plain_loss)
    # validation reports the weighted loss too: the mean of w * BCE of the model's logits
    batch = task.collate([sample])
    s = task.score(model, batch).double().numpy()
    bce = np.where(y, np.log1p(np.exp(-s)), np.log1p(np.exp(s)))
    stats = task.validation_step(model, batch)
    assert task.summarize(stats)["loss"] == pytest.approx(float((w * bce).mean()), rel=1e-5)
    assert not np.isclose((w * bce).mean(), bce.mean(), rtol=1e-3)


def test_ci_puts_cell_features_in_the_input():
    cells = {name: np.full(9, i + 1.0, np.float32) for i, name in enumerate(CELL_COLUMNS)}
    task = make_task(regime=("ci",), cell_channels=4, in_channels=7)
    x = task.prepare(hand_event(**cells).to_row())["x"]
    assert x.shape == (9, 7)
    np.testing.assert_allclose(x[:, :4], np.tile([1.0, 2.0, 3.0, 4.0], (9, 1)))
    with pytest.raises(KeyError, match="cell_channels=4 needs the hit column 'cell_count'"):
        task.prepare(hand_event().to_row())
    with pytest.raises(ValueError, match="in_channels=3"):  # a filter built for no cells
        EdgeFilter(in_channels=3, hidden=4)(
            torch.as_tensor(x), torch.zeros((2, 1), dtype=torch.long)
        )


def test_embedding_coordinates_come_from_emb_columns():
    emb = {"emb_0": np.arange(9, dtype=np.float32), "emb_1": -np.arange(9, dtype=np.float32)}
    task = make_task(emb_channels=2)
    sample = task.prepare(hand_event(**emb).to_row())
    np.testing.assert_array_equal(sample["emb"][:, 1], -np.arange(9))
    model = EdgeFilter(emb_channels=2, hidden=4)
    assert task.training_step(model, task.collate([sample])).isfinite()
    with pytest.raises(KeyError, match="emb_channels=2 needs the hit columns emb_0 … emb_1"):
        task.prepare(hand_event().to_row())
