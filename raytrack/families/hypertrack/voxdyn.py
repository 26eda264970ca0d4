"""HyperTrack's Voxel-Dynamics (``voxdyn``) graph constructor: Voronoi cells and their connectivity.

Training (HyperTrack, arXiv:2309.14113, and its ``hypertrack/voxdyn.py``):

1. k-means (faiss) with ``ncell`` centroids on the 3-D positions ``(x, y, z)`` (mm) of the
   training events' particle hits (noise hits left out) divides space into Voronoi cells;
2. every hit is assigned to its nearest centroid, and the boolean connectivity matrix
   ``C [ncell x ncell]`` is set at ``(u, v)`` and ``(v, u)`` for each ``node2node`` truth edge
   (:func:`~raytrack.families.tracking.truth.node2node_edges`) joining a hit in cell ``u`` to a
   hit in cell ``v``. As in the reference, whose truth adjacency holds a self-loop per hit,
   ``C[u, u]`` is set for every cell that holds a training particle hit.

Inference: the candidate edges of an event are the hit pairs whose cells are connected in
``C`` (:mod:`.voxdyn_edges`). Since ``C`` is learned from tracks only, the fraction of true edges
it keeps (efficiency) does not depend on the pile-up of the events it is applied to, while the
number of candidate pairs, and with it the impurity, grows with the hit density.

The trained constructor is keyed by :class:`~.voxdyn_key.VoxdynKey` and cached on disk by
:mod:`.voxdyn_cache`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import node2node_edges

__all__ = [
    "COORDINATES",
    "VoxdynConstructor",
    "connectivity_matrix",
    "hit_positions",
    "nearest_cells",
    "train_voxdyn",
]

COORDINATES = ("x", "y", "z")
"""The hit columns k-means runs on (mm), as in the reference (``X_DIM = [0, 1, 2]``)."""


TRAINING_COLUMNS = ("hit_id", *COORDINATES, "particle_id", "p_particle_id", "p_vx", "p_vy", "p_vz")
"""The stored columns training reads: positions, and what the node2node truth needs."""


def hit_positions(event: Event) -> np.ndarray:
    """``(N, 3)`` float32 C-contiguous positions of an event's hits (faiss's input)."""
    return np.ascontiguousarray(
        np.stack([np.asarray(event.hits[c], np.float32) for c in COORDINATES], axis=1)
    )


def _centroid_tree(centroids: np.ndarray):
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(centroids, np.float64))


def nearest_cells(tree, positions: np.ndarray) -> np.ndarray:
    """The nearest centroid (a k-d tree over them: exact L2, as faiss's flat index) of each
    ``(N, 3)`` position, int64."""
    positions = np.asarray(positions, np.float64).reshape(-1, len(COORDINATES))
    if positions.shape[0] == 0:
        return np.zeros(0, np.int64)
    _, cell = tree.query(positions, k=1)
    return np.asarray(cell, np.int64)


@dataclass(frozen=True)
class VoxdynConstructor:
    """A trained constructor: centroids, connectivity, and what it was trained on."""

    key: VoxdynKey
    centroids: np.ndarray
    """``(ncell, 3)`` float32 Voronoi centroids."""
    connectivity: sp.csr_matrix
    """``(ncell, ncell)`` symmetric boolean CSR matrix ``C``."""
    training_hits: int = 0
    build_seconds: float = 0.0

    def __post_init__(self) -> None:
        n = self.key.ncell
        if self.centroids.shape != (n, len(COORDINATES)):
            raise VoxdynError(
                f"{self.key.describe()}: centroids have shape {self.centroids.shape}, "
                f"expected ({n}, {len(COORDINATES)})"
            )
        if self.connectivity.shape != (n, n):
            raise VoxdynError(
                f"{self.key.describe()}: C has shape {self.connectivity.shape}, expected ({n}, {n})"
            )

    @property
    def ncell(self) -> int:
        return self.key.ncell

    @cached_property
    def _tree(self):
        return _centroid_tree(self.centroids)

    def cells(self, positions: np.ndarray) -> np.ndarray:
        """The cell (nearest centroid, exact L2) of each ``(N, 3)`` position, int64."""
        return nearest_cells(self._tree, positions)

    def summary(self) -> dict:
        """Size figures for logs and metadata."""
        c = self.connectivity
        return {
            "ncell": self.ncell,
            "connected_pairs": int(c.nnz),
            "mean_degree": float(c.nnz / self.ncell),
            "training_hits": int(self.training_hits),
            "build_seconds": float(self.build_seconds),
        }


def connectivity_from_csr(indices: np.ndarray, indptr: np.ndarray, ncell: int) -> sp.csr_matrix:
    """``C`` from the CSR arrays it is kept as (on disk and in checkpoints)."""
    return sp.csr_matrix((np.ones(indices.size, bool), indices, indptr), shape=(ncell, ncell))


def connectivity_matrix(
    ncell: int,
    cells: np.ndarray,
    edges: np.ndarray,
    occupied: np.ndarray | None = None,
    *,
    chunk: int = 1 << 22,
) -> sp.csr_matrix:
    """Symmetric boolean ``C``: ``(cells[a], cells[b])`` and ``(cells[b], cells[a])`` for each
    edge ``(a, b)``, plus the diagonal at the ``occupied`` cells (default: every cell in
    ``cells``). Edges are folded in blocks of ``chunk``, so memory follows ``C``, not the edges."""
    cells = np.asarray(cells, np.int64)
    edges = np.asarray(edges).reshape(2, -1)
    occupied = np.unique(cells if occupied is None else np.asarray(occupied, np.int64))
    keys = occupied * ncell + occupied
    for first in range(0, edges.shape[1], chunk):
        u = cells[edges[0, first : first + chunk]]
        v = cells[edges[1, first : first + chunk]]
        block = np.unique(np.concatenate([u * ncell + v, v * ncell + u]))
        keys = np.union1d(keys, block)
    data = np.ones(keys.size, bool)
    c = sp.csr_matrix((data, (keys // ncell, keys % ncell)), shape=(ncell, ncell), dtype=bool)
    c.sort_indices()
    return c


def _training_hits(events: Iterable[Event], node2node: str) -> tuple[np.ndarray, np.ndarray]:
    """Particle-hit positions of all events, and their truth edges as (int32) rows of that array."""
    positions, edges, offset = [], [], 0
    for event in events:
        signal = np.asarray(event.hits["particle_id"], np.int64) != 0
        row = np.cumsum(signal) - 1 + offset
        truth = node2node_edges(event, node2node)
        positions.append(hit_positions(event)[signal])
        edges.append(row[truth].astype(np.int32))
        offset += int(signal.sum())
    if offset >= np.iinfo(np.int32).max:
        raise VoxdynError(f"too many training hits ({offset}) for one voxdyn constructor")
    if not positions:
        return np.zeros((0, 3), np.float32), np.zeros((2, 0), np.int32)
    return np.concatenate(positions), np.concatenate(edges, axis=1)


def train_voxdyn(
    events: Iterable[Event], key: VoxdynKey, *, verbose: bool = False
) -> VoxdynConstructor:
    """Train a constructor on ``events`` (the key's training events) as the module doc says.

    Raises :class:`VoxdynError` naming ``ncell`` when the events hold fewer particle hits than
    cells.
    """
    import faiss

    start = time.perf_counter()
    positions, edges = _training_hits(events, key.node2node)
    n_hits = positions.shape[0]
    if key.ncell > n_hits:
        raise VoxdynError(
            f"ncell={key.ncell} is larger than the {n_hits} particle hits of the training events: "
            f"k-means needs at least one hit per cell; lower ncell or train on more events "
            f"({key.describe()})"
        )
    kmeans = faiss.Kmeans(
        len(COORDINATES),
        key.ncell,
        niter=key.niter,
        seed=key.seed,
        min_points_per_centroid=1,
        max_points_per_centroid=key.max_points_per_centroid,
        verbose=verbose,
    )
    kmeans.train(np.ascontiguousarray(positions, np.float32))
    centroids = np.ascontiguousarray(kmeans.centroids, np.float32)
    cells = nearest_cells(_centroid_tree(centroids), positions)
    connectivity = connectivity_matrix(key.ncell, cells, edges)
    return VoxdynConstructor(
        key=key,
        centroids=centroids,
        connectivity=connectivity,
        training_hits=n_hits,
        build_seconds=time.perf_counter() - start,
    )


def train_from_store(store, key: VoxdynKey, *, verbose: bool = False) -> VoxdynConstructor:
    """Train the constructor of ``key`` on its events read from ``store`` (a tracking
    :class:`~raytrack.store.sample_store.SampleStore`), which must be the key's store.

    This is the ``build_fn`` of :func:`~.voxdyn_cache.voxdyn_constructor`:
    ``voxdyn_constructor(dir, key, functools.partial(train_from_store, store))``.
    """
    from raytrack.families.hypertrack.voxdyn_key import store_identity

    identity = store_identity(store)
    if identity != key.store:
        raise VoxdynError(
            f"store {getattr(store, 'path', store)} has identity {identity}, but the key names "
            f"store={key.store} ({key.describe()})"
        )
    missing = [e for e in key.events if e not in store]
    if missing:
        raise VoxdynError(
            f"events {missing[:10]} of {key.describe()} are not in store {store.path}"
        )
    rows = store.iter_rows(key.events, columns=TRAINING_COLUMNS)
    return train_voxdyn((Event.from_row(row) for row in rows), key, verbose=verbose)


def check_ncell(store, ncell: int, events) -> int:
    """The number of particle hits in ``events`` of ``store`` (reading only ``particle_id``); a
    :class:`VoxdynError` naming ``ncell`` when there are fewer than ``ncell``. Cheap enough for
    a sweep's validation, before any constructor is built."""
    events, hits = list(events), 0
    for row in store.iter_rows(events, columns=["particle_id"]):
        hits += int(np.count_nonzero(np.asarray(row["particle_id"])))
        if hits >= ncell:
            return hits
    raise VoxdynError(
        f"ncell={ncell} is larger than the {hits} particle hits of the {len(events)} "
        f"training events of store {getattr(store, 'path', store)}: lower ncell or train on more "
        "events"
    )
