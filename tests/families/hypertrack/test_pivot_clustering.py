"""Pivot seeding and the transformer clustering loop (with a real transformer whose mask
decoder is set to a constant logit, so the expected clusters can be counted by hand)."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.hypertrack.cluster_losses import cluster_losses
from raytrack.families.hypertrack.member_threshold import fisher_threshold
from raytrack.families.hypertrack.pivot_clustering import (
    transformer_clustering,
    transformer_options,
)
from raytrack.families.hypertrack.pivot_seeding import (
    greedy_pivots,
    random_walk_pivots,
    seed_candidates,
)
from raytrack.families.hypertrack.set_transformer import ClusterTransformer

Z_DIM = 5


def constant_transformer(logit: float) -> ClusterTransformer:
    torch.manual_seed(0)
    model = ClusterTransformer(in_dim=Z_DIM + 3, h_dim=8, nstack_dec=1)
    last = model.mask_decoder[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(logit)
    return model


def chain(n: int = 8, p: float = 0.9):
    """Hits 0..n-1 on the x axis at x = 1..n, linked i <-> i+1 at probability p."""
    i = torch.arange(n - 1)
    ei = torch.cat([torch.stack([i, i + 1]), torch.stack([i + 1, i])], dim=1)
    x = torch.stack([torch.arange(1.0, n + 1), torch.zeros(n), torch.zeros(n)], dim=1)
    z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(0))
    return x, z, ei, torch.full((ei.shape[1],), p)


def run(logit: float = 5.0, n: int = 8, **params):
    x, z, ei, p = chain(n)
    options = {"seed_strategy": "min", **params}
    return transformer_clustering(constant_transformer(logit), x, z, ei, p, params=options)


def test_seed_candidates_by_strategy():
    norm = torch.tensor([3.0, 1.0, 4.0, 2.0])
    norm_T = torch.tensor([1.0, 4.0, 2.0, 3.0])
    active = torch.tensor([True, True, False, True])
    pick = lambda s: seed_candidates(active, norm, norm_T, 2, s)
    assert pick("max") == [0, 3] and pick("min") == [1, 3]
    assert pick("max_T") == [1, 3] and pick("min_T") == [0, 3]
    assert sorted(pick("random")) in ([0, 1], [0, 3], [1, 3])
    with pytest.raises(ValueError, match="seed_strategy must be one of"):
        pick("far")


def adjacency() -> torch.Tensor:
    adj = torch.zeros(5, 5)
    for (i, j), p in {(0, 1): 0.9, (1, 2): 0.8, (1, 3): 0.7, (0, 4): 0.5}.items():
        adj[i, j] = adj[j, i] = p
    return adj


def test_greedy_walk_takes_the_strongest_edges_and_the_best_seed():
    adj, active = adjacency(), torch.ones(5, dtype=torch.bool)
    assert greedy_pivots([0], active, adj, 3, 0.4) == [0, 1, 2]
    assert greedy_pivots([0], active, adj, 3, 0.85) == [0, 1]  # 0.8 is not above 0.85
    # from 4: log-odds(0.5) + log-odds(0.9) < from 0: log-odds(0.9) + log-odds(0.8)
    assert greedy_pivots([4, 0], active, adj, 3, 0.4) == [0, 1, 2]
    active[2] = False
    assert greedy_pivots([0], active, adj, 3, 0.4) == [0, 1, 3]


def test_random_walk_follows_the_only_edges_above_threshold():
    adj, active = adjacency(), torch.ones(5, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    assert random_walk_pivots([0], active, adj, 3, 0.75, random_paths=5, generator=g) == [0, 1, 2]
    walks = {tuple(random_walk_pivots([0], active, adj, 3, 0.6, 1, g)) for _ in range(40)}
    assert walks == {(0, 1, 2), (0, 1, 3)}


def test_fisher_threshold_splits_two_modes():
    assert fisher_threshold(torch.tensor([0.1, 0.12, 0.9, 0.95]).numpy(), [0.3, 0.5, 0.95]) == 0.3
    assert fisher_threshold(torch.tensor([0.7, 0.7]).numpy(), [0.4, 0.5]) == 0.5


def test_pivot_spanned_micrographs_grow_clusters_of_pivot_neighbours():
    out = run()
    # pivots 0,1,2 span {0,1,2,3}; then 4,5,6 span {4,5,6,7}
    assert out.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert out.trials == 2 and len(out.clusters) == 2
    assert out.clusters[0].pivots.tolist() == [0, 1, 2]
    assert out.clusters[0].micrograph.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "params, labels",
    [
        ({"micrograph_mode": "full"}, [0] * 8),
        ({"seed_strategy": "max"}, [1, 1, 1, 1, 0, 0, 0, 0]),
        ({"min_cluster_size": 5, "max_failures": 1}, [-1] * 8),
        ({"N_pivots": 2, "min_cluster_size": 3}, [0, 0, 0, 1, 1, 1, -1, -1]),
    ],
)
def test_parameters_change_the_clusters(params, labels):
    assert run(**params).labels.tolist() == labels


def test_thresholds_fixed_fisher_and_soft():
    full = {"micrograph_mode": "full"}
    fisher = run(threshold_algo="fisher", ktop_max=4, **full)
    assert sorted(torch.bincount(fisher.labels).tolist()) == [4, 4]
    logit = math.log(0.6 / 0.4)  # every score is 0.6
    assert run(logit, fixed_threshold=0.5, **full).labels.tolist() == [0] * 8
    assert run(logit, fixed_threshold=0.65, **full).labels.tolist() == [-1] * 8
    x, z, ei, p = chain()
    soft = constant_transformer(logit)
    with torch.no_grad():
        soft.thr.fill_(0.55)
    opts = {"threshold_algo": "soft", **full}
    assert transformer_clustering(soft, x, z, ei, p, params=opts).labels.tolist() == [0] * 8
    with torch.no_grad():
        soft.thr.fill_(0.7)
    assert transformer_clustering(soft, x, z, ei, p, params=opts).labels.tolist() == [-1] * 8


def test_rejected_clusters_count_failures_and_the_loop_ends():
    out = run(-5.0, max_failures=2)
    assert out.labels.tolist() == [-1] * 8 and out.clusters == []
    assert int(out.failures.max()) == 2 and out.trials > 0


def test_small_components_and_weak_edges_are_left_out():
    x, z, ei, p = chain(8)
    p[[2, 9]] = 0.3  # cut the link 2 <-> 3: components {0,1,2} and {3..7}
    out = transformer_clustering(
        constant_transformer(5.0), x, z, ei, p, params={"seed_strategy": "min"}
    )
    assert out.labels[:3].tolist() == [-1, -1, -1]
    # pivots 3,4,5 span {3,4,5,6}; hit 7 alone is fewer than N_pivots
    assert out.labels[3:].tolist() == [0, 0, 0, 0, -1]
    mc = transformer_clustering(
        constant_transformer(5.0),
        x,
        z,
        ei,
        p,
        params={"random_paths": 4},
        generator=torch.Generator().manual_seed(0),
    )
    assert mc.labels[3:].tolist() == [0, 0, 0, 0, -1]


def test_cluster_logits_carry_gradients_to_the_latents_and_the_transformer():
    x, z, ei, p = chain()
    z.requires_grad_(True)
    model = constant_transformer(5.0)
    with torch.no_grad():
        model.mask_decoder[-1].weight.normal_()
    out = transformer_clustering(
        model, x, z, ei, p, params={"seed_strategy": "min", "fixed_threshold": 0.0}
    )
    truth = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    losses = cluster_losses(out.clusters, truth, cluster_contrastive={"type": "dice"})
    (losses["cluster_BCE"] + losses["cluster_contrastive"]).backward()
    assert z.grad.abs().sum() > 0 and model.mask_decoder[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "params, message",
    [
        ({"N_pivot": 3}, "unknown key"),
        ({"threshold_algo": "otsu"}, "threshold_algo must be one of"),
        ({"micrograph_mode": "all"}, "micrograph_mode must be one of"),
        ({"N_pivots": 0}, "N_pivots must be at least 1"),
    ],
)
def test_bad_parameters_name_the_key(params, message):
    with pytest.raises(ValueError, match=message):
        transformer_options(params)
