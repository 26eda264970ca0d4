"""Which micrograph hits join the cluster: the transformer clustering's ``threshold_algo``.

- ``fixed``: scores ``p = sigmoid(logit)`` above ``fixed_threshold``;
- ``fisher``: among the ``ktop_max`` highest scores, those above Otsu's threshold (the grid value
  of ``fisher_threshold`` with the least within-class variance; 0.5 when no grid value splits);
- ``soft``: scores ``p · sigmoid((p − thr) / tau)`` above the transformer's learnable ``thr``
  (the soft scores are what the ``intersect`` loss sees, so ``thr`` gets gradients).
"""

from __future__ import annotations

import numpy as np
import torch

from raytrack.families.hypertrack.set_transformer import ClusterTransformer


def fisher_threshold(prob: np.ndarray, grid: list[float]) -> float:
    """Otsu's threshold: the grid value with the least within-class variance (0.5 if none splits)."""
    best, best_loss = 0.5, np.inf
    for th in grid:
        hi, lo = prob[prob > th], prob[prob <= th]
        if len(hi) == 0 or len(lo) == 0:
            continue
        loss = (len(hi) * hi.var() + len(lo) * lo.var()) / len(prob)
        if loss < best_loss:
            best, best_loss = float(th), loss
    return best


def choose_members(
    prob: torch.Tensor, transformer: ClusterTransformer, p: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scores and the chosen indices of a micrograph's hits by ``threshold_algo`` (``p``:
    the checked ``cluster_param['transformer']``)."""
    if p["threshold_algo"] == "soft":
        prob = prob * torch.sigmoid((prob - transformer.thr) / p["tau"])
        return prob, torch.nonzero(prob.detach() > float(transformer.thr.detach())).view(-1)
    if p["threshold_algo"] == "fisher":
        top = torch.topk(prob.detach(), k=min(len(prob), int(p["ktop_max"])))
        th = fisher_threshold(top.values.float().cpu().numpy(), list(p["fisher_threshold"]))
        return prob, top.indices[top.values > th]
    return prob, torch.nonzero(prob.detach() > p["fixed_threshold"]).view(-1)
