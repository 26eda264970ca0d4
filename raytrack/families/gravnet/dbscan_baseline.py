"""A baseline that clusters the same hits without learning: DBSCAN in (η, φ, layer).

M. Ester, H.-P. Kriegel, J. Sander, X. Xu, "A density-based algorithm for discovering clusters
in large spatial databases with noise", KDD 1996. Calorimeter hits are points
``(η, cos φ, sin φ, layer_scale·layer)`` (φ on the unit circle, so that the chord stands for Δφ
across ±π); a hit with at least ``min_samples`` hits (itself included) within ``eps`` is a core
hit, core hits within ``eps`` of each other form one cluster, a non-core hit within ``eps`` of a
core hit joins the nearest one's cluster, and the rest is noise (−1). Track points are not
clustered. A cluster's energy is the sum of its hits' energies (no learned correction).

Implemented with ``scipy.spatial.cKDTree`` and connected components (no scikit-learn needed;
the test suite checks it against ``sklearn.cluster.DBSCAN``).

Shapes:
    - input ``features``: ``(N, 10)`` (:data:`~.calo_event.FEATURE_NAMES`), ``layer``: ``(N,)``
    - output: ``labels`` ``(N,)`` (cluster 0 … S−1 or −1)
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from raytrack.families.gravnet.calo_event import ETA, IS_TRACK, X, Y
from raytrack.families.gravnet.condensation import PredictedShowers


def dbscan(points: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    """DBSCAN labels of ``points`` ``(n, D)`` (see the module documentation)."""
    if eps <= 0 or min_samples < 1:
        raise ValueError(
            f"DBSCAN needs eps > 0 and min_samples >= 1, but got eps={eps}, "
            f"min_samples={min_samples}"
        )
    labels = np.full(len(points), -1, dtype=np.int64)
    if not len(points):
        return labels
    tree = cKDTree(points)
    pairs = tree.query_pairs(eps, output_type="ndarray")
    degree = 1 + np.bincount(pairs.ravel(), minlength=len(points))
    core = degree >= min_samples
    both = core[pairs[:, 0]] & core[pairs[:, 1]]
    core_ids = np.flatnonzero(core)
    if not len(core_ids):
        return labels
    position = np.full(len(points), -1)
    position[core_ids] = np.arange(len(core_ids))
    edges = pairs[both]
    graph = coo_matrix((np.ones(len(edges)), (position[edges[:, 0]], position[edges[:, 1]])),
                       shape=(len(core_ids), len(core_ids)))  # fmt: skip
    _, component = connected_components(graph, directed=False)
    labels[core_ids] = component
    border = np.flatnonzero(~core)
    if len(border):
        core_tree = cKDTree(points[core_ids])
        distance, nearest = core_tree.query(points[border], distance_upper_bound=eps)
        reached = np.isfinite(distance)
        labels[border[reached]] = component[nearest[reached]]
    return labels


def dbscan_showers(
    features: np.ndarray, layer: np.ndarray, *, eps: float, min_samples: int,
    layer_scale: float,
) -> PredictedShowers:  # fmt: skip
    """Showers of one event from DBSCAN on its calorimeter hits (module documentation)."""
    calo = features[:, IS_TRACK] < 0.5
    phi = np.arctan2(features[:, Y], features[:, X])
    points = np.stack([features[:, ETA], np.cos(phi), np.sin(phi), layer_scale * layer], axis=1)
    labels = np.full(len(features), -1, dtype=np.int64)
    labels[calo] = dbscan(points[calo].astype(np.float64), eps, min_samples)
    count = int(labels.max()) + 1 if (labels >= 0).any() else 0
    energy = features[:, 0].astype(np.float64)
    deposited = np.bincount(labels[labels >= 0], energy[labels >= 0], minlength=count)
    alpha = np.array([np.flatnonzero(labels == k)[np.argmax(energy[labels == k])]
                      for k in range(count)], dtype=np.int64)  # fmt: skip
    return PredictedShowers(labels, alpha, deposited, deposited)
