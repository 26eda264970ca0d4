"""Dataset options of the tracking families, under the Exa.TrkX and HyperTrack names.

They live in the experiment's ``data.options`` section; a tracking task receives them as its
``options`` (see :class:`raytrack.tasks.base.Task`). Semantics (Exa.TrkX processing):

- ``pt_signal_cut``: a true edge is *signal* when its particle's pT is above this cut (GeV);
  signal metrics and the ``subset`` regime use it.
- ``pt_background_cut``: hits of particles with pT at or below this cut are removed from the
  event. As in Exa.TrkX's ``select_data`` ("cutting background by pT by definition removes
  noise"), a cut above 0 removes the noise hits too, whatever ``noise`` says.
- ``noise``: keep noise hits (``particle_id == 0``) in the event (only with
  ``pt_background_cut == 0``; see above).
- ``true_edges``: the truth graph. ``modulewise``: one hit per module kept per particle (the
  first in hit order, as Exa.TrkX), ordered by distance from the production vertex, consecutive
  hits joined.
  ``layerwise``: the particle's layers ordered by their hit nearest the vertex, every hit on one
  layer joined to every hit of the same particle on the next layer.
- ``node2node``: HyperTrack's ground-truth topology between the hits of one particle.
  ``hyper``: every pair (n(n-1)/2 edges); ``eom``: the minimum spanning tree of the hits under
  3-D distance (n-1 edges; for one hit per layer, the chain in production order); ``cricket``:
  ``eom`` plus the double hops, pairs of hits two tree edges apart (2n-3 edges for a chain).

:mod:`raytrack.families.tracking.truth` implements all of these.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrackingDataOptions(BaseModel):
    """Options of per-event hit data (Exa.TrkX, HyperTrack, GravNet families)."""

    model_config = ConfigDict(extra="forbid")

    pt_signal_cut: float = Field(0.0, ge=0.0)
    pt_background_cut: float = Field(0.0, ge=0.0)
    noise: bool = True
    true_edges: Literal["modulewise", "layerwise"] = "modulewise"
    node2node: Literal["hyper", "eom", "cricket"] = "hyper"
