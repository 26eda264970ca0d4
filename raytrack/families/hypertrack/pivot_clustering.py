"""HyperTrack's transformer clustering: clusters grown from pivot hits by the set transformer.

The graph is sparsified at ``edge_threshold`` and split into weakly connected components of at
least ``min_graph`` hits (components are processed in ``worker_split`` chunks, all components of
a chunk batched through the transformer together). In every round, each component with at least
``N_pivots`` active hits gets a pivot list (:mod:`~raytrack.families.hypertrack.pivot_seeding`);
its *micrograph* is the active hits adjacent to a pivot (``micrograph_mode: pivot-spanned``) or
all active hits of the component (``full``), pivots included. The transformer scores each
micrograph hit from ``[z, x]`` (GNN latent and coordinates) against the pivots; the hits above
the threshold (``threshold_algo``: ``fixed`` at ``fixed_threshold``; ``fisher``: Otsu's
threshold among the top ``ktop_max`` scores over the grid ``fisher_threshold``; ``soft``: scores
``p · sigmoid((p − thr) / tau)`` above the learnable ``thr``) form a cluster when there are at
least ``min_cluster_size`` of them, and leave the active set. A failed walk or a too-small
cluster counts a failure on its pivots; a hit with ``max_failures`` failures leaves the active
set. The loop ends when no component has ``N_pivots`` active hits.

:func:`transformer_clustering` returns the per-hit labels and, for training, every accepted
cluster's logits with its micrograph, pivots and members (global hit indices), which
:func:`raytrack.families.hypertrack.losses.cluster_losses` scores against the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from raytrack.families.hypertrack.clustering import sparsify, weak_components
from raytrack.families.hypertrack.member_threshold import choose_members
from raytrack.families.hypertrack.pivot_seeding import (
    SEED_STRATEGIES,
    greedy_pivots,
    random_walk_pivots,
    seed_candidates,
)
from raytrack.families.hypertrack.set_transformer import ClusterTransformer

TRANSFORMER_DEFAULTS: dict[str, Any] = {
    "seed_strategy": "random",
    "seed_ktop_max": 2,
    "N_pivots": 3,
    "random_paths": 1,
    "max_failures": 2,
    "diffuse_threshold": 0.4,
    "micrograph_mode": "pivot-spanned",
    "threshold_algo": "fixed",
    "tau": 0.001,
    "ktop_max": 30,
    "fisher_threshold": [round(0.4 + 0.01 * i, 2) for i in range(21)],
    "fixed_threshold": 0.5,
    "min_cluster_size": 4,
}
"""``cluster_param['transformer']`` of the reference (``global_tune-5.py``); its
``fisher_threshold`` grid is empty there (``fisher`` unused), here 0.40, 0.41, …, 0.60."""


def transformer_options(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``cluster_param['transformer']`` and fill the defaults; errors name the key."""
    unknown = sorted(set(params or {}) - set(TRANSFORMER_DEFAULTS))
    if unknown:
        raise ValueError(
            f"cluster_param.transformer: unknown key(s) {unknown}; allowed: {sorted(TRANSFORMER_DEFAULTS)}"
        )
    p = {**TRANSFORMER_DEFAULTS, **(params or {})}
    choices = {
        "seed_strategy": SEED_STRATEGIES,
        "micrograph_mode": ("pivot-spanned", "full"),
        "threshold_algo": ("fixed", "fisher", "soft"),
    }
    for key, allowed in choices.items():
        if p[key] not in allowed:
            raise ValueError(
                f"cluster_param.transformer.{key} must be one of {list(allowed)}, but got {p[key]!r}"
            )
    for key in (
        "seed_ktop_max",
        "N_pivots",
        "random_paths",
        "max_failures",
        "ktop_max",
        "min_cluster_size",
    ):
        if int(p[key]) < 1:
            raise ValueError(
                f"cluster_param.transformer.{key} must be at least 1, but got {p[key]}"
            )
    return p


@dataclass
class ClusterAttempt:
    """One accepted cluster: the transformer's logits ``[n]`` and scores ``prob`` ``[n]`` over
    its micrograph's hits ``micrograph`` ``[n]``; its ``pivots`` and chosen ``members``."""

    logits: torch.Tensor
    prob: torch.Tensor
    micrograph: torch.Tensor
    pivots: torch.Tensor
    members: torch.Tensor


@dataclass
class ClusteringResult:
    """Per-hit ``labels`` ``[N]`` (``-1``: no cluster); for the transformer also the accepted
    clusters in order, its rejected attempts (fewer than ``min_cluster_size`` members; both are
    what :func:`~raytrack.families.hypertrack.cluster_losses.cluster_losses` scores), the
    transformer calls and per-hit failure counts."""

    labels: torch.Tensor
    clusters: list[ClusterAttempt] = field(default_factory=list)
    rejected: list[ClusterAttempt] = field(default_factory=list)
    trials: int = 0
    failures: torch.Tensor | None = None


def _local_adjacencies(
    components: list[np.ndarray], edge_index: np.ndarray, prob: np.ndarray, num_nodes: int
) -> list[torch.Tensor]:
    """Each component's dense symmetric adjacency of edge probabilities (one pass over edges)."""
    comp = np.full(num_nodes, -1, dtype=np.int64)
    local = np.zeros(num_nodes, dtype=np.int64)
    for c, glob in enumerate(components):
        comp[glob] = c
        local[glob] = np.arange(len(glob))
    owner = comp[edge_index[0]]
    inside = (owner >= 0) & (owner == comp[edge_index[1]])
    order = np.argsort(owner[inside], kind="stable")
    src, dst = local[edge_index[0][inside]][order], local[edge_index[1][inside]][order]
    values = prob[inside][order]
    bounds = np.searchsorted(owner[inside][order], np.arange(len(components) + 1))
    out = []
    for c, glob in enumerate(components):
        sl = slice(bounds[c], bounds[c + 1])
        adj = torch.zeros(len(glob), len(glob))
        adj[src[sl], dst[sl]] = torch.from_numpy(values[sl]).float()
        out.append(torch.maximum(adj, adj.T))
    return out


def _pad(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(r) for r in rows)
    out = rows[0].new_zeros((len(rows), n, rows[0].shape[-1]))
    mask = torch.zeros((len(rows), n), dtype=torch.bool, device=rows[0].device)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = True
    return out, mask


def transformer_clustering(
    transformer: ClusterTransformer,
    x: torch.Tensor,
    z: torch.Tensor,
    edge_index: torch.Tensor,
    edge_prob: torch.Tensor,
    *,
    edge_threshold: float = 0.55,
    min_graph: int = 4,
    worker_split: int = 4,
    params: Mapping[str, Any] | None = None,
    generator: torch.Generator | None = None,
) -> ClusteringResult:
    """Cluster the hits (``x`` ``[N, coord_dim]``, latents ``z`` ``[N, z_dim]``) of a graph
    with edge probabilities ``edge_prob`` ``[E]``; see the module docstring.

    Gradients flow from the returned clusters' logits into ``transformer``, ``z`` and ``x``.
    """
    p = transformer_options(params)
    n = x.shape[0]
    keep = sparsify(edge_index, edge_prob, edge_threshold)
    ei = edge_index[:, keep].detach().cpu()
    prob = edge_prob[keep].detach().cpu().to(torch.float64).numpy()
    components = weak_components(ei, n, min_graph)
    xc = x.detach().cpu().float()
    norm, norm_T = xc.norm(dim=-1), xc[:, :2].norm(dim=-1)
    result = ClusteringResult(
        labels=torch.full((n,), -1, dtype=torch.long), failures=torch.zeros(n, dtype=torch.long)
    )
    ei_np = ei.numpy()
    feats = torch.cat([z, x.to(z.dtype)], dim=-1)
    adjacencies = _local_adjacencies(components, ei_np, prob, n)
    for chunk in np.array_split(
        np.arange(len(components)), max(1, min(worker_split, len(components)))
    ):
        graphs = [
            {
                "glob": torch.from_numpy(components[c]),
                "adj": adjacencies[c],
                "active": torch.ones(len(components[c]), dtype=torch.bool),
                "done": False,
            }
            for c in chunk
        ]
        _cluster_chunk(graphs, transformer, feats, norm, norm_T, p, result, generator)
    return result


def _fail(g: dict, local: list[int], result: ClusteringResult, max_failures: int) -> None:
    idx = g["glob"][local]
    result.failures[idx] += 1
    g["active"][torch.tensor(local)[result.failures[idx] >= max_failures]] = False


def _cluster_chunk(graphs, transformer, feats, norm, norm_T, p, result, generator) -> None:
    while not all(g["done"] for g in graphs):
        batch = []
        for g in graphs:
            if g["done"]:
                continue
            if int(g["active"].sum()) < p["N_pivots"]:
                g["done"] = True
                continue
            glob = g["glob"]
            seeds = seed_candidates(
                g["active"],
                norm[glob],
                norm_T[glob],
                p["seed_ktop_max"],
                p["seed_strategy"],
                generator,
            )
            walk = (
                greedy_pivots(seeds, g["active"], g["adj"], p["N_pivots"], p["diffuse_threshold"])
                if p["random_paths"] <= 1
                else random_walk_pivots(
                    seeds,
                    g["active"],
                    g["adj"],
                    p["N_pivots"],
                    p["diffuse_threshold"],
                    p["random_paths"],
                    generator,
                )
            )
            if len(walk) < p["N_pivots"]:
                _fail(g, walk, result, p["max_failures"])
                continue
            if p["micrograph_mode"] == "full":
                micro = g["active"].clone()
            else:
                micro = (g["adj"][walk] > 0).any(dim=0) & g["active"]
                micro[walk] = True
            batch.append((g, walk, torch.nonzero(micro).view(-1)))
        if not batch:
            continue
        dev = feats.device
        X, X_mask = _pad([feats[g["glob"][m].to(dev)] for g, _, m in batch])
        P, P_mask = _pad([feats[g["glob"][w].to(dev)] for g, w, _ in batch])
        logits_all = transformer(X, P, X_mask, P_mask)[..., 0]
        result.trials += 1
        for k, (g, walk, micro) in enumerate(batch):
            logits = logits_all[k, : len(micro)]
            prob, chosen = choose_members(torch.sigmoid(logits), transformer, p)
            chosen = chosen.cpu()
            members = micro[chosen]
            if len(chosen) < p["min_cluster_size"]:
                _fail(g, walk, result, p["max_failures"])
                result.rejected.append(
                    ClusterAttempt(
                        logits, prob, g["glob"][micro], g["glob"][walk], g["glob"][members]
                    )
                )
                continue
            g["active"][members] = False
            label = len(result.clusters)
            result.labels[g["glob"][members]] = label
            result.clusters.append(
                ClusterAttempt(
                    logits=logits,
                    prob=prob,
                    micrograph=g["glob"][micro],
                    pivots=g["glob"][walk],
                    members=g["glob"][members],
                )
            )
            if int(g["active"].sum()) < p["N_pivots"]:
                g["done"] = True
