"""The dataset options of the Exa.TrkX stages: the tracking options without HyperTrack's.

Every stage reads ``pt_signal_cut``, ``pt_background_cut``, ``noise`` and ``true_edges``
(:mod:`raytrack.families.tracking.options`). ``node2node`` is HyperTrack's truth topology: no
Exa.TrkX stage reads it, so giving it is an error rather than a setting that changes nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from raytrack.families.tracking.options import TrackingDataOptions


class ExaTrkXDataOptions(TrackingDataOptions):
    """:class:`TrackingDataOptions` that refuse ``node2node`` (see the module documentation)."""

    node2node: None = None  # type: ignore[assignment]

    @field_validator("node2node", mode="before")
    @classmethod
    def _not_read(cls, value: Any) -> None:
        if value is None:  # a dump of these options: nothing chosen
            return None
        raise ValueError(
            f"node2node is HyperTrack's truth topology: no Exa.TrkX stage reads it, so "
            f"node2node: {value} would change nothing; remove it (the Exa.TrkX truth graph is "
            f"true_edges: modulewise or layerwise)"
        )
