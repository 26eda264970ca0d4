"""The Exa.TrkX interaction GNN and its task: shapes, equivalence to the reference, labels, metrics."""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.utils import scatter

from raytrack.families.exatrkx.gnn_task import InteractionGNNTask
from raytrack.families.exatrkx.interaction_gnn import InteractionGNN
from raytrack.families.exatrkx.mlp import ACTIVATIONS, SplitInputMLP, make_mlp
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.registry import get_model, keyword_parameters
from tests.conftest import simulated_events

AGGREGATIONS = ["sum", "mean", "max", "sum_max", "mean_max", "mean_sum"]


def random_graph(nodes=40, edges=160, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(nodes, 3, generator=g), torch.randint(0, nodes, (2, edges), generator=g)


# -- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_forward_backward_shapes(aggregation, directed):
    torch.manual_seed(0)
    model = InteractionGNN(hidden=16, n_graph_iters=2, aggregation=aggregation, directed=directed)
    x, edge_index = random_graph()
    out = model(x, edge_index)
    assert out["edge_logits"].shape == (edge_index.shape[1],)
    if directed:
        assert set(out) == {"edge_logits"}
    else:
        assert out["edge_logits_both"].shape == (2, edge_index.shape[1])
        torch.testing.assert_close(out["edge_logits"], out["edge_logits_both"].mean(0))
    out["edge_logits"].sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("layernorm", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_in_place_activations_give_exact_gradients(activation, layernorm):
    x, edge_index = random_graph()
    torch.manual_seed(0)
    model = InteractionGNN(
        hidden=8, n_graph_iters=2, hidden_activation=activation, layernorm=layernorm
    )
    grads = []
    for inplace in (True, False):
        for module in model.modules():
            if hasattr(module, "inplace"):
                module.inplace = inplace
        model.zero_grad()
        model(x, edge_index)["edge_logits"].sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_cell_channels_and_no_edges():
    model = InteractionGNN(spatial_channels=3, cell_channels=2, hidden=8, n_graph_iters=1)
    out = model(torch.randn(5, 5), torch.zeros((2, 0), dtype=torch.long))
    assert out["edge_logits"].shape == (0,)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="hidden\n  Input should be greater than or equal to 1"):
        InteractionGNN(hidden=0)
    with pytest.raises(ValueError, match="aggregation\n  Input should be 'sum'"):
        InteractionGNN(aggregation="median")  # type: ignore[arg-type]


def test_split_input_mlp_equals_plain_mlp_on_concatenation():
    torch.manual_seed(0)
    split = SplitInputMLP([4, 3, 5], [8, 8, 2], output_activation=None, layer_norm=True)
    plain = make_mlp(12, [8, 8, 2], output_activation=None, layer_norm=True)
    plain[0].load_state_dict(split.first.state_dict())
    for i, layer in enumerate(split.rest, start=1):
        plain[i].load_state_dict(layer.state_dict())
    blocks = [torch.randn(6, 4), torch.randn(6, 3), torch.randn(6, 5)]
    torch.testing.assert_close(split(*blocks), plain(torch.cat(blocks, -1)))


class ReferenceIGNN(nn.Module):
    """The reference forward pass as written (concatenations, PyG scatter), same weights."""

    def __init__(self, ours: InteractionGNN):
        super().__init__()
        self.ours = ours

    @staticmethod
    def mlp(split: SplitInputMLP, inputs: torch.Tensor) -> torch.Tensor:
        return split.rest(split.first(inputs))

    def forward(self, x, edge_index):
        o = self.ours
        start, end = edge_index
        x = o.node_encoder(x)
        e = self.mlp(o.edge_encoder, torch.cat([x[start], x[end]], 1))
        for _ in range(o.n_graph_iters):
            parts = []
            for part in o._parts:
                parts.append(scatter(e, end, 0, dim_size=x.shape[0], reduce=part))
            x_new = self.mlp(o.node_network, torch.cat([x, *parts], -1)) + x
            e = self.mlp(o.edge_network, torch.cat([x[start], x[end], e], -1)) + e
            x = x_new
        return self.mlp(o.output_edge_classifier, torch.cat([x[start], x[end], e], 1)).squeeze(-1)


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_matches_reference_forward(aggregation, directed):
    torch.manual_seed(1)
    ours = InteractionGNN(hidden=16, n_graph_iters=3, aggregation=aggregation, directed=directed)
    reference = ReferenceIGNN(ours)
    x, edge_index = random_graph(seed=2)
    with torch.no_grad():
        out = ours(x, edge_index)
        if directed:
            torch.testing.assert_close(
                out["edge_logits"], reference(x, edge_index), atol=1e-5, rtol=1e-5
            )
        else:  # the reference runs both directions of every edge (its handle_directed)
            both = reference(x, torch.cat([edge_index, edge_index.flip(0)], 1))
            torch.testing.assert_close(
                out["edge_logits_both"].flatten(), both, atol=1e-5, rtol=1e-5
            )


def test_checkpointing_gives_the_same_gradients():
    x, edge_index = random_graph()
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = InteractionGNN(hidden=16, n_graph_iters=2, checkpointing=checkpointing)
        model(x, edge_index)["edge_logits"].square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_bfloat16_precision_keeps_float32_outputs_and_trains():
    x, edge_index = random_graph()
    torch.manual_seed(0)
    fp32 = InteractionGNN(hidden=16, n_graph_iters=2, aggregation="sum_max")
    bf16 = InteractionGNN(hidden=16, n_graph_iters=2, aggregation="sum_max", precision="bfloat16")
    bf16.load_state_dict(fp32.state_dict())
    out = bf16(x, edge_index)
    assert out["edge_logits"].dtype == torch.float32
    reference = fp32(x, edge_index)["edge_logits"].detach()
    assert (
        out["edge_logits"].detach() - reference
    ).abs().max() < 0.1 * reference.abs().max() + 0.05
    out["edge_logits"].sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in bf16.parameters())


def test_builder_hyperparameters_are_typed():
    parameters = {p.name: p for p in keyword_parameters(InteractionGNN)}
    names = {
        "spatial_channels",
        "cell_channels",
        "hidden",
        "hidden_activation",
        "layernorm",
        "nb_node_layer",
        "nb_edge_layer",
        "n_graph_iters",
        "aggregation",
        "directed",
        "checkpointing",
        "precision",
    }
    assert names <= set(parameters)
    for name, param in parameters.items():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert param.default is not inspect.Parameter.empty, name
        assert param.annotation is not inspect.Parameter.empty, name
    assert typing.get_origin(parameters["aggregation"].annotation) is typing.Literal
    assert set(typing.get_args(parameters["aggregation"].annotation)) >= {"sum", "max", "sum_max"}
    assert "ReLU" in typing.get_args(parameters["hidden_activation"].annotation)
    for bounded in ("hidden", "n_graph_iters", "nb_node_layer", "nb_edge_layer"):
        annotation = parameters[bounded].annotation
        assert typing.get_origin(annotation) is typing.Annotated, bounded
    task_signature = inspect.signature(InteractionGNNTask, eval_str=True)
    assert {"edge_cut", "weight", "regime", "phi_slope_max", "z0_max", "deta_max"} <= set(
        task_signature.parameters
    )
    regime = task_signature.parameters["regime"].annotation
    assert set(typing.get_args(typing.get_args(regime)[0])) == {"pid", "weighting"}


def test_registered_with_its_task():
    entry = get_model("exatrkx_gnn")
    assert entry.family == "exatrkx" and entry.task is InteractionGNNTask
    model, task = entry.build(
        {"hidden": 8, "n_graph_iters": 1, "edge_cut": 0.3, "cell_channels": 0, "regime": ["pid"]},
        {"pt_signal_cut": 1.0},
    )
    assert isinstance(model, InteractionGNN) and model.hidden == 8
    assert task.edge_cut == 0.3 and task.regime == ("pid",)
    assert task.options.pt_signal_cut == 1.0


# -- the task ----------------------------------------------------------------------------------


def straight_track_event() -> Event:
    """Two particles from the origin crossing the four pixel barrel layers, plus one noise hit."""
    radii = [32.0, 72.0, 116.0, 172.0]
    rows = []
    for pid, phi, cot, pt in ((1, 0.3, 0.2, 2.0), (2, 2.0, -0.4, 0.7)):
        for i, r in enumerate(radii):
            rows.append(
                (pid, r * np.cos(phi), r * np.sin(phi), r * cot, 8, 2 * (i + 1), 10 + i, pt)
            )
    rows.append((0, 116.0 * np.cos(-2.0), 116.0 * np.sin(-2.0), 5.0, 8, 6, 99, 0.0))
    h = np.array(rows)
    x, y, z = h[:, 1], h[:, 2], h[:, 3]
    r = np.hypot(x, y)
    hits = {
        "hit_id": np.arange(1, len(h) + 1, dtype=np.int64),
        "x": x.astype(np.float32),
        "y": y.astype(np.float32),
        "z": z.astype(np.float32),
        "volume_id": h[:, 4].astype(np.int32),
        "layer_id": h[:, 5].astype(np.int32),
        "module_id": h[:, 6].astype(np.int32),
        "particle_id": h[:, 0].astype(np.int64),
        "weight": np.where(h[:, 0] == 1, 2.0, np.where(h[:, 0] == 2, 1.0, 0.0)).astype(np.float32),
        "r": r.astype(np.float32),
        "phi": np.arctan2(y, x).astype(np.float32),
        "eta": np.arcsinh(z / r).astype(np.float32),
    }
    particles = {
        "particle_id": np.array([1, 2], np.int64),
        "vx": np.zeros(2, np.float32),
        "vy": np.zeros(2, np.float32),
        "vz": np.zeros(2, np.float32),
        "px": np.array([2.0, 0.7], np.float32),
        "py": np.zeros(2, np.float32),
        "pz": np.zeros(2, np.float32),
        "q": np.ones(2, np.int32),
        "nhits": np.array([4, 4], np.int32),
        "pt": np.array([2.0, 0.7], np.float32),
        "eta": np.zeros(2, np.float32),
    }
    return Event(event_id=7, hits=hits, particles=particles)


SKIP_PAIRS = [(802, 804), (804, 806), (806, 808), (802, 806)]


def make_task(**kwargs) -> InteractionGNNTask:
    options = kwargs.pop("options", {})
    task = InteractionGNNTask(layer_pairs=SKIP_PAIRS, phi_slope_max=0.01, **kwargs)
    task.options = TrackingDataOptions(**options)
    return task


def test_pid_regime_labels_differ_from_truth_graph():
    event = straight_track_event()
    plain = make_task().prepare(event.to_row())
    pid = make_task(regime=("pid",)).prepare(event.to_row())
    np.testing.assert_array_equal(plain["edge_index"], pid["edge_index"])
    src, dst = plain["edge_index"]
    layer = event.hits["layer_id"]
    skip = (layer[src] == 2) & (layer[dst] == 6)
    same = event.hits["particle_id"][src] == event.hits["particle_id"][dst]
    assert (skip & same).sum() == 2  # one skip edge per particle
    # the truth graph (modulewise) joins consecutive hits only; pid joins any pair of one particle
    assert not plain["y"][skip].any() and pid["y"][skip & same].all()
    assert plain["y"].sum() == 6 and pid["y"].sum() == 8
    np.testing.assert_array_equal(plain["y"] & ~skip, pid["y"] & ~skip)


def test_signal_and_weighting():
    event = straight_track_event()
    sample = make_task(regime=("weighting",), options={"pt_signal_cut": 1.0}).prepare(
        event.to_row()
    )
    y, signal = sample["y"], sample["signal"]
    particle = event.hits["particle_id"][sample["edge_index"][0]]
    np.testing.assert_array_equal(signal, y & (particle == 1))
    w = sample["edge_weight"]
    assert np.allclose(w[~y], 1.0) and np.isclose(w[y].mean(), 1.0)
    assert w[y & (particle == 1)].mean() > w[y & (particle == 2)].mean()  # hit weights 2 vs 1


def test_node_features_scaled_as_reference():
    event = straight_track_event()
    x = make_task().prepare(event.to_row())["x"]
    assert x.shape == (event.num_hits, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0], event.hits["r"] / 1000, rtol=1e-6)
    np.testing.assert_allclose(x[:, 1], event.hits["phi"] / np.pi, rtol=1e-6)
    np.testing.assert_allclose(x[:, 2], event.hits["z"] / 1000, rtol=1e-6)
    with pytest.raises(KeyError, match="cell_count"):
        make_task(cell_channels=1).prepare(event.to_row())


def test_infer_writes_scored_edges_that_a_stored_graph_task_reads():
    event = straight_track_event()
    task = make_task()
    torch.manual_seed(0)
    model = InteractionGNN(hidden=8, n_graph_iters=1)
    out = Event.from_row(task.infer(model, event.to_row()))
    expected = task.prepare(event.to_row())["edge_index"]
    np.testing.assert_array_equal(np.stack([out.edges["src"], out.edges["dst"]]), expected)
    assert out.edges["score"].dtype == np.float32 and out.edges["score"].shape == (
        expected.shape[1],
    )
    assert ((out.edges["score"] > 0) & (out.edges["score"] < 1)).all()

    stored = make_task(input_graph="stored")
    np.testing.assert_array_equal(stored.prepare(out.to_row())["edge_index"], expected)
    with pytest.raises(ValueError, match="needs events with a stored graph"):
        stored.prepare(event.to_row())


def test_stored_graph_follows_the_hit_selection():
    event = straight_track_event()
    order = np.r_[4:8, 0:4, 8]  # particle 2 (pT 0.7) first, then particle 1 (pT 2), then noise
    hits = {name: np.asarray(col)[order] for name, col in event.hits.items()}
    graph = {"src": np.array([0, 1, 4, 5, 6, 4]), "dst": np.array([1, 2, 5, 6, 7, 8])}
    stored = Event(event.event_id, hits, event.particles, edges=graph)
    task = make_task(input_graph="stored", options={"pt_background_cut": 1.0})
    sample = task.prepare(stored.to_row())
    # particle 2 and the noise hit are cut: particle 1's hits move to positions 0-3
    np.testing.assert_array_equal(sample["edge_index"], [[0, 1, 2], [1, 2, 3]])
    assert sample["x"].shape == (4, 3) and sample["y"].all()


class PerfectModel(nn.Module):
    """Logits +10 on true edges, -10 on the others (the labels are passed in)."""

    def __init__(self, y):
        super().__init__()
        self.y = y
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, edge_index):
        return {"edge_logits": torch.where(self.y, 10.0, -10.0) + self.dummy}


def test_metrics_of_perfect_scores():
    event = straight_track_event()
    task = make_task(options={"pt_signal_cut": 1.0})
    batch = task.collate([task.prepare(event.to_row())] * 2)
    stats = task.validation_step(PerfectModel(batch["y"]), batch)
    metrics = task.summarize(stats)
    assert set(metrics) == set(task.metrics)
    assert metrics["auc"] == 1.0
    assert metrics["efficiency"] == 1.0 and metrics["purity"] == 1.0
    assert metrics["signal_efficiency"] == 1.0 and metrics["signal_purity"] == 1.0
    assert metrics["loss"] < 1e-3
    assert stats["events"].item() == 2


def test_batch_loss_is_the_mean_of_event_losses():
    event = straight_track_event()
    task = make_task(weight=2.0)
    a = task.prepare(event.to_row())
    b = dict(a, y=~a["y"])  # a second event with other labels
    torch.manual_seed(0)
    model = InteractionGNN(hidden=8, n_graph_iters=1)
    loss_a = task.training_step(model, task.collate([a]))
    loss_b = task.training_step(model, task.collate([b]))
    loss_ab = task.training_step(model, task.collate([a, b]))
    torch.testing.assert_close(loss_ab, (loss_a + loss_b) / 2)
    # and each event's loss is the reference's BCE with pos_weight over both directions
    batch = task.collate([a])
    out = model(batch["x"], batch["edge_index"])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        out["edge_logits_both"], batch["y"].float().expand(2, -1), pos_weight=torch.tensor(2.0)
    )
    torch.testing.assert_close(loss_a, expected)


def test_weighting_weights_each_edge_of_the_loss_and_its_validation():
    """The ``weighting`` loss is torch's BCE with ``weight=`` the prepared per-edge weights."""
    event = straight_track_event()
    task = make_task(weight=2.0, regime=("weighting",))
    batch = task.collate([task.prepare(event.to_row())])
    w = batch["edge_weight"]
    assert w.shape == batch["y"].shape and not torch.allclose(w, torch.ones_like(w))
    torch.manual_seed(0)
    model = InteractionGNN(hidden=8, n_graph_iters=1)
    both = model(batch["x"], batch["edge_index"])["edge_logits_both"].detach()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    y2, w2 = batch["y"].float().expand(2, -1), w.expand(2, -1)
    expected = bce(both, y2, weight=w2, pos_weight=torch.tensor(2.0))
    unweighted = bce(both, y2, pos_weight=torch.tensor(2.0))
    assert not torch.isclose(expected, unweighted)
    torch.testing.assert_close(task.training_step(model, batch), expected)
    stats = task.validation_step(model, batch)
    assert task.summarize(stats)["loss"] == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.slow
def test_tiny_training_run_lowers_the_loss():
    (event,) = simulated_events(1, seed=3, rfactor=0.01)
    task = InteractionGNNTask(edge_cut=0.5, weight=2.0)
    task.options = TrackingDataOptions(pt_signal_cut=0.5)
    batch = task.collate([task.prepare(event.to_row())])
    assert batch["edge_index"].shape[1] > 100 and batch["y"].any()
    torch.manual_seed(0)
    model = InteractionGNN(hidden=32, n_graph_iters=3, nb_node_layer=2, nb_edge_layer=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = task.summarize(task.validation_step(model.eval(), batch))
    model.train()
    for _ in range(30):
        optimizer.zero_grad()
        loss = task.training_step(model, batch)
        loss.backward()
        optimizer.step()
    after = task.summarize(task.validation_step(model.eval(), batch))
    assert after["loss"] < 0.7 * before["loss"]
    assert after["auc"] > before["auc"] and after["auc"] > 0.8
