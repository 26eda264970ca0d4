"""X-ray absorption spectra from FDMNES-style text files, on a common energy grid.

A spectrum file holds two header lines (FDMNES writes ``FDMNES`` and ``energy <xanes>``; ORCA
exports the same layout), then one line per energy: the energy in eV and the absorption
(further columns are ignored). Spectra enter the store on one energy grid: the grid of the
files themselves (every file must then share it), or ``e_min .. e_max`` in ``n_points`` steps,
onto which each spectrum is interpolated linearly (its energies must cover the grid: nothing is
extrapolated). ``normalise`` divides each spectrum by its maximum (``max``) or by its area on
the grid (``area``, trapezoidal rule); the factor is stored with it.

Legend: ``P`` grid points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from raytrack.families.xanesnet.structure import XanesDataError

Normalise = Literal["none", "max", "area"]
GRID_TOLERANCE_EV = 1e-3
"""Two energies closer than this are the same grid point (files print 2 decimals of eV)."""


@dataclass(frozen=True)
class Spectrum:
    """One spectrum as read.

    Shapes:
        - ``energy``: ``(P,)`` eV, strictly increasing
        - ``absorption``: ``(P,)``
    """

    stem: str
    energy: np.ndarray
    absorption: np.ndarray


def read_spectrum(path: str | Path) -> Spectrum:
    """The spectrum in ``path``: two header lines, then ``energy absorption`` per line."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise XanesDataError(f"cannot read spectrum file {path}: {err}") from None
    values = []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        try:
            values.append((float(fields[0]), float(fields[1])))
        except (ValueError, IndexError):
            raise XanesDataError(
                f"malformed spectrum file {path}, line {number}: expected 'energy absorption' "
                f"after the two header lines, but got {line.strip()!r}"
            ) from None
    if len(values) < 2:
        raise XanesDataError(
            f"malformed spectrum file {path}: it holds {len(values)} energy points after its "
            "two header lines; a spectrum needs at least 2"
        )
    data = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(data)):
        raise XanesDataError(f"malformed spectrum file {path}: it holds non-finite values")
    if np.any(np.diff(data[:, 0]) <= 0):
        raise XanesDataError(f"malformed spectrum file {path}: its energies must increase")
    return Spectrum(path.stem, data[:, 0], data[:, 1])


class EnergyGrid:
    """The store's energy grid: fixed by settings, or by the first file read.

    Args:
        e_min, e_max, n_points: the grid ``linspace(e_min, e_max, n_points)``; all three or
            none (then the first spectrum's own energies are the grid, and every other spectrum
            must have the same).
    """

    def __init__(
        self, e_min: float | None = None, e_max: float | None = None, n_points: int | None = None
    ) -> None:
        given = [v is not None for v in (e_min, e_max, n_points)]
        if any(given) and not all(given):
            raise ValueError(
                "e_min, e_max and n_points define the energy grid together: give all three or "
                f"none, but got e_min={e_min}, e_max={e_max}, n_points={n_points}"
            )
        self.interpolate = all(given)
        self.energy: np.ndarray | None = None
        self.origin = ""
        if self.interpolate:
            if not e_max > e_min:
                raise ValueError(f"e_max must be above e_min, but got e_min={e_min}, e_max={e_max}")
            if n_points < 2:
                raise ValueError(f"n_points must be at least 2, but got n_points={n_points}")
            self.energy = np.linspace(float(e_min), float(e_max), int(n_points))
            self.origin = "settings e_min, e_max, n_points"

    def place(self, spectrum: Spectrum, path: Path) -> np.ndarray:
        """``spectrum``'s absorption on the grid (the first spectrum fixes a file grid)."""
        if self.energy is None:
            self.energy, self.origin = spectrum.energy.copy(), f"the energies of {path}"
            return spectrum.absorption.copy()
        if self.interpolate:
            low, high = spectrum.energy[0], spectrum.energy[-1]
            if (
                low > self.energy[0] + GRID_TOLERANCE_EV
                or high < self.energy[-1] - GRID_TOLERANCE_EV
            ):
                raise XanesDataError(
                    f"spectrum {path} covers {low:g}..{high:g} eV, which does not cover the grid "
                    f"e_min..e_max = {self.energy[0]:g}..{self.energy[-1]:g} eV (nothing is "
                    "extrapolated); narrow the grid or leave this spectrum out"
                )
            return np.interp(self.energy, spectrum.energy, spectrum.absorption)
        same = len(spectrum.energy) == len(self.energy) and np.allclose(
            spectrum.energy, self.energy, rtol=0.0, atol=GRID_TOLERANCE_EV
        )
        if not same:
            raise XanesDataError(
                f"spectrum {path} is on a different energy grid ({len(spectrum.energy)} points, "
                f"{spectrum.energy[0]:g}..{spectrum.energy[-1]:g} eV) than {self.origin} "
                f"({len(self.energy)} points, {self.energy[0]:g}..{self.energy[-1]:g} eV); set "
                "e_min, e_max and n_points to interpolate every spectrum onto one grid"
            )
        return spectrum.absorption.copy()


def normalised(
    absorption: np.ndarray, energy: np.ndarray, how: Normalise
) -> tuple[np.ndarray, float]:
    """``(absorption / factor, factor)`` for normalisation ``how`` (factor 1 for ``none``)."""
    if how == "none":
        return absorption, 1.0
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy >= 2 / 1.x
    factor = float(absorption.max()) if how == "max" else float(trapezoid(absorption, energy))
    if not factor > 0:
        raise XanesDataError(f"cannot normalise by {how}: the spectrum's {how} is {factor:g}")
    return absorption / factor, factor
