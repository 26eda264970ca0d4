"""The set transformer of HyperTrack's clustering: MAB/SAB, masks and permutation behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.hypertrack.set_transformer import MAB, SAB, ClusterTransformer


def _transformer(seed: int = 0, **kwargs) -> ClusterTransformer:
    torch.manual_seed(seed)
    return ClusterTransformer(**{"in_dim": 6, "h_dim": 8, "nstack_dec": 2, **kwargs}).eval()


def _inputs(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 5, 6, generator=g), torch.randn(2, 3, 6, generator=g)


def test_output_shape():
    X, P = _inputs()
    assert _transformer()(X, P).shape == (2, 5, 1)


def test_one_head_attention_by_hand():
    torch.manual_seed(0)
    mab = MAB(2, 2, 2, num_heads=1, ln=False).eval()
    Q, K = torch.tensor([[[1.0, 0.0]]]), torch.tensor([[[0.0, 1.0], [2.0, 0.0]]])
    with torch.no_grad():
        q, k, v = mab.W_q(Q), mab.W_k(K), mab.W_v(K)
        a = torch.softmax((q @ k.transpose(1, 2)) / math.sqrt(2), dim=-1)
        h = Q + mab.W_o(a @ v)
        torch.testing.assert_close(mab(Q, K), h + mab.mlp(h))


def test_members_are_permutation_equivariant_and_pivots_permutation_invariant():
    model = _transformer()
    X, P = _inputs()
    px, pp = torch.tensor([4, 2, 0, 1, 3]), torch.tensor([2, 0, 1])
    with torch.no_grad():
        out = model(X, P)
        torch.testing.assert_close(model(X[:, px], P), out[:, px], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model(X, P[:, pp]), out, atol=1e-5, rtol=1e-4)


def test_padding_behind_the_masks_changes_nothing():
    model = _transformer()
    X, P = _inputs()
    Xp = torch.cat([X, 100 * torch.ones(2, 4, 6)], dim=1)
    Pp = torch.cat([P, -50 * torch.ones(2, 2, 6)], dim=1)
    xm = torch.arange(9).expand(2, 9) < 5
    pm = torch.arange(5).expand(2, 5) < 3
    with torch.no_grad():
        torch.testing.assert_close(model(Xp, Pp, xm, pm)[:, :5], model(X, P), atol=1e-5, rtol=1e-4)
        assert not torch.allclose(model(Xp, Pp)[:, :5], model(X, P))


@pytest.mark.parametrize(
    "change",
    [
        {"nstack_dec": 0},
        {"MAB_dec": {"num_heads": 2}},
        {"SAB_dec": {"ln": False}},
        {"MAB_dec": {"MLP_param": {"last_act": False}}},
        {"MLP_enc": {"act": "relu"}},
        {"MLP_mask": {"act": "tanh"}},
    ],
)
def test_every_option_changes_the_result(change):
    X, P = _inputs()
    with torch.no_grad():
        assert not torch.allclose(_transformer(**change)(X, P), _transformer()(X, P))


def test_self_attention_block_is_mab_of_the_set_with_itself():
    torch.manual_seed(0)
    sab = SAB(4, num_heads=2).eval()
    X = torch.randn(1, 3, 4)
    with torch.no_grad():
        torch.testing.assert_close(sab(X), sab.mab(X, X))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"MAB_dec": {"num_heads": 3}}, "divisible by num_heads"),
        ({"SAB_dec": {"heads": 2}}, "SAB_dec: unknown key"),
        ({"h_dim": 2}, "h_dim must be at least 4"),
        ({"nstack_dec": -1}, "nstack_dec must be at least 0"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClusterTransformer(**{"in_dim": 6, "h_dim": 8, **kwargs})


def test_wrong_input_width_is_an_error():
    X, P = _inputs()
    with pytest.raises(ValueError, match="in_dim=7"):
        ClusterTransformer(in_dim=7, h_dim=8)(X, P)
