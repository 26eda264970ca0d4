"""HyperTrack's validation statistics of one event (additive) and the metrics from their sums.

:func:`event_statistics` gives tensors that add over events and workers:

- ``edge_histograms``: positive/negative edge-score histograms (the shared
  :func:`~raytrack.families.tracking.edge_metrics.score_histograms`) → ``edge_auc``;
- ``adjacency``: ``[TP, FP, FN, TN]`` of the edges above ``edge_threshold`` against the true
  adjacency over all ``N²`` ordered pairs (:func:`~raytrack.families.hypertrack.measures.adjacency_metrics`)
  → ``adj_tpr``, ``adj_fpr``, ``adj_pur``;
- ``clusters``: ``[matched, objects ≥ hits_min, clusters]`` of the double-majority match
  → ``efficiency``, ``purity`` (pooled over events);
- ``scores``: ``[majority score, TrackML score, events]`` → per-event means ``majority_score``,
  ``trackml_score``.

Events validated without clustering (``labels=None``) add edge statistics only; then the cluster
metrics are ``nan``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from raytrack.families.hypertrack.measures import (
    adjacency_metrics,
    majority_match,
    trackml_score_of_labels,
)
from raytrack.families.tracking.edge_metrics import roc_auc_from_histograms, score_histograms

VALIDATION_METRICS = (
    "edge_auc",
    "adj_tpr",
    "adj_fpr",
    "adj_pur",
    "efficiency",
    "purity",
    "majority_score",
    "trackml_score",
)


def event_statistics(
    edge_index: torch.Tensor,
    edge_prob: torch.Tensor,
    edge_label: torch.Tensor,
    num_nodes: int,
    *,
    edge_threshold: float = 0.55,
    true_edges: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    particle_id: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    hits_min: int = 4,
    bins: int = 1000,
) -> dict[str, torch.Tensor]:
    """Additive statistics of one event (see the module docstring). ``true_edges``: the event's
    true adjacency (default: the candidate edges labelled true); ``labels``: predicted cluster per
    hit (``-1``: none), scored against ``particle_id`` (0: noise) and hit ``weight``."""
    truth = edge_label.bool().to(edge_index.device)
    kept = edge_index[:, (edge_prob > edge_threshold).to(edge_index.device)]
    true = edge_index[:, truth] if true_edges is None else true_edges
    adj = adjacency_metrics(true, kept, num_nodes)
    stats = {
        "edge_histograms": score_histograms(edge_prob.detach().cpu(), truth.cpu(), bins),
        "adjacency": torch.tensor(
            [adj["tp"], adj["fp"], adj["fn"], adj["tn"]], dtype=torch.float64
        ),
        "clusters": torch.zeros(3, dtype=torch.float64),
        "scores": torch.zeros(3, dtype=torch.float64),
    }
    if labels is not None:
        if particle_id is None or weight is None:
            raise ValueError("cluster statistics need the hits' particle_id and weight")
        pid = np.asarray(particle_id.cpu() if hasattr(particle_id, "cpu") else particle_id).astype(
            np.int64
        )
        mm = majority_match(labels, np.where(pid == 0, -1, pid), weight, hits_min)
        stats["clusters"] = torch.tensor(
            [mm["matched"], mm["n_true"], mm["n_clusters"]], dtype=torch.float64
        )
        score = trackml_score_of_labels(labels, pid, weight)
        stats["scores"] = torch.tensor([mm["score"], score, 1.0], dtype=torch.float64)
    return stats


def validation_metrics(totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The :data:`VALIDATION_METRICS` from summed :func:`event_statistics`."""

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    h = totals["edge_histograms"]
    tp, fp, fn, tn = totals["adjacency"].tolist()
    matched, n_true, n_clusters = totals["clusters"].tolist()
    majority, trackml, events = totals["scores"].tolist()
    return {
        "edge_auc": roc_auc_from_histograms(h[0], h[1]),
        "adj_tpr": ratio(tp, tp + fn),
        "adj_fpr": ratio(fp, fp + tn),
        "adj_pur": ratio(tp, tp + fp),
        "efficiency": ratio(matched, n_true),
        "purity": ratio(matched, n_clusters),
        "majority_score": ratio(majority, events),
        "trackml_score": ratio(trackml, events),
    }
