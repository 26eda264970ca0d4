"""Figures of tracking evaluations counted directly from the stored truth (no raytrack metric
code): the particles a ``tracks`` evaluation must call reconstructable."""

from __future__ import annotations

import numpy as np

from raytrack.families.tracking.event_store import read_event


def reconstructable_particles(store, event_ids, pt_min: float = 1.0, min_hits: int = 5) -> int:
    """Particles with ``pt > pt_min`` and at least ``min_hits`` hits (noise excluded), summed
    over the events ``event_ids`` of ``store`` (the defaults of the tracks evaluator)."""
    total = 0
    for event_id in event_ids:
        event = read_event(store, event_id)
        ids, hits = np.unique(np.asarray(event.hits["particle_id"]), return_counts=True)
        pt = dict(zip(event.particles["particle_id"].tolist(), event.particles["pt"].tolist()))
        total += sum(
            1 for p, n in zip(ids.tolist(), hits.tolist()) if p != 0 and n >= min_hits
            and pt.get(p, 0.0) > pt_min
        )  # fmt: skip
    return total
