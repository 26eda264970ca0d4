"""Exact k-nearest neighbours within each event of a batch of concatenated events.

HGCalML searches neighbours with its compiled ``BinnedSelectKnn`` op; PyTorch Geometric's
``knn_graph`` needs ``pyg-lib``/``torch-cluster``. Here two exact backends, chosen by
measurement (``benchmarks/gravnet_knn.py``):

- ``torch``: per event, the pairwise squared distances (``torch.cdist``) and ``topk``;
- ``faiss``: per event, a flat L2 index (``faiss-cpu``; on CPU tensors).

Both return every hit's own index first, then its ``k`` nearest other hits of the same event
(duplicate positions never displace the hit itself). The search runs without gradients; the
squared distances are recomputed from the coordinates so that gradients reach them (GravNet
learns its space through the distance weights).

Legend: ``N`` hits of the batch, ``D`` coordinates, ``B`` events; ``row_splits`` ``(B + 1,)``
holds the first hit of each event and the total (HGCalML's row splits).
"""

from __future__ import annotations

from typing import Literal

import torch

KnnBackend = Literal["torch", "faiss"]


def _without_self(found: torch.Tensor, k: int) -> torch.Tensor:
    """Of ``k + 1`` local candidates per row, the ``k`` that are not the row itself.

    Shapes:
        ``found`` ``(n, k + 1)`` → ``(n, k)``.
    """
    rows = torch.arange(found.shape[0], device=found.device)[:, None]
    is_self = found == rows
    last = torch.zeros_like(is_self)
    last[:, -1] = True
    drop = is_self | (~is_self.any(dim=1, keepdim=True) & last)
    return found[~drop].view(found.shape[0], k)


def _event_knn(coords: torch.Tensor, k: int, backend: KnnBackend) -> torch.Tensor:
    """``(n, k)`` local indices of the ``k`` nearest other points of one event."""
    if backend == "faiss":
        import faiss
        import numpy as np

        points = np.ascontiguousarray(coords.detach().cpu().numpy(), dtype=np.float32)
        index = faiss.IndexFlatL2(points.shape[1])
        index.add(points)
        _, found = index.search(points, k + 1)
        found = torch.as_tensor(found, dtype=torch.long, device=coords.device)
    else:
        distances = torch.cdist(coords, coords).pow(2)
        found = distances.topk(k + 1, dim=1, largest=False).indices
    return _without_self(found, k)


def select_knn(
    coords: torch.Tensor, row_splits: torch.Tensor, k: int, *,
    backend: KnnBackend = "torch", what: str = "k",
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Each hit and its ``k`` nearest neighbours in ``coords`` within its event.

    ``what`` names the setting of ``k`` in the error raised when an event has ``k`` hits or
    fewer (HGCalML pads such rows; here the setting is too large for the data).

    Shapes:
        - input ``coords``: ``(N, D)``; ``row_splits``: ``(B + 1,)`` int64
        - output: ``idx`` ``(N, k + 1)`` int64 global indices (column 0: the hit itself) and
          ``distsq`` ``(N, k + 1)`` squared distances (column 0: zero), differentiable in
          ``coords``
    """
    if backend not in ("torch", "faiss"):
        raise ValueError(f"knn backend must be 'torch' or 'faiss', but got {backend!r}")
    splits = row_splits.tolist()
    sizes = [b - a for a, b in zip(splits[:-1], splits[1:])]
    if sizes and min(sizes) <= k:
        raise ValueError(
            f"{what} = {k}: the kNN needs events of at least {k + 1} hits (each hit and its {k} "
            f"neighbours), but an event of this batch has {min(sizes)} hits; lower {what} or "
            "leave out smaller events"
        )
    parts = []
    with torch.no_grad():
        for start, stop in zip(splits[:-1], splits[1:]):
            local = _event_knn(coords[start:stop], k, backend)
            own = torch.arange(stop - start, device=coords.device)[:, None]
            parts.append(torch.cat([own, local], dim=1) + start)
    idx = torch.cat(parts) if parts else coords.new_zeros((0, k + 1), dtype=torch.long)
    distsq = (coords[idx] - coords[:, None, :]).pow(2).sum(-1)
    return idx, distsq
