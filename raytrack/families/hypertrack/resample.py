"""HyperTrack's per-event re-sampling and node features (``src/trackml_train.py``).

- ``rfactor``: the reference trains on full TrackML events and keeps a pile-up fraction
  ``rfactor`` of each event's particles, drawn uniformly in [``rfactor_start``, ``rfactor_end``]
  per event. Here the same draw keeps each particle's hits with probability ``rfactor`` (1: the
  stored event as it is; simulated stores already have their pile-up, ``rfactor`` of
  ``detector_sim``).
- ``noise_ratio``: the noise hits (``particle_id == 0``) kept are about that fraction of the
  event's hits after the draw (fewer when the event has fewer); ``-1`` keeps every noise hit.
- node features: the hits' ``x, y, z`` in millimetres, unnormalised, as the reference feeds them
  (``global_tune-5.py``: ``normalize_input = False``; its coordinate statistics are in mm). With
  coordinates in metres (millimetre-scale differences, products of 1e-3) the GNN learned
  markedly slower in a probe of the smoke setting.
"""

from __future__ import annotations

import numpy as np

from raytrack.families.tracking.event import Event
from raytrack.families.tracking.truth import signal_edges


def resample_event(
    event: Event, rfactor: tuple[float, float], noise_ratio: float, rng: np.random.Generator
) -> Event:
    """The event with a fraction of its particles and noise hits kept (see the module doc)."""
    low, high = rfactor
    if low >= 1.0 and noise_ratio < 0:
        return event
    pid = np.asarray(event.hits["particle_id"], np.int64)
    noise = pid == 0
    keep = ~noise
    if low < 1.0:
        fraction = rng.uniform(low, high) if high > low else low
        particles = np.unique(pid[~noise])
        kept = particles[rng.random(particles.size) < fraction]
        keep = np.isin(pid, kept)
    if noise_ratio < 0:
        keep |= noise
    elif noise.any() and noise_ratio > 0:
        signal = int(keep.sum())
        wanted = int(round(noise_ratio * signal / max(1e-9, 1.0 - noise_ratio)))
        chosen = rng.permutation(np.flatnonzero(noise))[: min(wanted, int(noise.sum()))]
        keep[chosen] = True
    hits = {name: np.asarray(column)[keep] for name, column in event.hits.items()}
    return Event(event.event_id, hits, event.particles, meta=event.meta)


def node_features(event: Event) -> np.ndarray:
    """``(N, 3)`` float32: ``x, y, z`` of the hits in millimetres (the store's unit)."""
    columns = [np.asarray(event.hits[c], np.float32) for c in ("x", "y", "z")]
    return np.stack(columns, axis=1)


def edge_signal(event: Event, edges: np.ndarray, labels: np.ndarray, pt_cut: float) -> np.ndarray:
    """True edges whose particle has ``pT > pt_cut``: the edges the signal metrics count."""
    return labels.astype(bool) & signal_edges(event, edges, pt_cut)
