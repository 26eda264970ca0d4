"""Pivot seeding for HyperTrack's transformer clustering: seed candidates and pivot walks.

Within one weakly connected component (local dense adjacency ``adj`` of edge probabilities,
symmetric, zero where no edge survived ``edge_threshold``):

1. :func:`seed_candidates` picks up to ``seed_ktop_max`` active hits by ``seed_strategy``:
   ``random``; ``max`` / ``min`` (largest / smallest coordinate norm); ``max_T`` / ``min_T``
   (largest / smallest transverse norm, the first two coordinates).
2. A walk grows a pivot list from a candidate: the next pivot is the active neighbour of the
   last pivot (pivots excluded) with the highest edge probability (:func:`greedy_pivots`), or one
   drawn in proportion to the probabilities (:func:`random_walk_pivots`, ``random_paths`` walks),
   while that probability exceeds ``diffuse_threshold``, up to ``N_pivots`` pivots. A walk scores
   the sum of the log-odds ``log(p / (1 − p + 1e-3))`` of its steps; the best complete walk wins
   (a complete walk beats an incomplete one; among equals, the higher score).
"""

from __future__ import annotations

import torch

SEED_STRATEGIES = ("random", "max", "min", "max_T", "min_T")
_EPS = 1e-3


def seed_candidates(
    active: torch.Tensor,
    norm: torch.Tensor,
    norm_T: torch.Tensor,
    seed_ktop_max: int,
    seed_strategy: str,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Up to ``seed_ktop_max`` local indices of active hits, by ``seed_strategy``."""
    nonzero = torch.nonzero(active).view(-1)
    k = min(seed_ktop_max, len(nonzero))
    if seed_strategy == "random":
        pick = torch.randperm(len(nonzero), generator=generator)[:k]
    elif seed_strategy in ("max", "min", "max_T", "min_T"):
        values = (norm_T if seed_strategy.endswith("_T") else norm)[nonzero]
        pick = torch.topk(values, k=k, largest=seed_strategy.startswith("max")).indices
    else:
        raise ValueError(
            f"seed_strategy must be one of {list(SEED_STRATEGIES)}, but got {seed_strategy!r}"
        )
    return nonzero[pick].tolist()


def _step_row(adj: torch.Tensor, active: torch.Tensor, pivots: list[int]) -> torch.Tensor:
    row = adj[pivots[-1]] * active
    row[pivots] = 0.0
    return row


def _better(pivots: list[int], weight: float, best: list[int], best_weight: float) -> bool:
    return (len(pivots), weight) > (len(best), best_weight)


def greedy_pivots(
    seeds: list[int], active: torch.Tensor, adj: torch.Tensor, N_pivots: int, threshold: float
) -> list[int]:
    """The best greedy (max-probability) walk from any of ``seeds``."""
    best: list[int] = []
    best_weight = float("-inf")
    for seed in seeds:
        pivots, weight = [seed], 0.0
        while len(pivots) < N_pivots:
            row = _step_row(adj, active, pivots)
            k = int(torch.argmax(row))
            p = float(row[k])
            if p <= threshold:
                break
            pivots.append(k)
            weight += float(torch.log(torch.tensor(p / (1.0 - p + _EPS))))
        if _better(pivots, weight, best, best_weight):
            best, best_weight = pivots, weight
    return best


def random_walk_pivots(
    seeds: list[int],
    active: torch.Tensor,
    adj: torch.Tensor,
    N_pivots: int,
    threshold: float,
    random_paths: int,
    generator: torch.Generator | None = None,
) -> list[int]:
    """The best of ``random_paths`` Monte Carlo walks, each from a random one of ``seeds``."""
    best: list[int] = []
    best_weight = float("-inf")
    for _ in range(random_paths):
        seed = seeds[int(torch.randint(len(seeds), (1,), generator=generator))]
        pivots, weight = [seed], 0.0
        while len(pivots) < N_pivots:
            row = _step_row(adj, active, pivots)
            ok = torch.nonzero(row > threshold).view(-1)
            if len(ok) == 0:
                break
            j = int(ok[torch.multinomial(row[ok], 1, generator=generator)])
            p = float(row[j])
            pivots.append(j)
            weight += float(torch.log(torch.tensor(p / (1.0 - p + _EPS))))
        if _better(pivots, weight, best, best_weight):
            best, best_weight = pivots, weight
    return best
