"""HyperTrack's evaluation measures (``hypertrack/measures.py``) and the TrackML score.

- :func:`edge_auc`: ROC AUC of the edge probabilities against the edge labels (exact, from
  scikit-learn; the reference integrates a 256-point curve). ``-1`` when only one class is
  present (the reference's convention).
- :func:`adjacency_metrics`: the predicted adjacency (edges kept) against the true one over all
  ``N²`` ordered hit pairs: ``tpr = TP/(TP+FN)``, ``fpr = FP/(FP+TN)``, ``pur = TP/(TP+FP)``,
  ``acc = (TP+TN)/N²`` and the counts (the reference's ``adjgraph_metrics``).
- :func:`majority_match`: the double-majority match of clusters to truth objects (the
  reference's ``majority_score``). A cluster and an object with at least ``hits_min`` hits each
  match when more than half of the cluster's hits are the object's and more than half of the
  object's hits are in the cluster (a pair is then unique both ways).
  ``efficiency = matched / #objects with ≥ hits_min hits``,
  ``purity = matched / #clusters`` (all clusters, as the reference counts them), and
  ``score = Σ_matched weight(cluster ∩ object) / Σ_{objects ≥ hits_min} weight(object)``.
- :func:`trackml_score_of_labels`: the TrackML score (the shared scorer,
  :mod:`raytrack.families.tracking.trackml_score`) of per-hit cluster labels, unclustered hits
  each their own one-hit track.

Labels are one per hit; ``-1`` is noise (truth) or "not in a cluster" (prediction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from raytrack.families.tracking.trackml_score import trackml_score


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def edge_auc(edge_prob, edge_label) -> float:
    """ROC AUC of ``edge_prob`` ``[E]`` against 0/1 ``edge_label`` ``[E]`` (−1: one class)."""
    y = _np(edge_label).astype(np.float64).round()
    if len(np.unique(y)) < 2:
        return -1.0
    return float(roc_auc_score(y, _np(edge_prob).astype(np.float64)))


def _pair_codes(edge_index, num_nodes: int) -> np.ndarray:
    ei = _np(edge_index).astype(np.int64)
    return np.unique(ei[0] * num_nodes + ei[1])


def adjacency_metrics(true_edges, pred_edges, num_nodes: int) -> dict[str, float]:
    """Adjacency metrics of ``pred_edges`` ``[2, E']`` against ``true_edges`` ``[2, E]``
    (ordered pairs; duplicates count once)."""
    t, p = _pair_codes(true_edges, num_nodes), _pair_codes(pred_edges, num_nodes)
    tp = int(np.intersect1d(t, p, assume_unique=True).size)
    fp, fn = int(p.size) - tp, int(t.size) - tp
    total = num_nodes * num_nodes
    tn = total - tp - fp - fn

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "N": num_nodes,
        "pos": tp + fn,
        "neg": tn + fp,
        "tp": tp,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "acc": ratio(tp + tn, total),
        "pur": ratio(tp, tp + fp),
        "tpr": ratio(tp, tp + fn),
        "fpr": ratio(fp, fp + tn),
    }


def majority_match(pred_labels, true_labels, hit_weights=None, hits_min: int = 4) -> dict:
    """Double-majority matching (see the module docstring): ``score``, ``efficiency``,
    ``purity``, the counts and ``match`` (per cluster label ``0..``, the matched truth label
    or ``-1``, as a dict)."""
    pred, true = _np(pred_labels).astype(np.int64), _np(true_labels).astype(np.int64)
    if pred.shape != true.shape:
        raise ValueError(
            f"pred_labels and true_labels differ in shape: {pred.shape} vs {true.shape}"
        )
    w = np.ones(len(true)) if hit_weights is None else _np(hit_weights).astype(np.float64)
    clusters, cluster_size = np.unique(pred[pred >= 0], return_counts=True)
    objects, object_size = np.unique(true[true >= 0], return_counts=True)
    csize = dict(zip(clusters.tolist(), cluster_size.tolist()))
    osize = dict(zip(objects.tolist(), object_size.tolist()))
    both = (pred >= 0) & (true >= 0)
    pairs = pd.DataFrame({"c": pred[both], "o": true[both], "w": w[both]})
    inter = pairs.groupby(["c", "o"], sort=True)["w"].agg(["size", "sum"]).reset_index()
    match: dict[int, int] = {}
    score_num = 0.0
    for c, o, n, wsum in inter.itertuples(index=False):
        if csize[c] < hits_min or osize[o] < hits_min:
            continue
        if 2 * n > csize[c] and 2 * n > osize[o]:
            match[int(c)] = int(o)
            score_num += float(wsum)
    eligible = objects[object_size >= hits_min]
    n_true = len(eligible)
    score_den = float(w[np.isin(true, eligible)].sum())
    return {
        "score": score_num / score_den if score_den > 0 else 0.0,
        "efficiency": len(match) / n_true if n_true else 0.0,
        "purity": len(match) / len(clusters) if len(clusters) else 0.0,
        "matched": len(match),
        "n_true": n_true,
        "n_clusters": len(clusters),
        "match": match,
    }


def trackml_score_of_labels(pred_labels, particle_id, weight) -> float:
    """TrackML score of per-hit cluster labels against ``particle_id`` (0: noise) and hit
    ``weight``; hits with label ``-1`` are each a one-hit track."""
    pred = _np(pred_labels).astype(np.int64)
    track = pred.copy()
    loose = pred < 0
    track[loose] = pred.max(initial=-1) + 1 + np.arange(int(loose.sum()))
    hit_id = np.arange(len(pred))
    truth = pd.DataFrame({"hit_id": hit_id, "particle_id": _np(particle_id), "weight": _np(weight)})
    return trackml_score(truth, pd.DataFrame({"hit_id": hit_id, "track_id": track}))


def cluster_metrics(pred_labels, particle_id, weight, hits_min: int = 4) -> dict[str, float]:
    """The family's cluster figures: ``efficiency``, ``purity``, ``majority_score`` and
    ``trackml_score`` (truth objects: ``particle_id`` > 0; the majority match unweighted by
    hit weight for efficiency/purity, weighted for its score)."""
    pid = _np(particle_id).astype(np.int64)
    true = np.where(pid == 0, -1, pid)
    mm = majority_match(pred_labels, true, weight, hits_min)
    return {
        "efficiency": mm["efficiency"],
        "purity": mm["purity"],
        "majority_score": mm["score"],
        "trackml_score": trackml_score_of_labels(pred_labels, pid, weight),
    }
