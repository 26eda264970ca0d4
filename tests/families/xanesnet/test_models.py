"""The six networks: shapes in both directions, the reference's size rules, independence of
items, and every initialiser a real code path."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from raytrack.families.xanesnet.ae_cnn import AECNN
from raytrack.families.xanesnet.batch_norm import BatchNorm1d
from raytrack.families.xanesnet.builders import (
    build_ae_cnn,
    build_ae_mlp,
    build_aegan_mlp,
    build_cnn,
    build_lstm,
    build_mlp,
)
from raytrack.families.xanesnet.fold_ensemble import FoldEnsemble
from raytrack.families.xanesnet.hparams import Initialiser
from raytrack.families.xanesnet.initialisation import INITIALISERS

SIZES = {"n_descriptor": 9, "n_points": 24}
TINY = {
    build_mlp: {"hidden_size": 8, "num_hidden_layers": 2},
    build_ae_mlp: {"hidden_size": 8, "num_hidden_layers": 2},
    build_cnn: {"hidden_size": 8, "out_channel": 2, "num_conv_layers": 2},
    build_ae_cnn: {"hidden_size": 8, "out_channel": 2, "num_conv_layers": 2},
    build_lstm: {"hidden_size": 4, "hidden_out_size": 4},
}


@pytest.mark.parametrize("direction", ["xyz_to_xanes", "xanes_to_xyz"])
@pytest.mark.parametrize("builder", list(TINY), ids=lambda b: b.__name__)
def test_output_shapes_in_both_directions(builder, direction):
    model = builder(**SIZES, **TINY[builder], direction=direction).eval()
    source, target = (9, 24) if direction == "xyz_to_xanes" else (24, 9)
    out = model(torch.randn(3, source))
    assert out["prediction"].shape == (3, target)
    if "reconstruction" in out:
        assert out["reconstruction"].shape == (3, source)


def test_aegan_predicts_both_ways_and_discriminates():
    model = build_aegan_mlp(**SIZES, hidden_size=8, n_hl_gen=1, n_hl_shared=1, n_hl_dis=1).eval()
    out = model(descriptor=torch.randn(3, 9), spectrum=torch.randn(3, 24))
    assert out["prediction_spectrum"].shape == (3, 24) and out["prediction_descriptor"].shape == (
        3,
        9,
    )
    assert set(model(spectrum=torch.randn(2, 24))) == {
        "reconstruction_spectrum",
        "prediction_descriptor",
    }
    logits = model.discriminate(torch.randn(3, 9), torch.randn(3, 24))
    assert logits["descriptor"].shape == (3,) and logits["spectrum"].shape == (3,)


@pytest.mark.parametrize("length, kernel, stride, layers", [(24, 3, 1, 3), (49, 3, 2, 3),
                                                             (226, 5, 3, 2), (10, 2, 2, 3)])  # fmt: skip
def test_ae_cnn_reconstructs_exactly_the_input_length(length, kernel, stride, layers):
    model = AECNN(length, 5, hidden_size=4, out_channel=2, channel_mul=2, num_conv_layers=layers,
                  kernel_size=kernel, stride=stride, dropout=0.0, activation="relu")  # fmt: skip
    assert model(torch.randn(2, length))["reconstruction"].shape == (2, length)


def test_size_rules_are_errors_that_name_the_hyperparameters():
    with pytest.raises(
        ValueError, match=r"hidden_size \* shrink_rate\*\*\(layers - 1\) must be at least 1"
    ):
        build_mlp(**SIZES, hidden_size=64, num_hidden_layers=5, shrink_rate=0.2)
    with pytest.raises(ValueError, match="shorter than kernel_size=3 .* use fewer layers"):
        build_cnn(**SIZES, num_conv_layers=5, kernel_size=3, stride=1)
    with pytest.raises(ValidationError, match="kernel_init"):
        build_mlp(**SIZES, kernel_init="glorot")
    with pytest.raises(ValidationError, match="n_points"):
        build_mlp(n_descriptor=9, n_points=1)


def test_lstm_items_do_not_depend_on_their_batch():
    model = build_lstm(**SIZES, hidden_size=4, hidden_out_size=4, num_layers=2).eval()
    x = torch.randn(4, 9)
    with torch.no_grad():
        together = model(x)["prediction"]
        alone = torch.cat([model(x[i : i + 1])["prediction"] for i in range(4)])
    assert torch.allclose(together, alone, atol=1e-6)


def test_batch_norm_trains_on_a_single_item_with_its_running_statistics():
    norm = BatchNorm1d(3).train()
    with torch.no_grad():
        norm.running_mean.fill_(1.0)
    out = norm(torch.tensor([[1.0, 2.0, 3.0]]))
    assert torch.allclose(out, torch.tensor([[0.0, 1.0, 2.0]]), atol=1e-4)
    assert norm(torch.randn(4, 3)).shape == (4, 3)


def _weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("builder", [build_mlp, build_cnn, build_lstm], ids=lambda b: b.__name__)
@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_every_initialiser_changes_the_weights_against_the_default(builder, name: Initialiser):
    default = _weights(builder(**SIZES, **TINY[builder], weight_init_seed=1))
    if name != "xavier_uniform":  # the kernel_init default
        kernel = _weights(builder(**SIZES, **TINY[builder], weight_init_seed=1, kernel_init=name))
        assert not torch.equal(kernel, default)
    if name != "zeros":  # the bias_init default
        bias = _weights(builder(**SIZES, **TINY[builder], weight_init_seed=1, bias_init=name))
        assert not torch.equal(bias, default)


def test_weight_init_seed_fixes_the_weights():
    a = _weights(build_mlp(**SIZES, hidden_size=8, num_hidden_layers=2, weight_init_seed=5))
    b = _weights(build_mlp(**SIZES, hidden_size=8, num_hidden_layers=2, weight_init_seed=5))
    c = _weights(build_mlp(**SIZES, hidden_size=8, num_hidden_layers=2, weight_init_seed=6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_kfold_builds_one_member_per_fold_each_seeded_apart():
    model = build_mlp(
        **SIZES,
        hidden_size=8,
        num_hidden_layers=2,
        kfold=True,
        n_splits=3,
        n_repeats=2,
        weight_init_seed=0,
    )
    assert isinstance(model, FoldEnsemble) and len(model.members) == 6 and model.n_repeats == 2
    first, second = (_weights(m) for m in model.members[:2])
    assert not torch.equal(first, second)
    x = torch.randn(2, 9)
    with torch.no_grad():
        mean = torch.stack([m(x)["prediction"] for m in model.members.eval()]).mean(0)
        assert torch.allclose(model.eval()(x)["prediction"], mean)
