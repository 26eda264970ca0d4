"""From GTR's association logits to trajectory scores (biogtr ``inference/post_processing.py``).

Legend: ``Q`` instances of the query frame, ``W`` earlier instances in the window, ``T`` live
tracks among them, ``A`` anchors per instance.
"""

from __future__ import annotations

import torch


def frame_softmax(logits: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """Softmax of each query's logits over each frame's instances plus a background of logit 0.

    Shapes:
        ``logits``: ``(Q, N)``, ``frame``: ``(N,)`` → ``(Q, N)`` probabilities (per frame, the
        probability that the query is that instance; the background's share is left out).
    """
    probabilities = torch.empty_like(logits)
    for value in torch.unique(frame):
        columns = torch.nonzero(frame == value).flatten()
        scores = torch.cat([logits[:, columns], logits.new_zeros(logits.shape[0], 1)], dim=1)
        probabilities[:, columns] = scores.softmax(dim=1)[:, :-1]
    return probabilities


def decay_by_time(
    scores: torch.Tensor, window_frame: torch.Tensor, query_frame: int, decay_time: float | None
) -> torch.Tensor:
    """``scores[:, j] * decay_time ** (query_frame - frame_j - 1)``: older instances count less.

    Shapes:
        ``scores``: ``(Q, W)``, ``window_frame``: ``(W,)`` → ``(Q, W)``.
    """
    if decay_time is None:
        return scores
    gaps = (query_frame - window_frame - 1).clamp(min=0).to(scores.dtype)
    return scores * decay_time ** gaps[None, :]


def box_iou(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """IoU of ``x1 y1 x2 y2`` boxes, averaged over the anchors both have (0 when none).

    Shapes:
        ``first``: ``(Q, A, 4)``, ``second``: ``(T, A, 4)`` → ``(Q, T)``.
    """
    a, b = first[:, None], second[None, :]
    low = torch.maximum(a[..., :2], b[..., :2])
    high = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (high - low).clamp(min=0).prod(dim=-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(dim=-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(dim=-1)
    iou = inter / (area_a + area_b - inter).clamp(min=1e-12)
    valid = ~torch.isnan(iou)
    total = torch.where(valid, iou, torch.zeros_like(iou)).sum(dim=-1)
    count = valid.sum(dim=-1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def weight_by_iou(scores: torch.Tensor, ious: torch.Tensor, method: str | None) -> torch.Tensor:
    """biogtr's ``weight_iou``: ``mult``: ``s + |iou - s| · iou``; ``max``: ``max(s, iou)``.

    Shapes:
        ``scores``, ``ious``: ``(Q, T)`` → ``(Q, T)``.
    """
    if method is None:
        return scores
    if method == "mult":
        return scores + torch.nan_to_num(torch.abs(ious - scores) * ious, nan=0.0)
    if method == "max":
        return torch.maximum(scores, ious)
    raise ValueError(f"iou must be mult, max or None, but got {method!r}")


def filter_by_distance(
    scores: torch.Tensor,
    query_centroid: torch.Tensor,
    track_centroid: torch.Tensor,
    max_center_dist: float | None,
) -> torch.Tensor:
    """Zero the scores of tracks whose last centre is farther than ``max_center_dist`` pixels.

    Shapes:
        ``scores``: ``(Q, T)``, ``query_centroid``: ``(Q, 2)``, ``track_centroid``: ``(T, 2)``.
    """
    if max_center_dist is None:
        return scores
    distance = torch.cdist(query_centroid.to(scores.dtype), track_centroid.to(scores.dtype))
    return torch.where(distance > max_center_dist, torch.zeros_like(scores), scores)
