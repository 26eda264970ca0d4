"""``embedding_meta``: the positional (``pos``) and temporal (``temp``) embeddings of GTR.

biogtr's ``embedding_meta: {pos: {mode, ...}, temp: {mode, ...}}`` with the same keys. Each
setting belongs to one mode (biogtr's ``Embedding.EMB_MODES``): ``temperature``, ``normalize``
and ``scale`` to ``fixed``, ``emb_num`` to ``learned``; ``over_boxes`` to the learned positional
embedding. A setting given for another mode is an error, not silently dropped. Unset settings
are ``None`` and take the reference's defaults in :mod:`~raytrack.families.gtr.box_embedding`
and :mod:`~raytrack.families.gtr.time_embedding`, so a dumped and reloaded experiment validates
again.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EmbeddingMode = Literal["fixed", "learned", "none"]

_MODE_KEYS = {
    "fixed": {"temperature", "normalize", "scale"},
    "learned": {"emb_num", "over_boxes"},
    "none": set(),
}


def _check_mode(settings: BaseModel, which: str) -> None:
    mode = settings.mode  # type: ignore[attr-defined]
    allowed = _MODE_KEYS[mode] | {"mode", "n_points", "mlp_cfg"}
    wrong = [
        name
        for name, value in settings
        if value is not None and name not in allowed and name in settings.model_fields_set
    ]
    if wrong:
        owners = {key: m for m, keys in _MODE_KEYS.items() for key in keys}
        listed = ", ".join(f"{key} (mode {owners[key]})" for key in wrong)
        raise ValueError(
            f"embedding_meta.{which} has mode {mode!r}, which takes none of {listed}; "
            "remove them or change the mode"
        )


class MlpConfig(BaseModel):
    """biogtr's ``mlp_cfg``: an MLP projecting the embeddings of several points to ``d_model``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_dims: Annotated[int, Field(ge=1)] = 256
    num_layers: Annotated[int, Field(ge=1)] = 2
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0


class PosEmbeddingSettings(BaseModel):
    """The positional embedding of each instance's boxes (one box per anchor point)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: EmbeddingMode = "fixed"
    n_points: Annotated[int, Field(ge=1)] = 1
    """Anchor points (boxes) per instance; must equal the store's anchors."""
    mlp_cfg: MlpConfig | None = None
    """Projects the ``n_points`` box embeddings to ``d_model``; required when they do not fit it."""
    temperature: Annotated[float, Field(gt=1)] | None = None
    """``fixed``: the sinusoid's wavelength base (default 10000)."""
    normalize: bool | None = None
    """``fixed``: multiply the image-normalised coordinates by ``scale`` (default false)."""
    scale: Annotated[float, Field(gt=0)] | None = None
    """``fixed`` with ``normalize``: the factor (default 2π); an error without ``normalize``."""
    emb_num: Annotated[int, Field(ge=2)] | None = None
    """``learned``: bins of the lookup table per coordinate (default 16)."""
    over_boxes: bool | None = None
    """``learned``: embed the corners ``x1 y1 x2 y2`` (true, default) or centre and size."""

    @model_validator(mode="after")
    def _settings_fit_the_mode(self) -> PosEmbeddingSettings:
        _check_mode(self, "pos")
        if self.scale is not None and not self.normalize:
            raise ValueError(
                f"embedding_meta.pos.scale ({self.scale}) applies only with normalize: true"
            )
        return self

    @property
    def effective_scale(self) -> float:
        return (self.scale if self.scale is not None else 2 * math.pi) if self.normalize else 1.0


class TempEmbeddingSettings(BaseModel):
    """The temporal embedding of each instance's frame offset within its window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: EmbeddingMode = "fixed"
    temperature: Annotated[float, Field(gt=1)] | None = None
    """``fixed``: the sinusoid's wavelength base (default 10000)."""
    emb_num: Annotated[int, Field(ge=2)] | None = None
    """``learned``: table rows, one per frame offset (default 16); later offsets share the last."""

    @model_validator(mode="after")
    def _settings_fit_the_mode(self) -> TempEmbeddingSettings:
        _check_mode(self, "temp")
        return self


class EmbeddingMeta(BaseModel):
    """biogtr's ``embedding_meta``; the default is its training config's (both ``fixed``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pos: PosEmbeddingSettings = Field(
        default_factory=lambda: PosEmbeddingSettings(mode="fixed", normalize=True)
    )
    temp: TempEmbeddingSettings = Field(default_factory=TempEmbeddingSettings)
