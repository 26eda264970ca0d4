"""Dataset options of the tracking families, under the Exa.TrkX and HyperTrack names.

They live in the experiment's ``data.options`` section; a tracking task receives them as its
``options`` (see :class:`raytrack.tasks.base.Task`). Semantics (Exa.TrkX processing):

- ``pt_signal_cut``: a true edge is *signal* when its particle's pT is above this cut (GeV);
  signal metrics and the ``subset`` regime use it.
- ``pt_background_cut``: hits of particles with pT at or below this cut are removed from the
  event (noise hits are governed by ``noise`` alone).
- ``noise``: keep noise hits (``particle_id == 0``) in the event.
- ``true_edges``: the truth graph. ``modulewise``: each particle's hits ordered by distance from
  its production vertex, consecutive hits joined, only one hit kept per module.
  ``layerwise``: the same, but consecutive *layers* joined: every hit on one layer connects to
  every hit of the same particle on the next layer along the track.
- ``node2node``: HyperTrack's ground-truth topology between the hits of one particle.
  ``hyper``: every pair (n(n-1)/2 edges); ``eom``: a chain in production order (n-1 edges);
  ``cricket``: the chain plus second neighbours (skip-one edges, 2n-3 edges).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NoDataOptions(BaseModel):
    """Families whose data need no options."""

    model_config = ConfigDict(extra="forbid")


class TrackingDataOptions(BaseModel):
    """Options of per-event hit data (Exa.TrkX, HyperTrack, GravNet families)."""

    model_config = ConfigDict(extra="forbid")

    pt_signal_cut: float = Field(0.0, ge=0.0)
    pt_background_cut: float = Field(0.0, ge=0.0)
    noise: bool = True
    true_edges: Literal["modulewise", "layerwise"] = "modulewise"
    node2node: Literal["hyper", "eom", "cricket"] = "hyper"
