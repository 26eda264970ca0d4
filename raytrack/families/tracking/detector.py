"""A TrackML-like silicon tracker: barrel cylinders and endcap disks, segmented into modules.

The layout follows the TrackML detector (``detectors.csv`` of the challenge), idealised: a barrel
layer is a cylinder of one radius and an endcap layer a disk (annulus) at one ``z``, so that a hit
lies exactly on its layer's surface. Identifiers follow the TrackML conventions:

======  ===============================  ==================================================
volume  part                             layers (``layer_id``, even numbers from 2)
======  ===============================  ==================================================
7 / 9   pixel endcap (-z / +z)           7 disks, ``|z|`` = 600 ... 1500 mm, r 30-176 mm
8       pixel barrel                     4 cylinders, r = 32, 72, 116, 172 mm, ``|z|`` < 491
12 / 14 short-strip endcap (-z / +z)     6 disks, ``|z|`` = 1220 ... 2950 mm, r 240-700 mm
13      short-strip barrel               4 cylinders, r = 260, 360, 500, 660 mm, ``|z|`` < 1084
16 / 18 long-strip endcap (-z / +z)      6 disks, ``|z|`` = 1220 ... 2950 mm, r 750-1020 mm
17      long-strip barrel                2 cylinders, r = 820, 1020 mm, ``|z|`` < 1084
======  ===============================  ==================================================

Layer ids grow with ``z`` in the endcaps (volume 7 layer 2 is the disk at z = -1500, volume 9
layer 2 the disk at z = +600) and with ``r`` in the barrel, as in TrackML. A barrel layer is
segmented into ``n_phi x n_z`` modules (``module_id = iz * n_phi + iphi + 1``), a disk into rings of
``n_phi`` modules each (``module_id`` counts ring by ring, inner ring first); module counts per
layer are TrackML's. Lengths are in mm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from raytrack.families.tracking.sim_settings import DetectorName

BARREL = 0
DISK = 1


@dataclass(frozen=True)
class BarrelLayer:
    volume_id: int
    layer_id: int
    radius: float
    half_length: float
    n_phi: int
    n_z: int


@dataclass(frozen=True)
class EndcapDisk:
    volume_id: int
    layer_id: int
    z: float
    ring_edges: tuple[float, ...]
    """Radial ring boundaries, inner to outer (``len(ring_n_phi) + 1`` values)."""
    ring_n_phi: tuple[int, ...]


class Detector:
    """Surfaces (barrel layers and disks) as arrays indexed by surface number.

    Per surface ``s``: ``kind[s]`` (:data:`BARREL` or :data:`DISK`), ``volume_id``, ``layer_id``,
    ``radius`` and ``half_length`` (barrel; ``nan`` for disks), ``z``, ``r_min``, ``r_max``
    (disks; ``nan`` for barrel layers). Module segmentation is stored as bins along a *segment
    coordinate* (``z`` for a barrel layer, ``r`` for a disk): ``seg_edges[s]`` (padded with
    ``inf``), ``seg_n_phi[s, k]`` modules in bin ``k`` and ``seg_offset[s, k]`` modules before it.
    """

    def __init__(self, barrel: Sequence[BarrelLayer], disks: Sequence[EndcapDisk]) -> None:
        self.barrel_layers = tuple(barrel)
        self.disks = tuple(disks)
        n = len(self.barrel_layers) + len(self.disks)
        if n == 0:
            raise ValueError("a detector needs at least one layer")
        self.n_surfaces = n
        nb = len(self.barrel_layers)
        self.kind = np.array([BARREL] * nb + [DISK] * len(self.disks), dtype=np.int8)
        self.volume_id = np.array(
            [s.volume_id for s in self.barrel_layers] + [d.volume_id for d in self.disks], np.int32
        )
        self.layer_id = np.array(
            [s.layer_id for s in self.barrel_layers] + [d.layer_id for d in self.disks], np.int32
        )
        nan_d = [np.nan] * len(self.disks)
        nan_b = [np.nan] * nb
        self.radius = np.array([s.radius for s in self.barrel_layers] + nan_d)
        self.half_length = np.array([s.half_length for s in self.barrel_layers] + nan_d)
        self.z = np.array(nan_b + [d.z for d in self.disks])
        self.r_min = np.array(nan_b + [d.ring_edges[0] for d in self.disks])
        self.r_max = np.array(nan_b + [d.ring_edges[-1] for d in self.disks])

        segments: list[tuple[np.ndarray, np.ndarray]] = []
        for layer in self.barrel_layers:
            edges = np.linspace(-layer.half_length, layer.half_length, layer.n_z + 1)
            segments.append((edges, np.full(layer.n_z, layer.n_phi)))
        for disk in self.disks:
            if len(disk.ring_edges) != len(disk.ring_n_phi) + 1 or np.any(
                np.diff(disk.ring_edges) <= 0
            ):
                raise ValueError(
                    f"disk (volume {disk.volume_id}, layer {disk.layer_id}): ring_edges must be "
                    f"increasing with one more value than ring_n_phi, but got {disk.ring_edges} "
                    f"and {disk.ring_n_phi}"
                )
            segments.append((np.asarray(disk.ring_edges, float), np.asarray(disk.ring_n_phi)))
        k = max(len(nphi) for _, nphi in segments)
        self.seg_edges = np.full((n, k + 1), np.inf)
        self.seg_n_phi = np.zeros((n, k), np.int64)
        for s, (edges, nphi) in enumerate(segments):
            self.seg_edges[s, : len(edges)] = edges
            self.seg_n_phi[s, : len(nphi)] = nphi
        self.seg_count = np.array([len(nphi) for _, nphi in segments])
        self.seg_offset = np.cumsum(self.seg_n_phi, axis=1) - self.seg_n_phi
        self.n_modules = self.seg_n_phi.sum(axis=1)
        self.barrel_index = np.flatnonzero(self.kind == BARREL)
        self.disk_index = np.flatnonzero(self.kind == DISK)

    def __repr__(self) -> str:
        return (
            f"Detector({len(self.barrel_layers)} barrel layers, {len(self.disks)} disks, "
            f"{int(self.n_modules.sum())} modules)"
        )

    @property
    def z_extent(self) -> float:
        """Largest ``|z|`` of any surface."""
        zs = [abs(d.z) for d in self.disks] + [b.half_length for b in self.barrel_layers]
        return float(max(zs))

    def module_id(
        self, surface: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
    ) -> np.ndarray:
        """Module id (1-based, within its layer) of points lying on the given surfaces."""
        surface = np.asarray(surface, np.int64)
        is_barrel = self.kind[surface] == BARREL
        seg_coord = np.where(is_barrel, z, np.hypot(x, y))
        edges = self.seg_edges[surface]
        k = (seg_coord[:, None] >= edges[:, 1:]).sum(axis=1)
        k = np.minimum(k, self.seg_count[surface] - 1)
        n_phi = self.seg_n_phi[surface, k]
        phi = np.arctan2(y, x)
        iphi = np.floor((phi + np.pi) / (2 * np.pi) * n_phi).astype(np.int64)
        iphi = np.clip(iphi, 0, n_phi - 1)
        return (self.seg_offset[surface, k] + iphi + 1).astype(np.int32)

    def random_points(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``n`` points uniform over uniformly chosen modules: ``(surface, x, y, z, module_id)``.

        Every module of the detector is equally likely; within a module the point is uniform in
        area (in ``phi`` and ``z`` on a barrel module, in ``phi`` and ``r**2`` on a disk module).
        """
        total = int(self.n_modules.sum())
        flat = rng.integers(0, total, size=n)
        first = np.cumsum(self.n_modules) - self.n_modules
        surface = np.searchsorted(first, flat, side="right") - 1
        local = flat - first[surface]  # 0-based module index within the layer
        offsets = self.seg_offset[surface]
        k = (local[:, None] >= offsets).sum(axis=1) - 1
        # bins beyond a surface's count have offset == total of that layer: exclude them
        k = np.minimum(k, self.seg_count[surface] - 1)
        iphi = local - offsets[np.arange(n), k]
        n_phi = self.seg_n_phi[surface, k]
        phi = -np.pi + (iphi + rng.random(n)) * (2 * np.pi / n_phi)
        lo = self.seg_edges[surface, k]
        hi = self.seg_edges[surface, k + 1]
        u = rng.random(n)
        is_barrel = self.kind[surface] == BARREL
        z_barrel = lo + u * (hi - lo)
        r_disk = np.sqrt(lo**2 + u * (hi**2 - lo**2))
        r = np.where(is_barrel, self.radius[surface], r_disk)
        z = np.where(is_barrel, z_barrel, self.z[surface])
        x, y = r * np.cos(phi), r * np.sin(phi)
        module = (offsets[np.arange(n), k] + iphi + 1).astype(np.int32)
        return surface, x, y, z, module


# TrackML-like layout -----------------------------------------------------------------------------

_PIXEL_BARREL = ((32.0, 16), (72.0, 32), (116.0, 52), (172.0, 78))
_SHORT_STRIP_BARREL = ((260.0, 40), (360.0, 56), (500.0, 78), (660.0, 102))
_LONG_STRIP_BARREL = ((820.0, 120), (1020.0, 152))
_PIXEL_DISK_Z = (600.0, 700.0, 820.0, 960.0, 1100.0, 1300.0, 1500.0)
_STRIP_DISK_Z = (1220.0, 1500.0, 1800.0, 2150.0, 2550.0, 2950.0)


def _disks(
    volume_minus: int, volume_plus: int, zs: Sequence[float], edges, n_phi
) -> list[EndcapDisk]:
    out = []
    # -z side: layer 2 is the disk farthest from the interaction point (TrackML convention)
    for i, z in enumerate(sorted(-z for z in zs)):
        out.append(EndcapDisk(volume_minus, 2 * (i + 1), z, tuple(edges), tuple(n_phi)))
    for i, z in enumerate(sorted(zs)):
        out.append(EndcapDisk(volume_plus, 2 * (i + 1), z, tuple(edges), tuple(n_phi)))
    return out


@cache
def trackml_detector(name: DetectorName = "trackml") -> Detector:
    """A detector preset (cached; treat it as read-only)."""
    if name not in ("trackml", "trackml_barrel", "trackml_pixel"):
        raise ValueError(
            f"unknown detector {name!r}; choose one of 'trackml', 'trackml_barrel', 'trackml_pixel'"
        )
    barrel = [
        BarrelLayer(8, 2 * (i + 1), r, 491.0, n_phi, 14)
        for i, (r, n_phi) in enumerate(_PIXEL_BARREL)
    ]
    disks: list[EndcapDisk] = []
    if name != "trackml_pixel":
        barrel += [
            BarrelLayer(13, 2 * (i + 1), r, 1084.0, n_phi, 21)
            for i, (r, n_phi) in enumerate(_SHORT_STRIP_BARREL)
        ]
        barrel += [
            BarrelLayer(17, 2 * (i + 1), r, 1084.0, n_phi, 21)
            for i, (r, n_phi) in enumerate(_LONG_STRIP_BARREL)
        ]
    if name != "trackml_barrel":
        disks += _disks(7, 9, _PIXEL_DISK_Z, (30.0, 100.0, 176.0), (40, 68))
    if name == "trackml":
        disks += _disks(12, 14, _STRIP_DISK_Z, (240.0, 390.0, 545.0, 700.0), (44, 56, 70))
        disks += _disks(16, 18, _STRIP_DISK_Z, (750.0, 885.0, 1020.0), (46, 52))
    return Detector(barrel, disks)
