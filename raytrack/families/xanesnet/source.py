"""The ``xyz_xanes`` data source: structures and their spectra, paired by file stem, as a store.

A folder of ``.xyz`` structures (:mod:`.structure`, absorbing atom at ``absorber_index``, the
first by default) and a folder of FDMNES spectra (:mod:`.spectrum`) become one row per
structure, in the order of the sorted stems (``sample_id`` 0, 1, ...):

- ``stem`` (str): the shared file stem;
- ``descriptor`` (float32, ``(F,)``): the absorber's descriptor (:mod:`.descriptors`);
- ``spectrum`` (float32, ``(P,)``): the absorption on the store's energy grid, normalised as
  asked, and ``spectrum_scale`` (float64): the factor it was divided by;
- ``energy`` (float64, ``(P,)``): the grid, eV;
- ``absorber`` (int16): the absorber's atomic number; ``atomic_numbers`` (int16, ``(N,)``) and
  ``positions`` (float32, ``(N, 3)``, Å): the whole structure (group ``atom``).

The grid, the normalisation and the descriptor (type, parameters, length) are recorded in the
store's provenance. A structure without a spectrum, or a spectrum without a structure, is an
error naming the file unless ``unpaired: drop`` (the dropped stems are then recorded); every
file problem is an error naming the file, raised before the store exists or while it is
written to a hidden temporary directory that is then removed: nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from raytrack.families.xanesnet.descriptors import (
    DescriptorSettings,
    WacsfDescriptor,
    make_descriptor,
)
from raytrack.families.xanesnet.spectrum import EnergyGrid, Normalise, normalised, read_spectrum
from raytrack.families.xanesnet.structure import XanesDataError, read_xyz
from raytrack.family import SourceOutput
from raytrack.store.columns import Column, StoreSchema

SOURCE_NAME = "xyz_xanes"


class XyzXanesSettings(BaseModel):
    """Where the structures and spectra are, and how the store holds them."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="data directory holding the structure and spectrum folders")
    xyz_path: str = Field("xyz", description="folder of .xyz structures, relative to path")
    xanes_path: str = Field("xanes", description="folder of .txt spectra, relative to path")
    absorber_index: int = Field(0, ge=0, description="index of the absorbing atom in each .xyz")
    unpaired: Literal["error", "drop"] = Field(
        "error", description="a structure without spectrum (or the reverse): error, or drop it"
    )
    e_min: float | None = Field(None, description="first grid energy (eV); default: the files'")
    e_max: float | None = Field(None, description="last grid energy (eV)")
    n_points: int | None = Field(None, ge=2, description="grid points from e_min to e_max")
    normalise: Normalise = Field("none", description="divide each spectrum by its max or area")
    descriptor: DescriptorSettings = Field(default_factory=WacsfDescriptor)

    @model_validator(mode="after")
    def _grid(self) -> XyzXanesSettings:
        EnergyGrid(self.e_min, self.e_max, self.n_points)  # raises naming the three settings
        return self

    def folder(self, name: Literal["xyz_path", "xanes_path"]) -> Path:
        folder = Path(self.path).expanduser() / getattr(self, name)
        if not folder.is_dir():
            raise FileNotFoundError(f"{name}: {folder} is not a directory")
        return folder.resolve()


def schema(n_features: int, n_points: int) -> StoreSchema:
    """The store's columns for descriptors of ``n_features`` and spectra of ``n_points``."""
    return StoreSchema(
        "sample_id",
        (
            Column("stem", "str"),
            Column("descriptor", "float32", (n_features,)),
            Column("spectrum", "float32", (n_points,)),
            Column("energy", "float64", (n_points,)),
            Column("spectrum_scale", "float64"),
            Column("absorber", "int16"),
            Column("atomic_numbers", "int16", (None,), group="atom"),
            Column("positions", "float32", (None, 3), group="atom"),
        ),
    )


def _stems(folder: Path, suffix: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix == suffix and p.is_file()}


def pair_files(settings: XyzXanesSettings) -> tuple[list[tuple[Path, Path]], dict[str, list[str]]]:
    """The (structure, spectrum) file pairs by stem, and the unpaired stems of each side."""
    xyz_dir, xanes_dir = settings.folder("xyz_path"), settings.folder("xanes_path")
    structures, spectra = _stems(xyz_dir, ".xyz"), _stems(xanes_dir, ".txt")
    lonely = {
        "structures_without_spectrum": sorted(set(structures) - set(spectra)),
        "spectra_without_structure": sorted(set(spectra) - set(structures)),
    }
    if settings.unpaired == "error":
        for key, own, other, ext in (("structures_without_spectrum", structures, xanes_dir, ".txt"),
                                     ("spectra_without_structure", spectra, xyz_dir, ".xyz")):  # fmt: skip
            if lonely[key]:
                first, more = lonely[key][0], len(lonely[key]) - 1
                kind = "structure" if ext == ".txt" else "spectrum"
                raise XanesDataError(
                    f"{kind} {own[first]} has no matching file {other / (first + ext)}"
                    + (f" ({more} more: {lonely[key][1:4]}...)" if more else "")
                    + "; pair every file by stem, or set unpaired: drop to leave such files out"
                )
    pairs = [(structures[s], spectra[s]) for s in sorted(set(structures) & set(spectra))]
    if not pairs:
        raise XanesDataError(
            f"no structure in {xyz_dir} (*.xyz) has a spectrum in {xanes_dir} (*.txt) of the "
            "same stem"
        )
    return pairs, lonely


def _rows(
    settings: XyzXanesSettings, pairs, describe, provenance: dict[str, Any]
) -> Iterator[dict]:
    grid = EnergyGrid(settings.e_min, settings.e_max, settings.n_points)
    absorbers: dict[str, int] = {}
    for sample_id, (xyz_file, xanes_file) in enumerate(pairs):
        structure = read_xyz(xyz_file)
        if settings.absorber_index >= len(structure):
            raise XanesDataError(
                f"absorber_index {settings.absorber_index} is out of range for {xyz_file}, which "
                f"holds {len(structure)} atoms"
            )
        absorption = grid.place(read_spectrum(xanes_file), xanes_file)
        try:
            absorption, scale = normalised(absorption, grid.energy, settings.normalise)
        except XanesDataError as err:
            raise XanesDataError(f"spectrum {xanes_file}: {err}") from None
        if structure.trailing_lines:
            provenance.setdefault("trailing_lines_ignored", []).append(structure.stem)
        symbol = structure.symbol(settings.absorber_index)
        absorbers[symbol] = absorbers.get(symbol, 0) + 1
        provenance["absorbers"] = dict(sorted(absorbers.items()))
        provenance["grid"] = {"e_min": float(grid.energy[0]), "e_max": float(grid.energy[-1]),
                              "n_points": len(grid.energy), "from": grid.origin}  # fmt: skip
        yield {
            "sample_id": sample_id,
            "stem": structure.stem,
            "descriptor": describe(structure, settings.absorber_index),
            "spectrum": absorption,
            "energy": grid.energy,
            "spectrum_scale": scale,
            "absorber": int(structure.numbers[settings.absorber_index]),
            "atomic_numbers": structure.numbers,
            "positions": structure.positions,
        }


def xyz_xanes(settings: XyzXanesSettings, *, count: None = None, seed: None = None) -> SourceOutput:
    """Every paired structure and spectrum of ``settings`` (a reader: no count, no seed)."""
    pairs, lonely = pair_files(settings)
    describe, n_features = make_descriptor(settings.descriptor)
    provenance: dict[str, Any] = {
        "reader": SOURCE_NAME,
        "xyz_dir": str(settings.folder("xyz_path")),
        "xanes_dir": str(settings.folder("xanes_path")),
        "structures": len(pairs),
        "dropped": {key: stems for key, stems in lonely.items() if stems},
        "normalise": settings.normalise,
        "descriptor": {**settings.descriptor.model_dump(mode="json"), "n_features": n_features},
    }
    return SourceOutput(
        _rows(settings, pairs, describe, provenance),
        lambda row: schema(len(row["descriptor"]), len(row["spectrum"])),
        provenance,
    )


def describe_store(store: Any) -> str:
    """Structures, grid, normalisation, descriptor and what was left out."""
    p = store.provenance
    grid, descriptor = p.get("grid", {}), p.get("descriptor", {})
    lines = [
        f"{len(store)} structures ({', '.join(f'{n} {s}' for s, n in p.get('absorbers', {}).items())}"
        f" absorbers); spectra on {grid.get('n_points')} points {grid.get('e_min'):g}.."
        f"{grid.get('e_max'):g} eV (normalise: {p.get('normalise')}); descriptor "
        f"{descriptor.get('type')} of {descriptor.get('n_features')} features",
    ]
    for key, stems in p.get("dropped", {}).items():
        lines.append(f"dropped {len(stems)} {key.replace('_', ' ')}: {stems[:5]}")
    return "\n".join(lines)
