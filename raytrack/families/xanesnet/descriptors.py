"""The structure descriptors a store can hold, computed when the store is built.

``descriptor: {type: wacsf, params: {...}}`` (the reference's default, written here:
:mod:`.wacsf`) or ``{type: soap, params: {...}}`` — the smooth overlap of atomic positions
(A. P. Bartók, R. Kondor and G. Csányi, Phys. Rev. B 87 (2013) 184115) of the absorber's
environment, computed by the maintained library dscribe (L. Himanen et al., Comput. Phys.
Commun. 247 (2020) 106949), which is optional: ``pip install 'raytrack[xanesnet]'``. Both are
the reference's input format (``descriptor: {type, params}``) and parameter names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from raytrack.families.xanesnet.structure import Structure, XanesDataError, element_number
from raytrack.families.xanesnet.wacsf import WACSF, WacsfParams

SOAP_SPECIES = ["Fe", "H", "C", "O", "N", "F", "P", "S", "Cl", "Br", "I", "Si", "B", "Se", "As"]
"""The reference's SOAP species list for its Fe K-edge examples."""


class SoapParams(BaseModel):
    """SOAP settings (dscribe's ``SOAP``), under the reference's names."""

    model_config = ConfigDict(extra="forbid")

    species: list[str] = Field(default_factory=lambda: list(SOAP_SPECIES), min_length=1)
    n_max: int = Field(8, ge=1, description="radial basis functions")
    l_max: int = Field(6, ge=0, description="maximum degree of the spherical harmonics")
    r_cut: float = Field(6.0, gt=0.0, description="cutoff radius (Å)")
    sigma: float = Field(1.0, gt=0.0, description="width of the atomic Gaussians (Å)")


class WacsfDescriptor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["wacsf"] = "wacsf"
    params: WacsfParams = Field(default_factory=WacsfParams)


class SoapDescriptor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["soap"]
    params: SoapParams = Field(default_factory=SoapParams)


DescriptorSettings = Annotated[WacsfDescriptor | SoapDescriptor, Field(discriminator="type")]

Descriptor = Callable[[Structure, int], np.ndarray]
"""``descriptor(structure, absorber_index)`` → the absorber's feature vector."""


def make_descriptor(settings: WacsfDescriptor | SoapDescriptor) -> tuple[Descriptor, int]:
    """The descriptor function and its number of features."""
    if isinstance(settings, WacsfDescriptor):
        wacsf = WACSF(settings.params)
        return wacsf, wacsf.n_features
    return _soap(settings.params)


def _soap(params: SoapParams) -> tuple[Descriptor, int]:
    try:
        from ase import Atoms
        from dscribe.descriptors import SOAP
    except ImportError as err:
        raise ImportError(
            f"descriptor type soap needs the optional package dscribe ({err}); install it with "
            "pip install 'raytrack[xanesnet]' (or pip install dscribe), or use type wacsf"
        ) from None
    unknown = [s for s in params.species if element_number(s) is None or s.isdigit()]
    if unknown:
        raise ValueError(f"descriptor.params.species: {unknown} are not element symbols")
    soap = SOAP(
        species=params.species, r_cut=params.r_cut, n_max=params.n_max, l_max=params.l_max,
        sigma=params.sigma, periodic=False,
    )  # fmt: skip
    known = {element_number(s) for s in params.species}

    def describe(structure: Structure, index: int) -> np.ndarray:
        missing = sorted({structure.symbol(i) for i, z in enumerate(structure.numbers)
                          if int(z) not in known})  # fmt: skip
        if missing:
            raise XanesDataError(
                f"structure {structure.stem} holds {missing}, which descriptor.params.species "
                f"{params.species} lacks; add them to species"
            )
        atoms = Atoms(numbers=structure.numbers.astype(int), positions=structure.positions)
        return np.asarray(soap.create(atoms, centers=[index]), dtype=np.float64).reshape(-1)

    return describe, int(soap.get_number_of_features())
