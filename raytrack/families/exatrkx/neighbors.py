"""Radius + k-nearest-neighbour graphs in an embedding space (Exa.TrkX's ``build_edges``).

Exa.TrkX builds its metric-learning graphs by searching, for every query point, its ``k``
nearest database points and keeping those closer than ``r`` (``build_edges(query, database,
indices, r_max, k_max)`` in the reference's ``LightningModules/Embedding/utils.py``, with FAISS
or FRNN). This module does the same without torch-cluster:

- ``torch`` backend: exact brute force, ``|q|² + |x|² - 2 q·x`` by matrix products over chunks
  of queries, then ``topk`` (or a mask for pure radius search). ``auto`` picks it on GPUs.
- ``faiss`` backend (faiss-cpu): ``IndexFlatL2.search`` (k-NN) or ``range_search`` (radius
  only), exact as well, multithreaded with torch's thread count.
- ``kdtree`` backend (scipy ``cKDTree``): exact, and on CPU much faster than either brute force
  once the points are clustered the way a trained embedding clusters them (each query only
  visits its own neighbourhood). ``auto`` picks it for CPU tensors. Measured on one core, on
  the embeddings of a trained model (r = 0.1, k = 100): 2.6 ms for 1.5k hits and 39 ms for
  10k hits, 8x and 16x faster than the torch backend and 11x / 13x faster than faiss.

All backends return the same edges: the candidates' squared distances are recomputed exactly as
``sum((q - x)²)`` before the radius cut, so which backend ran does not change the graph (except
for neighbours tied at the k-th distance).

Differences from the reference, on purpose: ``k`` counts *other* points (a query that is itself
in the database does not use up one of its ``k`` slots), and ``k=None`` is a radius search with
no neighbour limit.

Shapes: ``query (Q, D)``, ``database (M, D)``, ``query_index (Q,)``; returns ``edges (2, E)``
int64 (row 0 the query's database position, row 1 the neighbour's) and ``d2 (E,)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

Backend = Literal["auto", "torch", "faiss", "kdtree"]

_CHUNK_PAIRS = 1 << 24  # distance-matrix entries per chunk of the torch backend


def radius_knn(
    query: torch.Tensor,
    database: torch.Tensor,
    r: float,
    k: int | None,
    *,
    query_index: torch.Tensor | None = None,
    exclude_self: bool = True,
    backend: Backend = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges from each query to its (at most ``k``) nearest database points within ``r``.

    Args:
        query: query points.
        database: points searched.
        r: search radius (Euclidean); pairs with ``d <= r`` are kept.
        k: most neighbours per query (``None``: every neighbour within ``r``).
        query_index: database position of each query (``None``: query ``i`` is database point
            ``i``, i.e. ``query`` is the database or its first rows). Row 0 of the edges.
        exclude_self: drop the pair of a query with its own database point.
        backend: ``torch``, ``faiss`` or ``kdtree`` (CPU tensors only), or ``auto``:
            ``kdtree`` on CPU, ``torch`` on other devices.

    Returns:
        ``(edges, d2)``: ``(2, E)`` int64 and ``(E,)`` squared distances, on ``query.device``,
        sorted by query and, within a query, by distance (k-NN) or database position (radius).
    """
    if query.dim() != 2 or database.dim() != 2 or query.shape[1] != database.shape[1]:
        raise ValueError(
            f"query and database must be (Q, D) and (M, D), but got {tuple(query.shape)} "
            f"and {tuple(database.shape)}"
        )
    if not r > 0:
        raise ValueError(f"r must be positive, but got r={r}")
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1 (or None for radius search), but got k={k}")
    if backend not in ("auto", "torch", "faiss", "kdtree"):
        raise ValueError(f"unknown backend {backend!r} (choices: auto, torch, faiss, kdtree)")
    device = query.device
    q_count, m_count = query.shape[0], database.shape[0]
    if query_index is None:
        query_index = torch.arange(q_count, device=device)
    query_index = query_index.to(device=device, dtype=torch.long)
    if q_count == 0 or m_count == 0:
        return torch.zeros((2, 0), dtype=torch.long, device=device), query.new_zeros(0)
    if backend == "auto":
        backend = "kdtree" if device.type == "cpu" else "torch"
    if backend != "torch" and device.type != "cpu":
        raise ValueError(f"the {backend} backend searches CPU tensors only; use backend='torch'")

    query = query.detach().float()
    database = database.detach().float()
    search = {"torch": _torch_search, "faiss": _faiss_search, "kdtree": _kdtree_search}[backend]
    # a little slack on the radius (rounded distances); the exact cut is made below
    slack_r2 = r * r * (1 + 1e-4) + 1e-6
    row, col = search(query, database, slack_r2, None if k is None else k + int(exclude_self))
    if exclude_self:
        keep = col != query_index[row]
        row, col = row[keep], col[keep]
        if k is not None:  # k of the *other* points: the first k left in each query's row
            row, col = _first_k_per_row(row, col, k)
    d2 = (query[row] - database[col]).pow(2).sum(1)
    keep = d2 <= r * r
    edges = torch.stack([query_index[row[keep]], col[keep]])
    return edges, d2[keep]


def _torch_search(
    query: torch.Tensor, database: torch.Tensor, r2: float, k: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate ``(row, col)`` pairs (query row, database position) within ``d² <= r2``."""
    m_count = database.shape[0]
    db_norm = database.pow(2).sum(1)
    chunk = max(1, _CHUNK_PAIRS // m_count)
    rows, cols = [], []
    for start in range(0, query.shape[0], chunk):
        q = query[start : start + chunk]
        d2 = torch.addmm(db_norm.unsqueeze(0), q, database.t(), alpha=-2.0)
        d2.add_(q.pow(2).sum(1, keepdim=True))
        if k is None:
            row, col = torch.nonzero(d2 <= r2, as_tuple=True)
        else:
            kk = min(k, m_count)
            dist, col = torch.topk(d2, kk, dim=1, largest=False, sorted=True)
            row = torch.arange(q.shape[0], device=q.device).repeat_interleave(kk)
            col, dist = col.reshape(-1), dist.reshape(-1)
            within = dist <= r2
            row, col = row[within], col[within]
        rows.append(row + start)
        cols.append(col)
    return torch.cat(rows), torch.cat(cols)


def _faiss_search(
    query: torch.Tensor, database: torch.Tensor, r2: float, k: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate pairs with a flat (exact) faiss index (faiss works in squared distances)."""
    import faiss

    faiss.omp_set_num_threads(max(1, torch.get_num_threads()))
    q = np.ascontiguousarray(query.numpy(), dtype=np.float32)
    index = faiss.IndexFlatL2(q.shape[1])
    index.add(np.ascontiguousarray(database.numpy(), dtype=np.float32))
    if k is None:
        lims, _, col = index.range_search(q, r2)
        row = np.repeat(np.arange(q.shape[0]), np.diff(lims.astype(np.int64)))
    else:
        dist, found = index.search(q, min(k, database.shape[0]))
        within = (found >= 0) & (dist <= r2)
        row, col = np.nonzero(within)[0], found[within]
    return _as_long(row), _as_long(col)


def _kdtree_search(
    query: torch.Tensor, database: torch.Tensor, r2: float, k: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate pairs with scipy's ``cKDTree`` (sorted by query, then distance or position)."""
    from scipy.spatial import cKDTree

    workers = max(1, torch.get_num_threads())
    tree = cKDTree(database.numpy())
    q = query.numpy()
    r = float(np.sqrt(r2))
    if k is None:
        found = cKDTree(q).sparse_distance_matrix(tree, r, output_type="coo_matrix")
        order = np.lexsort((found.col, found.row))
        return _as_long(found.row[order]), _as_long(found.col[order])
    kk = min(k, database.shape[0])
    dist, found = tree.query(q, k=kk, distance_upper_bound=r, workers=workers)
    dist, found = dist.reshape(q.shape[0], kk), found.reshape(q.shape[0], kk)
    within = np.isfinite(dist)
    return _as_long(np.nonzero(within)[0]), _as_long(found[within])


def _as_long(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def _first_k_per_row(
    row: torch.Tensor, col: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the first ``k`` entries of each run of equal ``row`` values (``row`` is sorted)."""
    if row.numel() == 0:
        return row, col
    new_run = torch.ones_like(row, dtype=torch.bool)
    new_run[1:] = row[1:] != row[:-1]
    position = torch.arange(row.numel(), device=row.device)
    run_start = torch.cummax(torch.where(new_run, position, torch.zeros_like(position)), 0).values
    keep = position - run_start < k
    return row[keep], col[keep]


def unique_pairs(edges: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The distinct unordered pairs of ``edges`` as ``(2, E')`` with row 0 < row 1, sorted.

    Self-loops are dropped. Used to turn a (directed, asymmetric) k-NN graph into the set of
    hit pairs it connects.
    """
    a, b = torch.minimum(edges[0], edges[1]), torch.maximum(edges[0], edges[1])
    keep = a != b
    code = torch.unique(a[keep] * int(num_nodes) + b[keep])
    return torch.stack([code // num_nodes, code % num_nodes])
