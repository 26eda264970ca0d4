"""The Exa.TrkX filter and its task: model, stored graph, regimes, sampling, chunks, inference."""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pytest
import torch

from raytrack.data.event import CELL_COLUMNS, Event
from raytrack.data.options import TrackingDataOptions
from raytrack.models.exatrkx.filter import EdgeFilter, exatrkx_filter
from raytrack.data.truth import apply_options
from raytrack.models.exatrkx.filter_task import FilterTask
from raytrack.models.registry import get_model
from tests.models.test_interaction_gnn import straight_track_event

LAYER_PAIRS = [(2, 4), (4, 6), (6, 8), (2, 6)]  # barrel layers of straight_track_event, one skip


def with_graph(event: Event, edges: np.ndarray) -> Event:
    graph = {"src": edges[0], "dst": edges[1], "score": np.ones(edges.shape[1], np.float32)}
    return Event(event.event_id, event.hits, event.particles, graph)


def hand_event(**extra_hits) -> Event:
    """Two particles on four layers (pT 2 and 0.7) and a noise hit; every inner→outer pair of
    the layer pairs above is an edge (22 edges: 6 truth-graph edges, 2 same-particle skips)."""
    event = straight_track_event()
    layer = event.hits["layer_id"]
    pairs = [
        (i, j)
        for a, b in LAYER_PAIRS
        for i in np.flatnonzero(layer == a)
        for j in np.flatnonzero(layer == b)
    ]
    hits = {**event.hits, **extra_hits}
    return with_graph(Event(event.event_id, hits, event.particles), np.array(pairs, np.int64).T)


def make_task(options=None, **kwargs) -> FilterTask:
    task = FilterTask(**kwargs)
    task.options = TrackingDataOptions(**(options or {}))
    return task


class ConstantFilter(torch.nn.Module):
    """Every edge gets the same logit (an untrained filter's extreme cases)."""

    def __init__(self, logit: float):
        super().__init__()
        self.logit = torch.nn.Parameter(torch.tensor(float(logit)))

    def forward(self, x, edge_index, emb=None):
        return {"edge_logits": self.logit.expand(edge_index.shape[1])}


# -- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("emb_channels", [0, 2])
def test_model_equals_the_reference_forward_on_concatenated_hits(emb_channels):
    torch.manual_seed(0)
    model = EdgeFilter(
        in_channels=3, emb_channels=emb_channels, hidden=16, nb_layer=3, batchnorm=True
    ).eval()
    x, emb = torch.randn(10, 3), torch.randn(10, emb_channels) if emb_channels else None
    e = torch.randint(0, 10, (2, 40))
    out = model(x, e, emb)["edge_logits"]
    # the reference: input_layer(cat[x_i, emb_i, x_j, emb_j]), then [Linear, act, norms]*, output
    parts = (
        [x[e[0]]]
        + ([emb[e[0]]] if emb is not None else [])
        + [x[e[1]]]
        + ([emb[e[1]]] if emb is not None else [])
    )
    h = model.input_layer(torch.cat(parts, dim=-1))
    reference = model.output_layer(model.layers(h)).squeeze(-1)
    torch.testing.assert_close(out, reference)
    assert out.shape == (40,)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_layer_order_is_the_reference_one():
    model = EdgeFilter(in_channels=3, hidden=8, nb_layer=3, layernorm=True, batchnorm=True)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Linear", "Tanh", "LayerNorm", "BatchNorm1d"] * 2
    assert model.input_layer.in_features == 6 and model.output_layer.out_features == 1


def test_model_inputs_are_checked_with_clear_messages():
    model = EdgeFilter(in_channels=3, hidden=8)
    with pytest.raises(ValueError, match="in_channels=3.*shape \\(5, 12\\)"):
        model(torch.randn(5, 12), torch.zeros((2, 1), dtype=torch.long))
    with pytest.raises(ValueError, match="emb_channels=2"):
        EdgeFilter(in_channels=3, emb_channels=2, hidden=8)(
            torch.randn(5, 3), torch.zeros((2, 1), dtype=torch.long)
        )
    with pytest.raises(ValueError, match="hidden must be at least 1"):
        EdgeFilter(hidden=0)


def test_no_edges_still_give_every_parameter_a_gradient():
    model = EdgeFilter(in_channels=3, hidden=8, batchnorm=True).train()
    logits = model(torch.randn(5, 3), torch.zeros((2, 0), dtype=torch.long))["edge_logits"]
    assert logits.shape == (0,)
    logits.sum().backward()  # DDP without find_unused_parameters needs a gradient for each
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())


def test_registered_and_typed():
    entry = get_model("exatrkx_filter")
    assert entry.family == "exatrkx" and entry.task is FilterTask
    names = set(entry.hyperparameters())
    assert {
        "in_channels",
        "emb_channels",
        "hidden",
        "nb_layer",
        "layernorm",
        "batchnorm",
        "n_chunks",
        "filter_cut",
        "ratio",
        "weight",
        "regime",
    } <= names
    model, task = entry.build(
        {"in_channels": 5, "cell_channels": 2, "regime": ["ci"], "hidden": 8},
        {"pt_signal_cut": 1.0},
    )
    assert (
        model.in_channels == 5 and task.in_channels == 5 and task.regime == ("ci",)
    )  # shared name
    for target in (exatrkx_filter, FilterTask):
        for name, param in inspect.signature(target, eval_str=True).parameters.items():
            assert (
                param.kind is inspect.Parameter.KEYWORD_ONLY
                and param.annotation is not inspect.Parameter.empty
            ), name
    regime = inspect.signature(FilterTask, eval_str=True).parameters["regime"].annotation
    assert set(typing.get_args(typing.get_args(regime)[0])) == {"subset", "ci", "weighting", "pid"}


def test_task_arguments_are_checked():
    with pytest.raises(ValueError, match="ci regime.*cell_channels >= 1"):
        FilterTask(regime=("ci",))
    with pytest.raises(ValueError, match="cell_channels=9 without the ci regime"):
        FilterTask(cell_channels=9)
    with pytest.raises(ValueError, match="in_channels must be .* = 12, but got in_channels=3"):
        FilterTask(regime=("ci",), cell_channels=9)
    with pytest.raises(ValueError, match="unknown regime keyword"):
        FilterTask(regime=("norm",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_chunks must be at least 1"):
        FilterTask(n_chunks=0)
    with pytest.raises(ValueError, match="edges_per_batch must be at least 1"):
        FilterTask(edges_per_batch=0)


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
    model = EdgeFilter(hidden=8)
    plain = make_task(ratio=0, weight=1.0)
    weighted_loss = task.training_step(model, task.collate([sample]))
    plain_loss = plain.training_step(model, plain.collate([plain.prepare(row)]))
    assert not torch.isclose(weighted_loss, plain_loss)


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


# -- sampling, chunks, metrics, inference --------------------------------------------------------


@pytest.fixture(scope="module")
def sim_rows() -> list[dict]:
    from raytrack.data.simulate import SimulationSettings, simulate_events
    from raytrack.models.exatrkx.geometric_graph import GeometricGraphBuilder

    builder = GeometricGraphBuilder(phi_slope_max=0.02, z0_max=400.0)  # a wide, impure graph
    events = simulate_events(4, seed=11, settings=SimulationSettings(rfactor=0.005))
    return [with_graph(event, builder(event)).to_row() for event in events]


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
    out = task.infer(model, sim_rows[0])
    np.testing.assert_array_equal(out.edge_index, event.edge_index[:, kept])
    np.testing.assert_allclose(out.edges["score"], scores[kept], rtol=1e-6)
    assert out.edges["score"].dtype == np.float32 and (out.edges["score"] > 0.5).all()
    assert out.num_hits == event.num_hits and out.event_id == event.event_id


# -- the real loop ------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_short_training_with_the_loop_learns(tmp_path):
    from raytrack.config.schema import Experiment
    from raytrack.data.simulate import SimulationSettings, simulate_events
    from raytrack.data.store import write_store
    from raytrack.models.exatrkx.geometric_graph import GeometricGraphBuilder
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    builder = GeometricGraphBuilder(phi_slope_max=0.02, z0_max=400.0)
    events = simulate_events(10, seed=5, settings=SimulationSettings(rfactor=0.005))
    write_store(
        tmp_path / "store",
        (with_graph(e, builder(e)) for e in events),
        provenance={"test": "filter"},
    )
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
                "store": str(tmp_path / "store"),
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
    session = LocalSession(store_row_source(str(tmp_path / "store"), splits), tmp_path / "ckpt")
    run_training(experiment, session)
    first, last = session.reports[0], session.reports[-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_auc"] > 0.85 and last["val_auc"] > first["val_auc"]
    assert last["val_efficiency"] > 0.9 and last["val_kept_fraction"] < 1.0
