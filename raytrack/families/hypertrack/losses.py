"""HyperTrack's edge losses and the weighted total (``hypertrack/losses.py``, ``hyperaux.py``).

Total loss = Σ_k beta[k] · term[k] over ``edge_BCE``, ``edge_contrastive``, ``cluster_BCE`` and
``cluster_contrastive`` (reference weights 0.2, 1.0, 0.2, 0.2; :data:`BETA_DEFAULTS`).

``edge_BCE`` (one per event, over the candidate edges, labels 0/1):

- ``BCE``: ``mean_e(w_e · bce_e)`` (divided by the number of edges, as ``torch``'s weighted mean);
- ``Focal``: ``Σ_e (1 − p_t)^gamma · w_e · bce_e / Σ_e w_e`` with ``p_t = exp(−bce_e)``;
- ``BCE+Hinge``: ``(1 − delta) · BCE + delta · Σ_e w_e max(0, 1 − y±_e · logit_e) / Σ_e w_e``.

With ``edge_balance`` the true edges weigh ``#false / #true`` (others 1); ``remove_self_edges``
leaves out ``i → i`` edges.

``edge_contrastive`` (supervised contrastive, softmax with temperature ``tau``): over the edges
with probability above ``min_prob``, scores ``s = tanh(logit)``; for each true object ``o`` (up
to ``sub_sample`` of them, drawn at random), its positive edges join two of its hits (not a
self-edge), its negative edges exactly one. Per object
``nll_o = mean_{e ∈ pos(o)} −log(exp(s_e/τ) / (exp(s_e/τ) + Σ_{n ∈ neg(o)} exp(s_n/τ)))``, and
``loss = Σ_o W_o nll_o / Σ_o W_o / mean_o |o|`` over the objects with a positive edge, ``W_o``
the sum of the object's hit weights (``weights: true``) or 1, ``|o|`` its number of hits.

Truth labels: one per hit, ``-1`` for noise; any other integer names an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

BETA_DEFAULTS: dict[str, float] = {
    "edge_BCE": 0.2,
    "edge_contrastive": 1.0,
    "cluster_BCE": 0.2,
    "cluster_contrastive": 0.2,
}
EDGE_BCE_DEFAULTS: dict[str, Any] = {
    "type": "Focal",
    "gamma": 1.0,
    "delta": 0.05,
    "remove_self_edges": False,
    "edge_balance": True,
}
EDGE_CONTRASTIVE_DEFAULTS: dict[str, Any] = {
    "weights": True,
    "type": "softmax",
    "tau": 0.3,
    "sub_sample": 300,
    "min_prob": 1e-3,
}
BINARY_LOSS_TYPES = ("Focal", "BCE", "BCE+Hinge")


def widen(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 at least (losses of bfloat16/float16 outputs are computed in float32)."""
    return t if t.dtype == torch.float64 else t.float()


def options(params: Mapping[str, Any] | None, defaults: Mapping[str, Any], name: str) -> dict:
    """``defaults`` updated by ``params``; an unknown key is an error naming ``name``."""
    unknown = sorted(set(params or {}) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown}; allowed: {sorted(defaults)}")
    out = {**defaults, **(params or {})}
    if "type" in out and name.endswith("BCE") and out["type"] not in BINARY_LOSS_TYPES:
        raise ValueError(
            f"{name}.type must be one of {list(BINARY_LOSS_TYPES)}, but got {out['type']!r}"
        )
    return out


def binary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    type: str = "Focal",
    gamma: float = 1.0,
    delta: float = 0.05,
    reduction: str = "mean",
) -> torch.Tensor:
    """The ``Focal`` / ``BCE`` / ``BCE+Hinge`` loss with per-element ``weight`` (see the module
    docstring); ``reduction='sum'`` sums the weighted terms instead (cluster losses)."""
    if type not in BINARY_LOSS_TYPES:
        raise ValueError(f"type must be one of {list(BINARY_LOSS_TYPES)}, but got {type!r}")
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    mean = reduction == "mean"
    if type == "Focal":
        focal = (1.0 - torch.exp(-bce)) ** gamma * weight * bce
        return focal.sum() / weight.sum() if mean else focal.sum()
    bce_w = (weight * bce).mean() if mean else (weight * bce).sum()
    if type == "BCE":
        return bce_w
    hinge = weight * torch.clamp(1.0 - logits * (2.0 * target - 1.0), min=0.0)
    hinge = hinge.sum() / weight.sum() if mean else hinge.sum()
    return (1.0 - delta) * bce_w + delta * hinge


def edge_bce_loss(
    edge_logits: torch.Tensor,
    edge_label: torch.Tensor,
    edge_index: torch.Tensor | None = None,
    params: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """``edge_BCE`` over the edges (``edge_label`` 0/1 ``[E]``); ``params``: :data:`EDGE_BCE_DEFAULTS`."""
    p = options(params, EDGE_BCE_DEFAULTS, "edge_BCE")
    label = edge_label.to(edge_logits.dtype)
    valid = torch.ones_like(label, dtype=torch.bool)
    if p["remove_self_edges"]:
        if edge_index is None:
            raise ValueError("edge_BCE.remove_self_edges needs the edge_index")
        valid = edge_index[0] != edge_index[1]
    logits, label = widen(edge_logits[valid]), label[valid].to(widen(edge_logits).dtype)
    weight = torch.ones_like(label)
    n_pos = int((label == 1).sum())
    if p["edge_balance"] and n_pos > 0:
        weight = torch.where(label == 1, (label == 0).sum() / n_pos, weight)
    return binary_loss(logits, label, weight, p["type"], p["gamma"], p["delta"], "mean")


def compact_labels(true_labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Truth labels renumbered ``0..K−1`` (noise stays ``-1``) and the number of objects ``K``."""
    out = torch.full_like(true_labels, -1)
    valid = true_labels >= 0
    uniq, inv = torch.unique(true_labels[valid], return_inverse=True)
    out[valid] = inv
    return out, len(uniq)


def edge_contrastive_loss(
    edge_logits: torch.Tensor,
    edge_index: torch.Tensor,
    true_labels: torch.Tensor,
    hit_weights: torch.Tensor | None = None,
    params: Mapping[str, Any] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``edge_contrastive``; ``params``: :data:`EDGE_CONTRASTIVE_DEFAULTS`."""
    p = options(params, EDGE_CONTRASTIVE_DEFAULTS, "edge_contrastive")
    if p["type"] != "softmax":
        raise ValueError(f"edge_contrastive.type must be 'softmax', but got {p['type']!r}")
    if not p["tau"] > 0:
        raise ValueError(f"edge_contrastive.tau must be positive, but got tau={p['tau']}")
    lab, k = compact_labels(true_labels.to(edge_index.device))
    keep = torch.sigmoid(edge_logits) > p["min_prob"]
    src, dst = edge_index[0, keep], edge_index[1, keep]
    s = torch.tanh(widen(edge_logits[keep])) / p["tau"]
    a, b = lab[src], lab[dst]
    selected = torch.ones(k, dtype=torch.bool, device=lab.device)
    if k > p["sub_sample"]:
        pick = torch.randperm(k, generator=generator)[: int(p["sub_sample"])]
        selected = torch.zeros_like(selected)
        selected[pick.to(lab.device)] = True
    exp_s = torch.exp(s)
    neg = a != b
    negsum = exp_s.new_zeros(k)
    for side in (a, b):
        m = neg & (side >= 0)
        negsum = negsum.index_add(0, side[m], exp_s[m])
    pos = (a == b) & (a >= 0) & (src != dst) & selected[a.clamp_min(0)]
    o = a[pos]
    nll = -s[pos] + torch.log(exp_s[pos] + negsum[o])
    count = torch.bincount(o, minlength=k)
    used = count > 0
    if not bool(used.any()):
        return edge_logits.sum() * 0.0
    nll_o = s.new_zeros(k).index_add(0, o, nll)[used] / count[used]
    valid = lab >= 0
    hits = torch.bincount(lab[valid], minlength=k)[used].to(s.dtype)
    if p["weights"] and hit_weights is not None:
        w = s.new_zeros(k).index_add(0, lab[valid], hit_weights[valid].to(s.dtype))[used]
    else:
        w = torch.ones_like(nll_o)
    return (w * nll_o).sum() / w.sum() / hits.mean()


def total_loss(
    terms: Mapping[str, torch.Tensor], beta: Mapping[str, float] | None = None
) -> torch.Tensor:
    """``Σ beta[k] · terms[k]`` over the terms given (``beta``: :data:`BETA_DEFAULTS` updated)."""
    b = options(beta, BETA_DEFAULTS, "beta")
    unknown = sorted(set(terms) - set(b))
    if unknown:
        raise ValueError(f"unknown loss term(s) {unknown}; known: {sorted(b)}")
    if not terms:
        raise ValueError("total_loss needs at least one term")
    return sum(b[name] * value for name, value in terms.items())
