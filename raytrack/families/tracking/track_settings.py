"""How tracks are built and judged: one model for a pipeline file's ``tracks`` section, the
options of ``raytrack tracks`` and :func:`~raytrack.families.tracking.tracks.evaluate_tracks`.

Only pydantic is imported here, so the command line and pipeline validation stay light.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["cc", "walkthrough", "stage"] = "cc"
    """``cc``: connected components above ``edge_cut``; ``walkthrough``: acorn's walk-through;
    ``stage``: the clusters the stage itself made (its output's ``cluster_id`` hit column, e.g.
    a model with a clustering block of its own)."""
    edge_cut: float | None = Field(None, ge=0, le=1)
    """Score cut of connected components (``cc``); ``None``: the GNN's own ``edge_cut``."""
    score_cut_cc: float = Field(0.01, ge=0, le=1)
    """``walkthrough``: edges kept at all (acorn's ``score_cut_cc``)."""
    th_min: float = Field(0.1, ge=0, le=1)
    """``walkthrough``: the cut for the best next edge of a walk (acorn's ``score_cut_walk.min``)."""
    th_add: float = Field(0.6, ge=0, le=1)
    """``walkthrough``: the cut for following further edges (acorn's ``score_cut_walk.add``)."""
    pt_min: float | None = Field(1.0, ge=0)
    """Reconstructable particles: pT above this (GeV); ``None``: no cut."""
    min_hits: int = Field(5, ge=1)
    """Reconstructable particles and candidate tracks: at least this many hits."""
    matching_style: Literal["two_way", "one_way", "ATLAS"] = "two_way"
