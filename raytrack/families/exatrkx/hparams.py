"""Hyperparameters that an Exa.TrkX model and its task both take, declared once.

The registry passes a shared name to the builder and to the task alike and refuses a model
whose two signatures declare it differently, so each shared hyperparameter's type and bounds
live here and nowhere else.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from raytrack.families.tracking.event import CELL_COLUMNS

SpatialChannels = Annotated[int, Field(ge=1, le=3)]
"""Position features per hit, the first of ``r/1000, φ/π, z/1000``."""

CellChannels = Annotated[int, Field(ge=0, le=len(CELL_COLUMNS))]
"""Cell-shape features per hit (:data:`~raytrack.families.tracking.event.CELL_COLUMNS`)."""

InChannels = Annotated[int, Field(ge=1)]
"""Features per hit entering the filter: ``spatial_channels`` (+ ``cell_channels`` under ``ci``)."""

EmbChannels = Annotated[int, Field(ge=0)]
"""Embedding coordinates per hit appended to the filter's input (0: none)."""
