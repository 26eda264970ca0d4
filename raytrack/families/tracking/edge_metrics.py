"""Edge-classification metrics of graph stages (filter, GNN): efficiency, purity, ROC AUC, for
all true edges and for signal edges.

Everything is computed from *additive statistics* so that it merges over batches and DDP
workers: counts at a score cut (:func:`edge_counts`) and score histograms of positive and
negative edges (:func:`score_histograms`), from which :func:`roc_auc_from_histograms` gives the
ROC AUC. With ``B`` uniform bins on ``[0, 1]`` the AUC is exact up to pairs of a positive and a
negative whose scores share a bin (counted as ties, one half), i.e. to within ``O(1/B)`` for
scores spread over the interval.

Legend: *efficiency* = true positives / true edges (recall), *purity* = true positives /
predicted positives (precision); an edge is predicted positive when its score is above the cut.
"""

from __future__ import annotations

import torch

__all__ = [
    "EDGE_CLASSIFIER_METRICS",
    "edge_classifier_metrics",
    "edge_classifier_statistics",
    "edge_counts",
    "efficiency_purity",
    "roc_auc_from_histograms",
    "score_histograms",
]


def edge_counts(
    scores: torch.Tensor, truth: torch.Tensor, cut: float, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """``[true_positives, predicted_positives, true_edges]`` (float64) at score ``cut``.

    An edge is predicted positive when its score is above ``cut``. ``keep`` restricts every
    count to a subset of edges. Signal metrics use it to ignore the true edges that are not
    signal (neither wanted nor fake): ``edge_counts(s, truth & signal, cut, keep=~truth | signal)``.
    """
    truth = truth.bool()
    predicted = scores > cut
    if keep is not None:
        keep = keep.bool()
        truth = truth & keep
        predicted = predicted & keep
    return torch.stack(
        [
            (predicted & truth).sum().double(),
            predicted.sum().double(),
            truth.sum().double(),
        ]
    )


def score_histograms(scores: torch.Tensor, truth: torch.Tensor, bins: int = 1000) -> torch.Tensor:
    """``(2, bins)`` float64 counts of scores in ``[0, 1]``: row 0 positives, row 1 negatives.

    Scores outside ``[0, 1]`` are clamped into the end bins.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, but got bins={bins}")
    index = (scores.detach().double().clamp(0.0, 1.0) * bins).long().clamp_(max=bins - 1)
    index = index + bins * (~truth.bool()).long()
    return torch.bincount(index, minlength=2 * bins).double().view(2, bins)


def roc_auc_from_histograms(pos_hist: torch.Tensor, neg_hist: torch.Tensor) -> float:
    """ROC AUC = P(score of a positive > score of a negative), ties (same bin) counting 1/2.

    Returns ``nan`` when there are no positives or no negatives.
    """
    pos = pos_hist.double().flatten()
    neg = neg_hist.double().flatten()
    n_pos, n_neg = float(pos.sum()), float(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    neg_below = torch.cumsum(neg, 0) - neg  # negatives in strictly lower bins
    wins = (pos * (neg_below + 0.5 * neg)).sum()
    return float(wins / (n_pos * n_neg))


def efficiency_purity(
    true_positives: float | torch.Tensor,
    predicted_positives: float | torch.Tensor,
    true_edges: float | torch.Tensor,
) -> tuple[float, float]:
    """``(efficiency, purity)``; a ratio with a zero denominator is ``nan``."""
    tp, pp, t = float(true_positives), float(predicted_positives), float(true_edges)
    return (tp / t if t > 0 else float("nan")), (tp / pp if pp > 0 else float("nan"))


HISTOGRAM_BINS = 1000

EDGE_CLASSIFIER_METRICS = (
    "auc",
    "efficiency",
    "purity",
    "signal_auc",
    "signal_efficiency",
    "signal_purity",
)
"""The names :func:`edge_classifier_metrics` returns, for the ``metrics`` of the tasks using it."""


def edge_classifier_statistics(
    scores: torch.Tensor,
    truth: torch.Tensor,
    signal: torch.Tensor,
    cut: float,
    bins: int = HISTOGRAM_BINS,
) -> dict[str, torch.Tensor]:
    """The additive statistics of an edge classifier's scores (validation steps of the graph
    stages): counts at ``cut`` for all and for signal edges, and the score histograms."""
    keep = ~truth.bool() | signal.bool()  # signal edges against fake ones; other true edges out
    return {
        "counts": edge_counts(scores, truth, cut),
        "signal_counts": edge_counts(scores, signal, cut, keep=keep),
        "histograms": score_histograms(scores, truth, bins),
        "signal_histograms": score_histograms(scores[keep], signal.bool()[keep], bins),
    }


def edge_classifier_metrics(totals: dict[str, torch.Tensor]) -> dict[str, float]:
    """``auc, efficiency, purity, signal_auc, signal_efficiency, signal_purity`` from summed
    :func:`edge_classifier_statistics`. ``signal_auc`` ranks signal edges against fake edges
    (true edges that are not signal count as neither)."""
    efficiency, purity = efficiency_purity(*totals["counts"].tolist())
    signal_efficiency, signal_purity = efficiency_purity(*totals["signal_counts"].tolist())
    histograms = totals["histograms"]
    return {
        "auc": roc_auc_from_histograms(histograms[0], histograms[1]),
        "efficiency": efficiency,
        "purity": purity,
        "signal_auc": roc_auc_from_histograms(*totals["signal_histograms"]),
        "signal_efficiency": signal_efficiency,
        "signal_purity": signal_purity,
    }
