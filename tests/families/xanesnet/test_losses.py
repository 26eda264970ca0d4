"""Every loss against a value computed by hand, the regularisers, and the bad widths."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.xanesnet.losses import WCCLoss, make_loss, regularisation

P = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]])
T = torch.tensor([[0.0, 2.0, 1.0], [0.0, 0.5, 1.0]])


def test_mse_l1_and_bce_per_item():
    assert torch.allclose(make_loss("mse", None)(P, T), torch.tensor([2 / 3, 0.25 / 3]))
    assert torch.allclose(make_loss("l1", None)(P, T), torch.tensor([2 / 3, 0.5 / 3]))
    expected = []
    for p_row, t_row in zip(P.tolist(), T.tolist()):
        terms = [-(t * math.log(1 / (1 + math.exp(-p))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-p))))
                 for p, t in zip(p_row, t_row)]  # fmt: skip
        expected.append(sum(terms) / 3)
    assert torch.allclose(make_loss("bce", None)(P, T), torch.tensor(expected))


def test_emd_is_the_mean_squared_difference_of_cumulative_spectra():
    # item 0: cumulative p = [1, 3, 3], t = [0, 2, 3] → differences 1, 1, 0
    # item 1: cumulative p = [0, 1, 2], t = [0, 0.5, 1.5] → differences 0, 0.5, 0.5
    assert torch.allclose(make_loss("emd", None)(P, T), torch.tensor([2 / 3, 0.5 / 3]))


def test_cosine_is_one_minus_the_similarity_so_aligned_spectra_score_lowest():
    cosine = make_loss("cosine", None)
    # item 0: p.t = 4, |p| = sqrt(5), |t| = sqrt(5) → 1 - 4/5
    assert cosine(P[:1], T[:1]).item() == pytest.approx(0.2)
    assert cosine(T, T).abs().max().item() < 1e-6
    assert cosine(T, -T).min().item() == pytest.approx(2.0)


def test_wcc_against_an_explicit_sum_over_lags():
    hwhm = 2.0
    sigma = hwhm / math.sqrt(2 * math.log(2))
    weight = lambda r: math.exp(-(r**2) / (2 * sigma**2))

    def correlation(x, y):  # sum over lags r of w(r) * sum_j x[j + r] y[j]
        n = len(x)
        return sum(weight(r) * sum(x[j + r] * y[j] for j in range(n) if 0 <= j + r < n)
                   for r in range(-(n - 1), n))  # fmt: skip

    loss = WCCLoss(hwhm)(P, T)
    for index, (p, t) in enumerate(zip(P.tolist(), T.tolist())):
        similarity = correlation(p, t) / math.sqrt(correlation(p, p) * correlation(t, t))
        assert loss[index].item() == pytest.approx(1 - similarity, rel=1e-5)
    assert WCCLoss(10.0)(T, T).abs().max().item() < 1e-6
    assert make_loss("wcc", None).hwhm == 10.0


@pytest.mark.parametrize("width", [0.0, -3.0])
def test_wcc_with_a_non_positive_width_is_an_error_naming_loss_args(width):
    with pytest.raises(ValueError, match=f"loss_args=.*{width}"):
        make_loss("wcc", width)


def test_a_non_positive_width_fails_validation_before_anything_runs():
    from raytrack.config import ConfigError, validate_experiment

    with pytest.raises(ConfigError, match="model.hparams.loss_args"):
        validate_experiment({
            "name": "bad", "model": {"name": "mlp", "hparams": {
                "n_descriptor": 49, "n_points": 226, "loss_fn": "wcc", "loss_args": 0}},
            "data": {"store": "nowhere"},
        }, source="test")  # fmt: skip


def test_l1_and_l2_penalties():
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
        layer.bias.fill_(3.0)
    assert regularisation([layer], "L1").item() == pytest.approx(6.0)
    assert regularisation([layer], "L2").item() == pytest.approx(14.0)
    assert regularisation([layer], None) is None
