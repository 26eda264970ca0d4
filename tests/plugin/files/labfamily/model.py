from typing import Annotated

from pydantic import Field, validate_call
from torch import nn


class BlobMLP(nn.Module):
    """An MLP scoring the 4 features of a sample."""

    @validate_call
    def __init__(
        self, *, hidden: Annotated[int, Field(ge=1)] = 8, nb_layer: Annotated[int, Field(ge=1)] = 1
    ) -> None:
        super().__init__()
        layers, width = [], 4
        for _ in range(nb_layer):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)
