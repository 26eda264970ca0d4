"""Molecular structures from ``.xyz`` files, with the absorbing atom first (XANESNET's layout).

An ``.xyz`` file holds the number of atoms on its first line, a free title line, then one line
per atom: the element (a symbol such as ``Fe`` or an atomic number such as ``26``) and the
Cartesian coordinates ``x y z`` in ångström; further columns (charges, forces) are ignored,
and so are lines after the declared atoms (a multi-frame file gives its first frame; two files
of the reference's own test set repeat their absorber there), as the reference's reader does:
:attr:`Structure.trailing_lines` counts them and the store's provenance names such files.
Every problem is a :class:`XanesDataError` naming the file and the line.

Legend: ``N`` atoms; ``Z`` atomic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
    "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb "
    "Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm "
    "Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og"
).split()
"""Element symbols by atomic number (``SYMBOLS[Z - 1]``)."""
_NUMBER = {symbol.lower(): z for z, symbol in enumerate(SYMBOLS, start=1)}


class XanesDataError(ValueError):
    """A structure or spectrum file (or a pairing of them) that cannot be read as asked."""


@dataclass(frozen=True)
class Structure:
    """One molecule: atomic numbers and positions, the absorbing atom at ``absorber_index``.

    Shapes:
        - ``numbers``: ``(N,)`` int
        - ``positions``: ``(N, 3)`` float, ångström
    """

    stem: str
    numbers: np.ndarray
    positions: np.ndarray
    trailing_lines: int = 0
    """Non-empty lines after the declared atoms, not read."""

    def __len__(self) -> int:
        return len(self.numbers)

    def symbol(self, index: int) -> str:
        return SYMBOLS[int(self.numbers[index]) - 1]


def element_number(text: str) -> int | None:
    """The atomic number of an element symbol (any case) or of a number ``1..118``; else None."""
    if text.isdigit():
        z = int(text)
        return z if 1 <= z <= len(SYMBOLS) else None
    return _NUMBER.get(text.lower())


def read_xyz(path: str | Path) -> Structure:
    """The structure in the ``.xyz`` file ``path`` (see the module docstring for the format)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise XanesDataError(f"cannot read structure file {path}: {err}") from None
    if not lines or not lines[0].strip().isdigit():
        first = lines[0].strip() if lines else ""
        raise XanesDataError(
            f"malformed .xyz file {path}: line 1 must be the number of atoms, but is {first!r}"
        )
    count = int(lines[0])
    if count < 1:
        raise XanesDataError(f"malformed .xyz file {path}: it declares {count} atoms")
    atom_lines = lines[2 : 2 + count]
    if len(atom_lines) < count:
        raise XanesDataError(
            f"malformed .xyz file {path}: line 1 declares {count} atoms, but only "
            f"{len(atom_lines)} atom lines follow the title line"
        )
    trailing = sum(1 for line in lines[2 + count :] if line.strip())
    numbers = np.empty(count, dtype=np.int16)
    positions = np.empty((count, 3), dtype=np.float64)
    for index, line in enumerate(atom_lines):
        where = f"malformed .xyz file {path}, line {index + 3}"
        fields = line.split()
        if len(fields) < 4:
            raise XanesDataError(f"{where}: expected 'element x y z', but got {line.strip()!r}")
        z = element_number(fields[0])
        if z is None:
            raise XanesDataError(f"{where}: {fields[0]!r} is not an element symbol or number")
        try:
            xyz = [float(value) for value in fields[1:4]]
        except ValueError:
            raise XanesDataError(f"{where}: coordinates {fields[1:4]} are not numbers") from None
        if not np.all(np.isfinite(xyz)):
            raise XanesDataError(f"{where}: coordinates {fields[1:4]} are not finite")
        numbers[index] = z
        positions[index] = xyz
    return Structure(path.stem, numbers, positions, trailing)
