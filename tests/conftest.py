"""Shared fixtures: one local Ray instance per test session, the real data directory."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# A worker group that cannot be placed must fail, not retry forever.
os.environ.setdefault("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", "60")
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance with 2 CPUs shared by every test that needs Ray."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def simulated_events(count: int, seed: int, rfactor: float = 0.005) -> list:
    """Events of the detector simulation (deterministic in ``seed``), cached per arguments."""
    return list(_simulated_events(count, seed, rfactor))


@functools.lru_cache(maxsize=32)
def _simulated_events(count: int, seed: int, rfactor: float) -> tuple:
    from raytrack.families.tracking.sim_settings import SimulationSettings
    from raytrack.families.tracking.simulate import simulate_events

    return tuple(simulate_events(count, seed, SimulationSettings(rfactor=rfactor)))


def with_candidate_graph(event):
    """``event`` with the geometric constructor's candidate graph stored, as a stage writes it."""
    import numpy as np

    from raytrack.families.exatrkx.geometric_graph import GeometricGraphBuilder
    from raytrack.families.tracking.event import Event

    src, dst = GeometricGraphBuilder(phi_slope_max=0.02, z0_max=400)(event)
    edges = {"src": src, "dst": dst, "score": np.ones(len(src), np.float32)}
    return Event(event.event_id, event.hits, event.particles, edges=edges)


@pytest.fixture(scope="session")
def simulated_store(tmp_path_factory):
    """``make(events, seed, rfactor=0.005, graph=False) -> Path``: a simulated tracking store.

    The one store factory of the test suite: each store is written once per session and shared,
    so tests must not modify it (copy it first). ``graph=True`` stores the geometric candidate
    graph with every event, for stages that read a previous stage's graph.
    """
    from raytrack.families.tracking.event_store import write_events
    from raytrack.families.tracking.sim_settings import SimulationSettings
    from raytrack.families.tracking.simulate import provenance

    made: dict[tuple, Path] = {}

    def make(events: int, seed: int, rfactor: float = 0.005, *, graph: bool = False) -> Path:
        key = (events, seed, rfactor, graph)
        if key not in made:
            path = tmp_path_factory.mktemp(f"store-{events}-{seed}") / "store"
            rows = simulated_events(events, seed, rfactor)
            if graph:
                rows = [with_candidate_graph(e) for e in rows]
            settings = SimulationSettings(rfactor=rfactor)
            write_events(
                path, rows, provenance=provenance(events, seed, settings), source="detector_sim"
            )
            made[key] = path
        return made[key]

    return make
