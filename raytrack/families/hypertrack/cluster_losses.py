"""HyperTrack's cluster losses over the transformer's clusters (``hyperaux.cluster_loss``).

For each cluster (a :class:`~raytrack.families.hypertrack.pivot_clustering.ClusterAttempt`)
the *target object* is the most frequent truth label among its pivots (``meta_target:
pivotmajor``) or among its members (``major``), ties to the smallest label; the target of a
micrograph hit is 1 when it belongs to that object (all 0 when the object is noise, ``-1``).

- ``cluster_BCE``: :func:`~raytrack.families.hypertrack.losses.binary_loss` (``Focal`` / ``BCE``
  / ``BCE+Hinge``, summed) over the micrograph with weights ``1/n`` (or the hit weights
  normalised over the micrograph, ``weights: true``); the total is divided by the number of
  clusters ``K``.
- ``cluster_contrastive`` by ``type``, with scores ``p = sigmoid(logit)`` (after the soft
  threshold for ``threshold_algo: soft``):

  - ``dice``: ``1 − (2 Σ p t + smooth) / (Σ p + Σ t + smooth)``, summed over clusters, / K;
  - ``jaccard``: ``1 − (Σ p t + smooth) / (Σ p + Σ t − Σ p t + smooth)``, summed, / K;
  - ``intersect``: ``−Σ_micrograph w_i p_i`` with ``w_i = +ω_i`` for members of the object,
    ``−ω_i`` for members outside it and 0 otherwise; ``ω`` is ``1/N`` for each of the event's
    ``N`` hits (or the normalised hit weights); summed over clusters, plus 1.

No cluster: both terms are 0.

The reference scores the accepted clusters only. Then a transformer that rejects every attempt
gets no gradient and stays there (a tiny event shows it: ``test_model.py``); passing the
rejected attempts too (``result.clusters + result.rejected``, with ``K`` their total number)
keeps the signal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from raytrack.families.hypertrack.losses import binary_loss, options, widen
from raytrack.families.hypertrack.pivot_clustering import ClusterAttempt

CLUSTER_BCE_DEFAULTS: dict[str, Any] = {
    "weights": False,
    "type": "Focal",
    "gamma": 1.0,
    "delta": 0.05,
}
CLUSTER_CONTRASTIVE_DEFAULTS: dict[str, Any] = {
    "weights": False,
    "type": "intersect",
    "smooth": 1.0,
}
CLUSTER_CONTRASTIVE_TYPES = ("intersect", "dice", "jaccard")
META_TARGETS = ("pivotmajor", "major")


def target_object(labels: torch.Tensor) -> int:
    """The most frequent label (ties to the smallest)."""
    values, counts = torch.unique(labels, return_counts=True)
    return int(values[torch.argmax(counts)])


def set_loss(prob: torch.Tensor, target: torch.Tensor, type: str, smooth: float) -> torch.Tensor:
    """``dice`` or ``jaccard`` loss of one cluster (scores ``prob``, 0/1 ``target``)."""
    inter = (prob * target).sum()
    total = prob.sum() + target.sum()
    if type == "dice":
        return 1.0 - (2.0 * inter + smooth) / (total + smooth)
    return 1.0 - (inter + smooth) / (total - inter + smooth)


def cluster_losses(
    clusters: Sequence[ClusterAttempt],
    true_labels: torch.Tensor,
    hit_weights: torch.Tensor | None = None,
    cluster_BCE: Mapping[str, Any] | None = None,
    cluster_contrastive: Mapping[str, Any] | None = None,
    meta_target: str = "pivotmajor",
) -> dict[str, torch.Tensor]:
    """``{"cluster_BCE": …, "cluster_contrastive": …}`` of an event (see the module docstring)."""
    pb = options(cluster_BCE, CLUSTER_BCE_DEFAULTS, "cluster_BCE")
    pc = options(cluster_contrastive, CLUSTER_CONTRASTIVE_DEFAULTS, "cluster_contrastive")
    if pc["type"] not in CLUSTER_CONTRASTIVE_TYPES:
        raise ValueError(
            f"cluster_contrastive.type must be one of {list(CLUSTER_CONTRASTIVE_TYPES)}, but got {pc['type']!r}"
        )
    if meta_target not in META_TARGETS:
        raise ValueError(
            f"meta_target must be one of {list(META_TARGETS)}, but got {meta_target!r}"
        )
    if (pb["weights"] or pc["weights"]) and hit_weights is None:
        raise ValueError("cluster losses with weights: true need the hit weights")
    if not clusters:
        zero = torch.zeros((), dtype=torch.float32)
        return {"cluster_BCE": zero, "cluster_contrastive": zero.clone()}
    truth = true_labels.cpu()
    n = len(truth)
    bce_sum, set_sum = 0.0, 0.0
    for c in clusters:
        logits, prob = widen(c.logits), widen(c.prob)
        obj = target_object(truth[c.pivots if meta_target == "pivotmajor" else c.members])
        target = ((truth[c.micrograph] == obj) & (obj >= 0)).to(logits.dtype).to(logits.device)
        w = torch.full_like(target, 1.0 / len(target))
        if pb["weights"]:
            hw = hit_weights[c.micrograph.to(hit_weights.device)].to(logits.dtype).to(logits.device)
            w = hw / hw.sum() if float(hw.sum()) > 0 else w  # all weightless: uniform
        bce_sum = bce_sum + binary_loss(
            logits, target, w, pb["type"], pb["gamma"], pb["delta"], "sum"
        )
        if pc["type"] == "intersect":
            omega = torch.full((n,), 1.0 / n, dtype=torch.float64)
            if pc["weights"] and float(hit_weights.sum()) > 0:
                omega = (hit_weights / hit_weights.sum()).detach().cpu().double()
            sign = torch.zeros(n)
            sign[c.members] = torch.where((truth[c.members] == obj) & (obj >= 0), 1.0, -1.0)
            w_micro = (sign * omega)[c.micrograph].to(prob.dtype).to(prob.device)
            set_sum = set_sum - (w_micro * prob).sum()
        else:
            set_sum = set_sum + set_loss(torch.sigmoid(logits), target, pc["type"], pc["smooth"])
    k = len(clusters)
    contrastive = set_sum + 1.0 if pc["type"] == "intersect" else set_sum / k
    return {"cluster_BCE": bce_sum / k, "cluster_contrastive": contrastive}
