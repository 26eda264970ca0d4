"""Tiny real inputs for the contract suite (:mod:`raytrack.tasks.contract`): a store of four
simulated very-low-pile-up events (``rfactor`` 0.002, seed 5) in a temporary directory, the
voxdyn constructor fitted on two of them, and the smallest network that runs every path."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from raytrack.family import ContractExample

OPTIONS = {"pt_signal_cut": 0.5, "noise": True, "node2node": "hyper"}
HPARAMS = {
    "nstack": 1, "h_dim": 8, "z_dim": 4, "m_dim": 8, "ncell": 16, "edge_threshold": 0.3,
    "cluster_block_param": {"h_dim": 8, "nstack_dec": 1},
    "cluster_param": {"min_graph": 3, "transformer": {"N_pivots": 2, "min_cluster_size": 2}},
}  # fmt: skip


@lru_cache(maxsize=1)
def tiny_store() -> Path:
    """Four simulated events written once per process into a temporary store."""
    from raytrack.families.tracking.sim_settings import SimulationSettings
    from raytrack.families.tracking.simulate import generate_store

    path = Path(tempfile.mkdtemp(prefix="raytrack-hypertrack-example-")) / "store"
    generate_store(path, 4, seed=5, settings=SimulationSettings(rfactor=0.002))
    return path


def hypertrack_example() -> ContractExample:
    from raytrack.store.sample_store import SampleStore
    from raytrack.tasks.base import TaskContext

    path = tiny_store()
    rows = list(SampleStore(path).iter_rows([2, 3]))
    context = TaskContext(store_path=str(path), splits={"train": [0, 1], "val": [2, 3]})
    return ContractExample(HPARAMS, rows, OPTIONS, context=context)
