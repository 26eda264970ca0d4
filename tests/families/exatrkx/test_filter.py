"""The Exa.TrkX filter model, its registration and the task's argument checks.

The task's data handling and regimes are in ``test_filter_regimes.py``, its training steps,
metrics and inference in ``test_filter_training.py``.
"""

from __future__ import annotations

import inspect
import typing

import pytest
import torch

from raytrack.families.exatrkx.filter import EdgeFilter
from raytrack.families.exatrkx.filter_task import FilterTask
from raytrack.registry import get_model, keyword_parameters

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
    with pytest.raises(ValueError, match="hidden\n  Input should be greater than or equal to 1"):
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
    for target in (EdgeFilter, FilterTask):
        for param in keyword_parameters(target):
            assert (
                param.kind is inspect.Parameter.KEYWORD_ONLY
                and param.annotation is not inspect.Parameter.empty
            ), param.name
    regime = inspect.signature(FilterTask, eval_str=True).parameters["regime"].annotation
    assert set(typing.get_args(typing.get_args(regime)[0])) == {"subset", "ci", "weighting", "pid"}


def test_task_arguments_are_checked():
    with pytest.raises(ValueError, match="ci regime.*cell_channels >= 1"):
        FilterTask(regime=("ci",))
    with pytest.raises(ValueError, match="cell_channels=9 without the ci regime"):
        FilterTask(cell_channels=9)
    with pytest.raises(ValueError, match="in_channels must be .* = 12, but got in_channels=3"):
        FilterTask(regime=("ci",), cell_channels=9)
    with pytest.raises(
        ValueError, match="regime.0\n  Input should be 'subset', 'ci', 'weighting' or 'pid'"
    ):
        FilterTask(regime=("norm",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_chunks\n  Input should be greater than or equal to 1"):
        FilterTask(n_chunks=0)
    with pytest.raises(
        ValueError, match="edges_per_batch\n  Input should be greater than or equal to 1"
    ):
        FilterTask(edges_per_batch=0)
