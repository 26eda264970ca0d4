"""The Exa.TrkX filter task's steps: training-edge sampling, chunked scoring, the loss,
validation metrics, inference, and a short training through the real loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.families.exatrkx.filter import EdgeFilter
from raytrack.families.tracking.event import Event
from tests.conftest import simulated_events, with_candidate_graph
from tests.families.exatrkx.filter_events import ConstantFilter, hand_event, make_task, with_graph

# -- sampling, chunks, metrics, inference --------------------------------------------------------


@pytest.fixture(scope="module")
def sim_rows() -> list[dict]:
    # the geometric constructor with wide windows: an impure candidate graph
    return [with_candidate_graph(event).to_row() for event in simulated_events(4, seed=11)]


@pytest.mark.parametrize("ratio", [1.0, 2.0, 5.0])
def test_ratio_sets_the_number_of_hard_and_random_negatives(sim_rows, ratio):
    task = make_task({"true_edges": "layerwise"}, ratio=ratio)
    batch = task.collate([task.prepare(row) for row in sim_rows[:2]])
    for logit, hard_share in ((-10.0, 0), (10.0, 1)):  # no fake is hard / every fake is hard
        trained = task.training_edges(ConstantFilter(logit), batch)
        y, event = batch["y"][trained], batch["edge_event"][trained]
        for b in range(2):
            n_true = int((batch["y"] & (batch["edge_event"] == b)).sum())
            half = int(n_true * ratio / 2)
            assert int((y & (event == b)).sum()) == n_true  # all true edges
            assert int((~y & (event == b)).sum()) == half * (1 + hard_share)
    capped = make_task({"true_edges": "layerwise"}, ratio=ratio, edges_per_batch=50)
    assert capped.training_edges(ConstantFilter(0.0), batch).numel() == 50


def test_events_without_true_edges_or_without_fakes_still_train():
    event = hand_event()
    y = make_task().prepare(event.to_row())["y"]
    task = make_task(ratio=2.0, weight=2.0)
    model = EdgeFilter(hidden=8, batchnorm=True)
    for keep in (~y, y):  # only fakes (nothing to sample), only true edges (no negatives)
        sample = task.prepare(with_graph(event, event.edge_index[:, keep]).to_row())
        batch = task.collate([sample])
        assert task.training_edges(model, batch).numel() == int(sample["y"].sum())
        loss = task.training_step(model, batch)
        loss.backward()
        assert torch.isfinite(loss)


def test_chunks_give_the_same_scores_as_one_pass(sim_rows):
    torch.manual_seed(0)
    model = EdgeFilter(hidden=16, batchnorm=True)
    task = make_task(n_chunks=1)
    batch = task.collate([task.prepare(row) for row in sim_rows[:2]])
    model.train()
    task.training_step(model, batch)  # moves the batch-norm running statistics
    whole = task.score(model, batch)
    task.n_chunks = 7
    torch.testing.assert_close(task.score(model, batch), whole)
    assert model.training  # scoring restored the training mode


def test_batch_loss_is_the_mean_of_event_losses(sim_rows):
    task = make_task(ratio=0, weight=2.0)
    a, b = task.prepare(sim_rows[0]), task.prepare(sim_rows[1])
    torch.manual_seed(0)
    model = EdgeFilter(hidden=8)
    losses = [task.training_step(model, task.collate(items)) for items in ([a], [b], [a, b])]
    torch.testing.assert_close(losses[2], (losses[0] + losses[1]) / 2)
    batch = task.collate([a])
    logits = model(batch["x"], batch["edge_index"])["edge_logits"]
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, batch["y"].float(), pos_weight=torch.tensor(2.0)
    )
    torch.testing.assert_close(losses[0], expected)


def test_metrics_of_constant_scores(sim_rows):
    task = make_task({"pt_signal_cut": 1.0}, filter_cut=0.5)
    batch = task.collate([task.prepare(row) for row in sim_rows[:2]])
    metrics = task.summarize(task.validation_step(ConstantFilter(3.0), batch))
    assert set(metrics) == set(task.metrics)
    assert (
        metrics["efficiency"] == 1.0 and metrics["kept_fraction"] == 1.0 and metrics["auc"] == 0.5
    )
    assert metrics["purity"] == pytest.approx(float(batch["y"].float().mean()))
    metrics = task.summarize(task.validation_step(ConstantFilter(-3.0), batch))
    assert metrics["efficiency"] == 0.0 and metrics["kept_fraction"] == 0.0


def test_infer_keeps_exactly_the_edges_above_filter_cut(sim_rows):
    torch.manual_seed(1)
    model = EdgeFilter(hidden=16).eval()
    task = make_task(filter_cut=0.5, n_chunks=3)
    event = Event.from_row(sim_rows[0])
    logits = model(
        torch.as_tensor(task.prepare(sim_rows[0])["x"]), torch.as_tensor(event.edge_index)
    )["edge_logits"]
    scores = torch.sigmoid(logits).detach().numpy()
    kept = scores > 0.5
    assert 0 < kept.sum() < kept.size
    out = Event.from_row(task.infer(model, sim_rows[0]))
    np.testing.assert_array_equal(out.edge_index, event.edge_index[:, kept])
    np.testing.assert_allclose(out.edges["score"], scores[kept], rtol=1e-6)
    assert out.edges["score"].dtype == np.float32 and (out.edges["score"] > 0.5).all()
    assert out.num_hits == event.num_hits and out.event_id == event.event_id


# -- the real loop ------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_short_training_with_the_loop_learns(tmp_path, simulated_store):
    from raytrack.config.schema import Experiment
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    store = simulated_store(10, seed=5, graph=True)
    experiment = Experiment.model_validate(
        {
            "name": "filter-loop",
            "model": {
                "name": "exatrkx_filter",
                "hparams": {
                    "hidden": 32,
                    "nb_layer": 3,
                    "batchnorm": True,
                    "ratio": 2,
                    "weight": 2.0,
                    "n_chunks": 2,
                },
            },
            "data": {
                "store": str(store),
                "options": {"pt_signal_cut": 1.0, "true_edges": "layerwise"},
            },
            "train": {
                "max_epochs": 6,
                "batch_size": 2,
                "optimizer": {"name": "adamw", "lr": 0.005},
            },
            "tune": {"metric": "val_auc", "mode": "max"},
        }
    )
    splits = {"train": list(range(8)), "val": [8, 9]}
    session = LocalSession(store_row_source(str(store), splits), tmp_path / "ckpt")
    run_training(experiment, session)
    first, last = session.reports[0], session.reports[-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_auc"] > 0.85 and last["val_auc"] > first["val_auc"]
    assert last["val_efficiency"] > 0.9 and last["val_kept_fraction"] < 1.0
