"""A simulator: samples of two Gaussian blobs, one row each (a fixed-length vector and a label)."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from raytrack.family import SourceOutput
from raytrack.store.columns import Column, StoreSchema

SCHEMA = StoreSchema("sample_id", (Column("x", "float32", (4,)), Column("y", "float32")))


class BlobSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    separation: float = Field(2.0, gt=0, description="distance between the blob centres")


def blobs(settings: BlobSettings, *, count: int, seed: int) -> SourceOutput:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, count)
    x = rng.normal(size=(count, 4)) + settings.separation * y[:, None] / 2.0
    rows = (
        {"sample_id": i, "x": x[i].astype(np.float32), "y": np.float32(y[i])} for i in range(count)
    )
    return SourceOutput(rows, SCHEMA, {"generator": "labfamily blobs"})
