"""A trial's voxdyn constructor in its checkpoints, so that a checkpoint infers on its own.

A constructor built in a sweep's shared storage (:mod:`.voxdyn_cache`) is kept by reference:
the checkpoint holds the artifact's directory and key, and loading it checks that the artifact
there is the one the model trained with (a clear error names the directory when it moved or
was rebuilt for another key). A constructor built in memory (no shared storage) is kept whole:
centroids and the CSR arrays of ``C`` as tensors (checkpoints load with ``weights_only=True``).
At ``ncell`` 65,536 on thousands of events ``C`` holds tens of millions of pairs, which is why
sweeps keep a reference rather than a copy in every checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from raytrack.families.hypertrack.voxdyn import VoxdynConstructor, connectivity_from_csr
from raytrack.families.hypertrack.voxdyn_cache import META, load_constructor
from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey


def constructor_state(constructor: VoxdynConstructor, artifact: Path | None) -> dict[str, Any]:
    """Plain data and tensors that :func:`constructor_from_state` turns back into ``constructor``."""
    state: dict[str, Any] = {"key": json.dumps(constructor.key.identity(), sort_keys=True)}
    if artifact is not None and (artifact / META).exists():
        state["artifact"] = str(artifact)
        return state
    c = constructor.connectivity.tocsr()
    state.update(
        centroids=torch.from_numpy(np.ascontiguousarray(constructor.centroids, np.float32)),
        indptr=torch.from_numpy(c.indptr.astype(np.int64)),
        indices=torch.from_numpy(c.indices.astype(np.int64)),
        training_hits=int(constructor.training_hits),
    )
    return state


def constructor_from_state(state: Mapping[str, Any]) -> VoxdynConstructor:
    """The constructor a checkpoint was trained with (see the module documentation)."""
    key = VoxdynKey.from_identity(json.loads(state["key"]))
    if "artifact" in state:
        directory = Path(state["artifact"])
        if not (directory / META).exists():
            raise VoxdynError(
                f"the checkpoint's voxdyn constructor ({key.describe()}) was kept at {directory}, "
                "which no longer holds it: restore the sweep's artifacts directory there, or "
                "retrain"
            )
        return load_constructor(directory, key)
    return VoxdynConstructor(
        key=key,
        centroids=state["centroids"].numpy().astype(np.float32),
        connectivity=connectivity_from_csr(
            state["indices"].numpy(), state["indptr"].numpy(), key.ncell
        ),
        training_hits=int(state.get("training_hits", 0)),
    )
