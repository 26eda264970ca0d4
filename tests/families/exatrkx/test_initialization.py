"""The interaction GNN's ``initialization`` (the reference's hyperparameter): the named
``torch.nn.init`` function on every ``Linear`` weight, biases 0; it validates and trains."""

from __future__ import annotations

import math
import typing

import pytest
import torch
from torch import nn

from raytrack.config import ConfigError, validate_experiment
from raytrack.families.exatrkx.gnn_task import InteractionGNNTask
from raytrack.families.exatrkx.interaction_gnn import Initialization, InteractionGNN
from raytrack.families.exatrkx.options import ExaTrkXDataOptions
from tests.conftest import simulated_events

SMALL = {"hidden": 16, "nb_node_layer": 1, "nb_edge_layer": 1, "n_graph_iters": 2}


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if type(m) is nn.Linear]


def built(initialization: str | None, seed: int = 0) -> InteractionGNN:
    torch.manual_seed(seed)
    return InteractionGNN(**SMALL, initialization=initialization)


@pytest.mark.parametrize("name", typing.get_args(Initialization))
def test_initialization_sets_every_linear_weight_and_zeroes_the_biases(name):
    default, chosen = built(None), built(name)
    layers = linear_layers(chosen)
    assert len(layers) == len(linear_layers(default)) > 4
    for mine, plain in zip(layers, linear_layers(default)):
        assert not torch.equal(mine.weight, plain.weight)  # same seed, other initial weights
        assert torch.count_nonzero(mine.bias) == 0
    assert any(torch.count_nonzero(p.bias) for p in linear_layers(default))
    # layer norms are not Linear: the reference leaves them as they are
    norms = [m for m in chosen.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(torch.all(n.weight == 1) for n in norms)


def test_initialization_draws_from_the_named_distribution():
    torch.manual_seed(0)
    model = InteractionGNN(hidden=256, nb_node_layer=1, n_graph_iters=1,
                           initialization="xavier_uniform_")  # fmt: skip
    for layer in linear_layers(model):
        fan_out, fan_in = layer.weight.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound
        if layer.weight.numel() > 10_000:  # enough draws: close to the bound, spread like U(-b, b)
            assert layer.weight.abs().max() > 0.99 * bound
            assert abs(layer.weight.std().item() - bound / math.sqrt(3)) < 0.02 * bound
    uniform = InteractionGNN(**SMALL, initialization="uniform_")
    weights = torch.cat([layer.weight.flatten() for layer in linear_layers(uniform)])
    assert weights.min() >= 0.0 and weights.max() <= 1.0  # torch.nn.init.uniform_: U(0, 1)


def test_an_initialised_gnn_trains():
    task = InteractionGNNTask(phi_slope_max=0.02, z0_max=400)
    task.options = ExaTrkXDataOptions(pt_signal_cut=0.5, true_edges="layerwise")
    batch = task.collate(
        [task.prepare(e.to_row()) for e in simulated_events(2, seed=5, rfactor=0.002)]
    )
    model = built("xavier_uniform_", seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = task.training_step(model, batch)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < 0.85 * losses[0]


def experiment(initialization: str) -> dict:
    return {
        "name": "init",
        "model": {
            "name": "exatrkx_gnn",
            "hparams": {"hidden": 8, "initialization": initialization},
        },
        "data": {"store": "unused"},
    }


def test_initialization_is_a_validated_hyperparameter():
    hparams = validate_experiment(experiment("kaiming_uniform_")).model.hparams
    assert hparams["initialization"] == "kaiming_uniform_"
    with pytest.raises(ConfigError) as caught:
        validate_experiment(experiment("glorot"))
    (problem,) = caught.value.problems
    assert problem.path == "model.hparams.initialization"
    assert "'glorot'" in problem.message and "xavier_uniform_" in problem.message
