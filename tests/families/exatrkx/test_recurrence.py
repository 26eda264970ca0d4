"""``node_net_recurrent`` / ``edge_net_recurrent`` of the Exa.TrkX interaction GNN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from raytrack.families.exatrkx.interaction_gnn import InteractionGNN
from raytrack.registry import get_model
from tests.families.exatrkx.test_interaction_gnn import random_graph

SMALL = {"hidden": 8, "n_graph_iters": 3, "nb_node_layer": 2, "nb_edge_layer": 2}


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def mlp_params(inputs: int, hidden: int, layers: int) -> int:
    """Linear layers ``inputs → hidden × layers`` with a LayerNorm after each hidden one."""
    return inputs * hidden + hidden + (layers - 1) * (hidden * hidden + 3 * hidden)


@pytest.mark.parametrize(("node", "edge"), [(False, False), (False, True), (True, False)])
def test_non_recurrent_networks_are_separate_per_iteration(node, edge):
    torch.manual_seed(0)
    recurrent = InteractionGNN(**SMALL)
    model = InteractionGNN(**SMALL, node_net_recurrent=node, edge_net_recurrent=edge)
    h, t = SMALL["hidden"], SMALL["n_graph_iters"]
    edge_net = mlp_params(3 * h, h, SMALL["nb_edge_layer"])
    node_net = mlp_params(3 * h, h, SMALL["nb_node_layer"])  # sum_max: [x, max, sum]
    assert n_params(recurrent.edge_network) == edge_net
    assert n_params(recurrent.node_network) == node_net
    extra = (0 if edge else (t - 1) * edge_net) + (0 if node else (t - 1) * node_net)
    assert n_params(model) == n_params(recurrent) + extra
    if not edge:
        assert isinstance(model.edge_network, nn.ModuleList) and len(model.edge_network) == t
        first = [net.first.weight for net in model.edge_network]
        assert all(a.data_ptr() != b.data_ptr() for a, b in zip(first, first[1:]))


def test_non_recurrent_differs_and_equals_recurrent_with_shared_weights():
    x, edge_index = random_graph()
    torch.manual_seed(0)
    recurrent = InteractionGNN(**SMALL)
    separate = InteractionGNN(**SMALL, node_net_recurrent=False, edge_net_recurrent=False)
    with torch.no_grad():
        assert not torch.allclose(
            recurrent(x, edge_index)["edge_logits"], separate(x, edge_index)["edge_logits"]
        )
        # every iteration given the recurrent model's networks: the same model
        state = recurrent.state_dict()
        for key, value in recurrent.state_dict().items():
            for module in ("edge_network", "node_network"):
                if key.startswith(module + "."):
                    del state[key]
                    for i in range(SMALL["n_graph_iters"]):
                        state[key.replace(module, f"{module}.{i}", 1)] = value
        separate.load_state_dict(state)
        torch.testing.assert_close(
            separate(x, edge_index)["edge_logits"], recurrent(x, edge_index)["edge_logits"]
        )


def test_non_recurrent_trains_and_checkpointing_gives_the_same_gradients():
    x, edge_index = random_graph()
    grads, losses = [], []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = InteractionGNN(
            **SMALL, node_net_recurrent=False, edge_net_recurrent=False, checkpointing=checkpointing
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss = model(x, edge_index)["edge_logits"].square().mean()
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
        optimizer.step()
        with torch.no_grad():
            losses.append((loss.item(), model(x, edge_index)["edge_logits"].square().mean()))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    for before, after in losses:
        assert after < before


def test_recurrence_is_a_gnn_hyperparameter():
    entry = get_model("exatrkx_gnn")
    model, _ = entry.build(
        {"hidden": 8, "n_graph_iters": 2, "node_net_recurrent": False, "edge_net_recurrent": False},
        {},
    )
    assert len(model.node_network) == 2 and len(model.edge_network) == 2
