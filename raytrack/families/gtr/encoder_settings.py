"""``encoder_cfg``: the visual encoder that turns each instance's crop into a feature vector.

biogtr's keys: ``model_name``, ``backend`` (``timm`` or ``torchvision``), ``in_chans``, and any
keyword argument of the backend's constructor. raytrack adds the ``builtin`` backend (a small
CNN, :class:`~raytrack.families.gtr.small_cnn.SmallCNN`), the default, which needs neither timm
nor torchvision. Nothing is downloaded at run time: ``pretrained: true`` is an error, and
``weights`` names a local file of weights (a ``state_dict`` saved with ``torch.save``) loaded
into the backbone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Backend = Literal["builtin", "timm", "torchvision"]

TORCHVISION_MODELS = ("resnet18", "resnet34", "resnet50")
"""The torchvision backbones biogtr offers (its ``select_feature_extractor``)."""


class EncoderConfig(BaseModel):
    """The visual encoder. Extra keys are keyword arguments of the backend's constructor
    (``timm.create_model``, the torchvision model function, or ``SmallCNN``), checked when the
    encoder is built."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model_name: str = "cnn"
    """``cnn`` for the builtin backend; a timm model name; or one of ``resnet18/34/50``."""
    backend: Backend = "builtin"
    in_chans: Annotated[int, Field(ge=1)] = 3
    """Channels the backbone takes: the crops' channels times the anchors (biogtr stacks the crops
    of an instance's anchors along channels); one-channel crops are repeated to three when
    ``in_chans`` is 3, as in biogtr."""
    pretrained: bool = False
    """Only false: raytrack downloads no weights (give ``weights`` instead)."""
    weights: str | None = None
    """A local file of backbone weights (``torch.save(model.state_dict())``)."""

    @model_validator(mode="after")
    def _checks(self) -> EncoderConfig:
        if self.pretrained:
            raise ValueError(
                "encoder_cfg.pretrained: raytrack downloads no weights at run time; save the "
                "pretrained backbone's state_dict to a file and give its path as encoder_cfg.weights"
            )
        if self.backend == "builtin" and self.model_name != "cnn":
            raise ValueError(
                f"encoder_cfg.model_name {self.model_name!r} is not a builtin encoder (choices: "
                "cnn); timm or torchvision models need backend: timm or torchvision"
            )
        if self.backend == "torchvision" and self.model_name not in TORCHVISION_MODELS:
            raise ValueError(
                f"encoder_cfg.model_name {self.model_name!r} is not a torchvision backbone "
                f"raytrack builds (choices: {', '.join(TORCHVISION_MODELS)})"
            )
        return self

    @property
    def kwargs(self) -> dict[str, Any]:
        """The extra keys: keyword arguments of the backend's constructor."""
        return dict(self.model_extra or {})
