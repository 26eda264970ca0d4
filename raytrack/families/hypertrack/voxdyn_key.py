"""What identifies a trained Voxel-Dynamics constructor: its key, and a store's identity.

A constructor (:mod:`.voxdyn`) depends on the events it was trained on and on how: the
:class:`VoxdynKey` holds the store's identity (:func:`store_identity`), the training event ids,
``ncell``, ``node2node``, the k-means ``seed``, ``niter`` and ``max_points_per_centroid`` (the
reference's names, ``src/trackml_pretrain_voxdyn.py``). Two keys with equal fields name the same
constructor, so trials of a sweep that agree on them share one artifact (:mod:`.voxdyn_cache`).

The store's identity is a digest of its ``meta.json`` content (format, schema, provenance,
counts and files), not of its path: a store copied to another node, or regenerated from the same
seed and settings, keeps its identity; a store written with other events gets another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["NODE2NODE", "VoxdynError", "VoxdynKey", "store_identity"]

NODE2NODE = ("hyper", "eom", "cricket")
"""HyperTrack's ground-truth topologies (:func:`raytrack.families.tracking.truth.node2node_edges`)."""

DEFAULT_NITER = 20
"""k-means iterations (the reference trainer's ``--niter`` default)."""
DEFAULT_MAX_POINTS_PER_CENTROID = 1_000_000_000
"""No subsampling of the training hits by faiss (the reference's ``--max_points_per_centroid``)."""


class VoxdynError(ValueError):
    """A voxdyn constructor cannot be built or loaded as asked; the message names the key."""


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def store_identity(store: Any) -> str:
    """A 16-hex-digit digest of a sample store's metadata (its content, not its path)."""
    metadata = getattr(store, "metadata", None)
    if not isinstance(metadata, dict):
        raise TypeError(f"expected a SampleStore (with a metadata dict), but got {store!r}")
    return _digest(metadata)


@dataclass(frozen=True)
class VoxdynKey:
    """Everything a trained constructor depends on; checked when it is made."""

    store: str
    """:func:`store_identity` of the store holding the training events."""
    ncell: int
    """Number of Voronoi cells (k-means centroids)."""
    node2node: str
    """Ground-truth topology linking training hits: ``hyper``, ``eom`` or ``cricket``."""
    seed: int
    """Seed of the k-means initialisation."""
    events: tuple[int, ...]
    """Ids of the training events in the store (kept sorted and unique)."""
    niter: int = DEFAULT_NITER
    max_points_per_centroid: int = DEFAULT_MAX_POINTS_PER_CENTROID
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Free-form notes recorded in the artifact (not part of the identity)."""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.store, str) or not self.store:
            problems.append(f"store must be a non-empty store identity, but got {self.store!r}")
        if isinstance(self.ncell, bool) or not isinstance(self.ncell, int) or self.ncell < 1:
            problems.append(f"ncell must be an integer of at least 1, but got ncell={self.ncell!r}")
        if self.node2node not in NODE2NODE:
            problems.append(
                f"node2node={self.node2node!r} is not a known topology; choose one of "
                f"{', '.join(repr(k) for k in NODE2NODE)}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"seed must be a non-negative integer, but got seed={self.seed!r}")
        if isinstance(self.niter, bool) or not isinstance(self.niter, int) or self.niter < 1:
            problems.append(f"niter must be an integer of at least 1, but got niter={self.niter!r}")
        if not isinstance(self.max_points_per_centroid, int) or self.max_points_per_centroid < 1:
            problems.append(
                "max_points_per_centroid must be an integer of at least 1, but got "
                f"max_points_per_centroid={self.max_points_per_centroid!r}"
            )
        try:
            events = tuple(sorted({int(e) for e in self.events}))
        except (TypeError, ValueError):
            events = ()
            problems.append(f"events must be event ids (integers), but got {self.events!r}")
        if not events and not problems:
            problems.append("events must name at least one training event, but got none")
        if problems:
            raise VoxdynError("voxdyn key: " + "; ".join(problems))
        object.__setattr__(self, "events", events)

    def identity(self) -> dict[str, Any]:
        """The fields that identify the constructor (JSON-ready)."""
        data = asdict(self)
        data.pop("extra")
        data["events"] = list(self.events)
        return data

    @property
    def digest(self) -> str:
        """16 hex digits of :meth:`identity`: equal keys, equal digests."""
        return _digest(self.identity())

    def describe(self) -> str:
        """One line naming the key, for messages."""
        events = self.events
        shown = f"{len(events)} events {events[0]}..{events[-1]}" if len(events) > 3 else events
        return (
            f"voxdyn key (store={self.store}, ncell={self.ncell}, node2node={self.node2node!r}, "
            f"seed={self.seed}, events={shown}, niter={self.niter})"
        )

    @classmethod
    def from_identity(cls, data: dict[str, Any]) -> VoxdynKey:
        fields = ("store", "ncell", "node2node", "seed", "events", "niter")
        missing = [name for name in fields if name not in data]
        if missing:
            raise VoxdynError(f"a voxdyn key needs {list(fields)}, but {missing} are missing")
        return cls(
            store=data["store"],
            ncell=data["ncell"],
            node2node=data["node2node"],
            seed=data["seed"],
            events=tuple(data["events"]),
            niter=data["niter"],
            max_points_per_centroid=data.get(
                "max_points_per_centroid", DEFAULT_MAX_POINTS_PER_CENTROID
            ),
        )
