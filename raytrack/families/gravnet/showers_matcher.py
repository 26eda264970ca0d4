"""Matching predicted showers to truth showers by energy-weighted intersection over union.

HGCalML's ``ShowersMatcher`` (``modules/ShowersMatcher.py``, match mode ``iou_max``): with the
hits' energies as weights, ``IoU(p, t) = E(p ∩ t) / (E(p) + E(t) − E(p ∩ t))`` for every
predicted shower ``p`` and truth shower ``t`` of an event; pairs below ``iou_threshold`` (0.1)
are not allowed, and the one-to-one assignment maximising the summed IoU
(``scipy.optimize.linear_sum_assignment``) matches them. Track points weigh 0 (they carry
momenta, not deposits).

Per event: the truth showers (every ``t_idx ≥ 0`` with a calorimeter hit), the predicted
showers, and for each the index of its partner (−1: unmatched). A truth shower without partner
is lost (efficiency); a predicted shower without partner is fake (fake rate).

Legend: ``T`` truth showers, ``P`` predicted showers of the event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Matching:
    """The matched showers of one event.

    Shapes:
        ``truth_ids``, ``truth_match``, ``truth_iou``: ``(T,)``; ``pred_match``: ``(P,)``.
    """

    truth_ids: np.ndarray
    """The ``t_idx`` of each truth shower."""
    truth_match: np.ndarray
    """Each truth shower's predicted shower (−1: none)."""
    truth_iou: np.ndarray
    pred_match: np.ndarray
    """Each predicted shower's truth shower position in ``truth_ids`` (−1: fake)."""


def iou_matrix(
    t_idx: np.ndarray, labels: np.ndarray, weight: np.ndarray, truth_ids: np.ndarray, n_pred: int
) -> np.ndarray:
    """``(P, T)`` energy-weighted IoU of predicted showers ``0 … n_pred−1`` and ``truth_ids``."""
    truth_pos = np.searchsorted(truth_ids, t_idx)
    in_truth = (t_idx >= 0) & (truth_pos < len(truth_ids))
    in_truth &= truth_ids[np.minimum(truth_pos, max(len(truth_ids) - 1, 0))] == t_idx
    truth_sum = np.bincount(truth_pos[in_truth], weight[in_truth], minlength=len(truth_ids))
    in_pred = labels >= 0
    pred_sum = np.bincount(labels[in_pred], weight[in_pred], minlength=n_pred)
    both = in_truth & in_pred
    inter = np.zeros((n_pred, len(truth_ids)))
    np.add.at(inter, (labels[both], truth_pos[both]), weight[both])
    union = pred_sum[:, None] + truth_sum[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(inter / union)


def match_showers(
    t_idx: np.ndarray, labels: np.ndarray, energy: np.ndarray, is_track: np.ndarray,
    n_pred: int, *, iou_threshold: float = 0.1,
) -> Matching:  # fmt: skip
    """Match the event's predicted showers ``labels`` to its truth ``t_idx`` (module docs)."""
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], but got iou_threshold={iou_threshold}")
    weight = np.where(is_track, 0.0, energy)
    truth_ids = np.unique(t_idx[(t_idx >= 0) & ~is_track])
    iou = iou_matrix(t_idx, labels, weight, truth_ids, n_pred)
    allowed = np.where(iou >= iou_threshold, iou, 0.0)
    truth_match = np.full(len(truth_ids), -1, dtype=np.int64)
    truth_iou = np.zeros(len(truth_ids))
    pred_match = np.full(n_pred, -1, dtype=np.int64)
    if n_pred and len(truth_ids):
        rows, cols = linear_sum_assignment(allowed, maximize=True)
        for p, t in zip(rows, cols):
            if allowed[p, t] > 0:
                truth_match[t], pred_match[p], truth_iou[t] = p, t, iou[p, t]
    return Matching(truth_ids, truth_match, truth_iou, pred_match)
