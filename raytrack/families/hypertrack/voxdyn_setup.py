"""The voxdyn constructor of a HyperTrack trial: built or shared in setup, kept in checkpoints.

:class:`VoxdynGraphs` is the part of the hypertrack task that owns ``self.constructor``:

- ``setup``: the constructor of the trial's ``ncell`` and ``node2node`` (a data option), fitted
  on the store's training events, is loaded from the sweep's shared artifact directory or built
  there once (:mod:`.voxdyn_cache`): trials that share an ``ncell`` share it. Outside a sweep it
  is built in memory.
- ``state_dict`` / ``load_state_dict``: the constructor travels with every checkpoint
  (:mod:`.voxdyn_state`), so a checkpoint infers on its own.
- ``store_problems``: before a sweep starts, the largest ``ncell`` its search may try must not
  exceed the training events' hits.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from raytrack.families.hypertrack.voxdyn import check_ncell, train_from_store
from raytrack.families.hypertrack.voxdyn_cache import artifact_dir, voxdyn_constructor
from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey, store_identity
from raytrack.families.hypertrack.voxdyn_state import constructor_from_state, constructor_state
from raytrack.tasks.base import Task, TaskContext

VOXDYN_SEED = 12345
"""k-means seed of the constructors (the reference's ``--random_seed`` default)."""
DEFAULT_NCELL = 4096


class VoxdynGraphs(Task):
    """The constructor handling of the hypertrack task (see the module documentation); the
    subclass sets ``ncell`` and ``options`` (its ``node2node``) before calling ``__init__``."""

    ncell: int
    options: Any

    def __init__(self) -> None:
        self.constructor: Any = None
        self._artifact: Path | None = None

    def setup(self, context: TaskContext) -> None:
        from raytrack.store.sample_store import SampleStore

        if context.store_path is None:
            raise ValueError("hypertrack builds its voxdyn graphs from a sample store (data.store)")
        store = SampleStore(context.store_path)
        events = tuple(int(e) for e in context.splits.get("train", ()))
        key = VoxdynKey(store=store_identity(store), ncell=self.ncell,
                        node2node=self.options.node2node, seed=VOXDYN_SEED, events=events)  # fmt: skip
        check_ncell(store, self.ncell, events)
        build = partial(train_from_store, store)
        if context.artifact_dir is None:
            self.constructor, self._artifact = build(key), None
        else:
            shared = Path(context.artifact_dir) / "voxdyn"  # one per sweep, on every node
            self.constructor = voxdyn_constructor(shared, key, build)
            self._artifact = artifact_dir(shared, key)

    def state_dict(self) -> dict[str, Any]:
        """The voxdyn constructor (by reference to the sweep's artifact, else whole)."""
        if self.constructor is None:
            return {}
        return {"voxdyn": constructor_state(self.constructor, self._artifact)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "voxdyn" in state:
            kept = state["voxdyn"]
            self.constructor = constructor_from_state(kept)
            self._artifact = Path(kept["artifact"]) if "artifact" in kept else None

    @classmethod
    def store_problems(cls, store, splits, values) -> list[str]:
        """The largest ``ncell`` the sweep may try must not exceed the training events' hits."""
        ncell = max(int(v) for v in values.get("ncell", [DEFAULT_NCELL]))
        try:
            check_ncell(store, ncell, splits.get("train", ()))
        except VoxdynError as err:
            return [f"model.hparams.ncell: {err}"]
        return []
