"""What an Exa.TrkX filter training step trains on, and its loss (used by ``FilterTask``).

Training (the reference's ``FilterBaseBalanced.training_step``), per event:

1. ``subset`` (:func:`signal_hit_edges`): keep only the edges with at least one hit on a
   *signal* true edge (true edge of a particle with ``pT > pt_signal_cut``), the reference's
   ``isin(edge_index, signal_true_edges.unique()).any(0)``. True edges of non-signal particles
   touch no such hit, so they are not trained at all; every remaining positive is a signal edge.
2. ``ratio > 0`` (:func:`balanced_sample`): score the candidate edges without gradients
   (:func:`chunked_logits`, ``n_chunks`` chunks, eval mode), then train on all true edges, up to
   ``ratio/2 × true`` *hard negatives* (false edges scored above ``filter_cut``, the ones the
   filter would wrongly keep, drawn at random among them) and ``ratio/2 × true`` random false
   edges (uniform, with replacement, as the reference draws them). ``ratio = 0`` trains on every
   candidate edge (the reference's ``FilterBase``).
3. ``edges_per_batch`` (:func:`cap_edges`): at most this many of the selected edges, drawn at
   random.

Loss (:func:`event_losses`): BCE with logits with ``pos_weight = weight`` (unset: ``ratio``, or
negatives/positives of the event when ``ratio = 0``, the reference's fallbacks:
:func:`positive_weights`), times the ``weighting`` regime's per-edge weights, averaged over each
event's trained edges, then over the batch's events (so DDP over workers equals training on the
union).

Shapes: ``N`` hits, ``E`` edges, ``C`` candidate edges, ``B`` events per batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.families.tracking.truth import signal_edges, true_edges


def signal_hit_edges(event: Event, edges: np.ndarray, options: TrackingDataOptions) -> np.ndarray:
    """``(E,)`` bool: the edge has a hit on a signal true edge (the ``subset`` regime's edges)."""
    truth = true_edges(event, options.true_edges)
    signal = truth[:, signal_edges(event, truth, options.pt_signal_cut)]
    if signal.size == 0 or edges.shape[1] == 0:
        return np.zeros(edges.shape[1], dtype=bool)
    return np.isin(edges, np.unique(signal)).any(axis=0)


def chunked_logits(
    model: nn.Module,
    x: torch.Tensor,
    edge_index: torch.Tensor,
    emb: torch.Tensor | None,
    n_chunks: int,
) -> torch.Tensor:
    """``(E,)`` logits of ``model`` over ``edge_index`` evaluated in ``n_chunks`` pieces."""
    pieces = [
        model(x, part, emb)["edge_logits"]
        for part in torch.tensor_split(edge_index, n_chunks, dim=1)
        if part.shape[1]
    ]
    return torch.cat(pieces) if pieces else x.new_zeros(0)


def balanced_sample(
    candidates: torch.Tensor,
    y: torch.Tensor,
    event: torch.Tensor,
    kept: torch.Tensor,
    n_events: int,
    ratio: float,
) -> torch.Tensor:
    """Positions to train on: per event, every true edge plus ``ratio/2 × true`` hard and random fakes.

    ``candidates`` ``(C,)`` are batch positions; ``y``, ``event`` (event of each candidate) and
    ``kept`` (scored above ``filter_cut``) are ``(C,)`` and aligned with them. Hard negatives are
    drawn without replacement among the kept fakes, random ones with replacement among all fakes.
    """
    device = candidates.device
    chosen = []
    for b in range(n_events):
        mine = event == b
        positives, hard, fakes = (candidates[mine & m] for m in (y, kept & ~y, ~y))
        half = int(positives.numel() * ratio / 2)
        hard = hard[torch.randperm(hard.numel(), device=device)[:half]]
        draws = half if fakes.numel() else 0  # random fakes, with replacement
        easy = fakes[torch.randint(max(fakes.numel(), 1), (draws,), device=device)]
        chosen += [positives, hard, easy]
    return torch.cat(chosen)


def cap_edges(candidates: torch.Tensor, cap: int | None) -> torch.Tensor:
    """At most ``cap`` of ``candidates`` ``(C,)``, drawn at random (all if ``cap`` is None)."""
    if cap is not None and candidates.numel() > cap:
        candidates = candidates[torch.randperm(candidates.numel(), device=candidates.device)[:cap]]
    return candidates


def positive_weights(
    y: torch.Tensor,
    event: torch.Tensor,
    n_events: int,
    dtype: torch.dtype,
    weight: float | None,
    ratio: float,
) -> torch.Tensor:
    """``(B,)`` positive-class weight of each event's loss: ``weight``, else ``ratio`` if it is
    positive, else negatives/positives among the event's edges ``y`` ``(E,)``."""
    if weight is not None or ratio > 0:
        value = weight if weight is not None else ratio
        return torch.full((n_events,), value, dtype=dtype, device=y.device)
    n_edges = torch.bincount(event, minlength=n_events).to(dtype)
    positives = torch.zeros(n_events, dtype=dtype, device=y.device).index_add_(
        0, event, y.to(dtype)
    )
    return (n_edges - positives) / positives.clamp(min=1)


def event_losses(
    logits: torch.Tensor,
    y: torch.Tensor,
    event: torch.Tensor,
    n_events: int,
    pos_weight: torch.Tensor | None,
    edge_weight: torch.Tensor | None,
) -> torch.Tensor:
    """``(B,)`` mean over each event's edges of the (weighted) BCE with logits (in float32,
    also when the model ran under bfloat16 autocast)."""
    logits = logits.float()
    target = y.to(logits.dtype)
    positive = (
        F.softplus(-logits) if pos_weight is None else pos_weight[event] * F.softplus(-logits)
    )
    per_edge = target * positive + (1.0 - target) * F.softplus(logits)
    if edge_weight is not None:
        per_edge = per_edge * edge_weight
    total = torch.zeros(n_events, dtype=logits.dtype, device=logits.device).index_add_(
        0, event, per_edge
    )
    count = torch.bincount(event, minlength=n_events).to(logits.dtype)
    return total / count.clamp(min=1)
