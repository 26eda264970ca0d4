"""The dataset options of the Exa.TrkX stages: the tracking options without HyperTrack's.

Every stage reads ``pt_signal_cut``, ``pt_background_cut``, ``noise`` and ``true_edges``
(:mod:`raytrack.families.tracking.options`). ``node2node`` is HyperTrack's truth topology: no
Exa.TrkX stage reads it, so giving it is an error rather than a setting that changes nothing.
So is ``noise: true`` beside ``pt_background_cut`` above 0: the cut removes the noise hits too
(the reference's ``select_data``), so the noise asked for would never be kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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

    @model_validator(mode="after")
    def _noise_survives_the_cut(self) -> ExaTrkXDataOptions:
        if self.noise and "noise" in self.model_fields_set and self.pt_background_cut > 0:
            why = (
                f"noise: true keeps no noise hit with pt_background_cut: {self.pt_background_cut}"
                f" (a cut above 0 removes the noise hits too, as the reference's select_data "
                f"does): set noise: false, or pt_background_cut: 0 to keep them"
            )
            error = PydanticCustomError("value_error", why)
            details = InitErrorDetails(type=error, loc=("noise",), input=self.noise)
            raise ValidationError.from_exception_data(type(self).__name__, [details])
        return self
