"""One event's HyperTrack training losses (the reference's ``hyper.hypertrack`` in train mode).

The reference's ``train_param`` block (``hypertrack/models/global_tune-5.py``) with its keys and
values: ``beta`` (the loss weights), ``edge_BCE``, ``edge_contrastive``, ``cluster_BCE``,
``cluster_contrastive`` and ``meta_target``; plus ``cluster_loss_rejected`` (not in the
reference, default off as there): also score the transformer's rejected attempts, which keeps a
gradient when every attempt is rejected (see :mod:`~raytrack.families.hypertrack.cluster_losses`).

:func:`event_losses` runs the GNN; with ``do_clustering`` (the second stage, after the
validation edge AUC passed ``auc_threshold``) it also runs the transformer clustering and its
losses. It returns the unweighted terms, their ``beta``-weighted total and the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from raytrack.families.hypertrack.cluster_losses import (
    CLUSTER_BCE_DEFAULTS,
    CLUSTER_CONTRASTIVE_DEFAULTS,
    cluster_losses,
)
from raytrack.families.hypertrack.losses import (
    BETA_DEFAULTS,
    EDGE_BCE_DEFAULTS,
    EDGE_CONTRASTIVE_DEFAULTS,
    edge_bce_loss,
    edge_contrastive_loss,
    total_loss,
)
from raytrack.families.hypertrack.model import HyperTrackNet, cluster_hits

TRAIN_PARAM_DEFAULTS: dict[str, Any] = {
    "beta": BETA_DEFAULTS,
    "edge_BCE": EDGE_BCE_DEFAULTS,
    "edge_contrastive": EDGE_CONTRASTIVE_DEFAULTS,
    "cluster_BCE": CLUSTER_BCE_DEFAULTS,
    "cluster_contrastive": CLUSTER_CONTRASTIVE_DEFAULTS,
    "meta_target": "pivotmajor",
    "cluster_loss_rejected": False,
}


def train_options(train_param: Mapping[str, Any] | None) -> dict[str, Any]:
    """``train_param`` over the defaults (each block merged key by key); unknown keys are errors."""
    unknown = sorted(set(train_param or {}) - set(TRAIN_PARAM_DEFAULTS))
    if unknown:
        raise ValueError(
            f"train_param: unknown key(s) {unknown}; allowed: {sorted(TRAIN_PARAM_DEFAULTS)}"
        )
    out = {}
    for key, default in TRAIN_PARAM_DEFAULTS.items():
        given = (train_param or {}).get(key)
        out[key] = (
            {**default, **(given or {})}
            if isinstance(default, dict)
            else (default if given is None else given)
        )
    return out


def event_losses(
    net: HyperTrackNet,
    x: torch.Tensor,
    edge_index: torch.Tensor,
    edge_label: torch.Tensor,
    true_labels: torch.Tensor,
    hit_weights: torch.Tensor | None = None,
    *,
    do_clustering: bool = False,
    edge_threshold: float = 0.55,
    cluster_param: Mapping[str, Any] | None = None,
    train_param: Mapping[str, Any] | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Losses of one event: ``{"terms": {name: tensor}, "loss": Σ beta·term, "outputs": the
    GNN's dict, "clustering": ClusteringResult or None}``.

    ``true_labels``: per hit, the object (particle) it belongs to, ``-1`` for noise.
    """
    p = train_options(train_param)
    out = net(x, edge_index)
    terms = {
        "edge_BCE": edge_bce_loss(out["edge_logits"], edge_label, edge_index, p["edge_BCE"]),
        "edge_contrastive": edge_contrastive_loss(
            out["edge_logits"],
            edge_index,
            true_labels,
            hit_weights,
            p["edge_contrastive"],
            generator,
        ),
    }
    clustering = None
    if do_clustering:
        clustering = cluster_hits(
            "transformer", x, edge_index, out["edge_prob"], edge_threshold=edge_threshold,
            cluster_param=cluster_param, z=out["z"], transformer=net.transformer, generator=generator,
        )  # fmt: skip
        attempts = clustering.clusters + (clustering.rejected if p["cluster_loss_rejected"] else [])
        terms.update(
            cluster_losses(
                attempts,
                true_labels,
                hit_weights,
                p["cluster_BCE"],
                p["cluster_contrastive"],
                p["meta_target"],
            )  # fmt: skip
        )
    loss = total_loss(terms, p["beta"])
    return {"terms": terms, "loss": loss, "outputs": out, "clustering": clustering}
