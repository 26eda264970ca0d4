"""Radius + kNN graph construction against brute force, on every backend."""

from __future__ import annotations

import pytest
import torch

from raytrack.families.exatrkx.neighbors import radius_knn, unique_pairs

BACKENDS = ("torch", "faiss", "kdtree")


def brute_force(query, database, r, k, query_index, exclude_self=True):
    """The reference definition, one query at a time, exact distances."""
    found = set()
    for i in range(query.shape[0]):
        d2 = (database - query[i]).pow(2).sum(1)
        order = torch.argsort(d2, stable=True).tolist()
        if exclude_self:
            order = [j for j in order if j != int(query_index[i])]
        if k is not None:
            order = order[:k]
        found |= {(int(query_index[i]), j) for j in order if d2[j] <= r * r}
    return found


def clustered_points(n: int, dim: int, seed: int) -> torch.Tensor:
    """Points in tight clusters (like a trained embedding), no two at the same distance."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n // 8 + 1, dim, generator=g)
    which = torch.randint(0, centres.shape[0], (n,), generator=g)
    return centres[which] + 0.03 * torch.randn(n, dim, generator=g)


def boundary_safe(pairs: set, points: torch.Tensor, r: float) -> set:
    """Drop pairs whose distance is within float32 rounding of the radius."""
    return {
        (a, b) for a, b in pairs if abs(float((points[a] - points[b]).pow(2).sum()) - r * r) > 1e-5
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 5, None])
def test_graph_equals_brute_force(backend, k):
    x = clustered_points(300, 6, seed=1)
    r = 0.08
    edges, d2 = radius_knn(x, x, r, k, backend=backend)
    got = {tuple(e) for e in edges.t().tolist()}
    want = brute_force(x, x, r, k, torch.arange(300))
    assert edges.dtype == torch.long and len(got) == edges.shape[1]  # no duplicates
    assert boundary_safe(got, x, r) == boundary_safe(want, x, r)
    assert len(want) > 150  # the case is not trivial
    assert torch.allclose(d2, (x[edges[0]] - x[edges[1]]).pow(2).sum(1), atol=1e-6)
    assert bool((d2 <= r * r).all())


@pytest.mark.parametrize("backend", BACKENDS)
def test_queries_are_a_subset_with_their_own_positions(backend):
    x = clustered_points(200, 4, seed=2)
    query_index = torch.tensor([5, 17, 60, 199])
    edges, _ = radius_knn(x[query_index], x, 0.1, 3, query_index=query_index, backend=backend)
    assert set(edges[0].tolist()) <= set(query_index.tolist())
    assert bool((edges[0] != edges[1]).all())  # no query paired with itself
    assert {tuple(e) for e in edges.t().tolist()} == brute_force(
        x[query_index], x, 0.1, 3, query_index
    )
    counts = torch.bincount(edges[0], minlength=200)
    assert int(counts.max()) <= 3


def test_backends_agree_and_self_pairs_can_be_kept():
    x = clustered_points(500, 8, seed=3)
    graphs = [radius_knn(x, x, 0.1, 10, backend=b)[0] for b in BACKENDS]
    codes = [set((g[0] * 500 + g[1]).tolist()) for g in graphs]
    assert codes[0] == codes[1] == codes[2]
    with_self, _ = radius_knn(x, x, 0.1, 10, exclude_self=False)
    assert int((with_self[0] == with_self[1]).sum()) == 500


def test_unique_pairs_drops_direction_duplicates_and_self_loops():
    edges = torch.tensor([[0, 1, 2, 2, 3], [1, 0, 2, 3, 2]])
    assert unique_pairs(edges, 4).tolist() == [[0, 2], [1, 3]]


def test_bad_arguments_name_the_rule():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="r must be positive"):
        radius_knn(x, x, 0.0, 2)
    with pytest.raises(ValueError, match="k must be at least 1"):
        radius_knn(x, x, 1.0, 0)
    with pytest.raises(ValueError, match=r"\(Q, D\) and \(M, D\)"):
        radius_knn(x, torch.zeros(3, 3), 1.0, 2)
    with pytest.raises(ValueError, match="unknown backend"):
        radius_knn(x, x, 1.0, 2, backend="annoy")  # type: ignore[arg-type]
    edges, d2 = radius_knn(x[:0], x, 1.0, 2)
    assert edges.shape == (2, 0) and d2.shape == (0,)
