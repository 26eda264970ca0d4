"""acorn's interaction GNN (``InteractionGNN2``): equivalence to acorn's forward, options, training."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.utils import scatter

from raytrack.families.exatrkx.interaction_gnn2 import InteractionGNN2
from raytrack.families.exatrkx.mlp import SplitInputMLP
from raytrack.registry import get_model

SMALL = {"hidden": 8, "n_graph_iters": 3, "n_node_net_layers": 2, "n_edge_net_layers": 2,
         "n_edge_decoder_layers": 2}  # fmt: skip


def graph(nodes=40, edges=200, features=3, edge_features=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(nodes, features, generator=g)
    edge_index = torch.randint(0, nodes, (2, edges), generator=g)
    attr = torch.randn(edges, edge_features, generator=g) if edge_features else None
    return x, edge_index, attr


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def acorn_forward(model: InteractionGNN2, x, edge_index, edge_attr=None):
    """acorn's ``InteractionGNN2.forward`` written plainly (concatenations, PyG scatter sums,
    every iteration decoded), with ``model``'s weights."""

    def mlp(split: SplitInputMLP, inputs):
        return split.rest(split.first(inputs))

    def network(networks, i):
        return networks[i] if isinstance(networks, nn.ModuleList) else networks

    src, dst = edge_index
    x = model.node_encoder(x)
    e = mlp(model.edge_encoder, torch.cat([x[src], x[dst]], -1) if edge_attr is None else edge_attr)
    input_x, input_e = x, e
    outputs = []
    for i in range(model.n_graph_iters):
        if model.concat:
            x, e = torch.cat([x, input_x], -1), torch.cat([e, input_e], -1)
        e = mlp(network(model.edge_network, i), torch.cat([e, x[src], x[dst]], -1))
        from_src = scatter(e, dst, 0, dim_size=x.shape[0], reduce="sum")
        from_dst = scatter(e, src, 0, dim_size=x.shape[0], reduce="sum")
        if model.in_out_diff_agg:
            inputs = torch.cat([from_src, from_dst, x], -1)
        else:
            inputs = torch.cat([from_src + from_dst, x], -1)
        x = mlp(network(model.node_network, i), inputs)
        outputs.append(model.edge_output_transform(model.edge_decoder(e)))
    return outputs[-1].squeeze(-1)


@pytest.mark.parametrize("concat", [True, False])
@pytest.mark.parametrize("in_out_diff_agg", [True, False])
@pytest.mark.parametrize("recurrent", [True, False])
@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_matches_acorn_forward(concat, in_out_diff_agg, recurrent, norm):
    torch.manual_seed(0)
    model = InteractionGNN2(**SMALL, concat=concat, in_out_diff_agg=in_out_diff_agg,
                            node_net_recurrent=recurrent, edge_net_recurrent=recurrent,
                            batchnorm=norm == "batchnorm", layernorm=norm == "layernorm",
                            checkpointing=False)  # fmt: skip
    x, edge_index, _ = graph()
    torch.testing.assert_close(
        model(x, edge_index)["edge_logits"], acorn_forward(model, x, edge_index)
    )


def test_matches_acorn_forward_with_edge_features_and_cells():
    torch.manual_seed(0)
    model = InteractionGNN2(**SMALL, cell_channels=9, edge_channels=6, checkpointing=False)
    x, edge_index, attr = graph(features=12, edge_features=6)
    torch.testing.assert_close(
        model(x, edge_index, attr)["edge_logits"], acorn_forward(model, x, edge_index, attr)
    )


def test_parameter_count_of_separate_networks():
    h, t = SMALL["hidden"], SMALL["n_graph_iters"]
    separate = InteractionGNN2(**SMALL)  # the CTD 2023 defaults: non-recurrent, concat
    shared = InteractionGNN2(**SMALL, node_net_recurrent=True, edge_net_recurrent=True)
    # Linear(in, h), BatchNorm (2h), ReLU, Linear(h, h), ReLU
    edge_net = 6 * h * h + h + 2 * h + h * h + h
    node_net = 4 * h * h + h + 2 * h + h * h + h  # [Σ in, Σ out, x, x⁰]
    assert n_params(shared.edge_network) == edge_net
    assert n_params(shared.node_network) == node_net
    assert len(separate.edge_network) == len(separate.node_network) == t
    assert n_params(separate) == n_params(shared) + (t - 1) * (edge_net + node_net)


def test_recurrent_and_separate_networks_differ():
    x, edge_index, _ = graph()
    torch.manual_seed(0)
    separate = InteractionGNN2(**SMALL)
    torch.manual_seed(0)
    shared = InteractionGNN2(**SMALL, node_net_recurrent=True, edge_net_recurrent=True)
    with torch.no_grad():
        assert not torch.allclose(
            separate(x, edge_index)["edge_logits"], shared(x, edge_index)["edge_logits"]
        )


def test_checkpointing_gives_the_same_gradients_and_a_step_trains():
    x, edge_index, _ = graph()
    y = (torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(1)) < 0.3).float()
    grads, losses = [], []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = InteractionGNN2(**SMALL, checkpointing=checkpointing)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

        def loss_of(model=model):
            logits = model(x, edge_index)["edge_logits"]
            return nn.functional.binary_cross_entropy_with_logits(logits, y)

        loss = loss_of()
        loss.backward()
        grads.append([p.grad for p in model.parameters()])
        optimizer.step()
        with torch.no_grad():
            losses.append((loss.item(), loss_of().item()))
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)
    assert all(after < before for before, after in losses)
    # as in acorn, the last iteration's hit update does not reach the logits
    last = model.node_network[-1]
    assert all(p.grad is None for p in last.parameters())
    assert sum(p.grad is None for p in model.parameters()) == len(list(last.parameters()))


def test_bfloat16_gives_the_float32_loss_to_a_tolerance():
    x, edge_index, _ = graph(nodes=200, edges=1600)
    y = (torch.rand(1600, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    torch.manual_seed(0)
    fp32 = InteractionGNN2(**SMALL)
    bf16 = InteractionGNN2(**SMALL, precision="bfloat16")
    bf16.load_state_dict(fp32.state_dict())
    losses = []
    for model in (fp32, bf16):
        logits = model(x, edge_index)["edge_logits"]
        assert logits.dtype == torch.float32
        losses.append(nn.functional.binary_cross_entropy_with_logits(logits, y))
    losses[1].backward()
    assert all(p.grad.dtype == torch.float32 for p in bf16.parameters() if p.grad is not None)
    torch.testing.assert_close(losses[1], losses[0], rtol=2e-2, atol=0)


def test_registered_with_the_gnn_task():
    entry = get_model("exatrkx_gnn2")
    model, task = entry.build({"hidden": 8, "n_graph_iters": 2, "edge_cut": 0.3}, {})
    assert isinstance(model, InteractionGNN2) and len(model.edge_network) == 2
    assert task.edge_cut == 0.3
