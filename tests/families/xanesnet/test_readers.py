"""Reading .xyz structures and FDMNES spectra: real files, and every malformed one named."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.xanesnet.spectrum import EnergyGrid, normalised, read_spectrum
from raytrack.families.xanesnet.structure import XanesDataError, read_xyz


def test_reads_atomic_numbers_and_symbols(fe_dir, shared_data):
    fe = read_xyz(fe_dir / "xyz_train" / "ABEMAX_C33H60FeN4Si4.xyz")
    assert len(fe) == 102 and fe.numbers[0] == 26 and fe.symbol(0) == "Fe"
    assert np.allclose(fe.positions[0], 0.0) and fe.positions.shape == (102, 3)
    small = read_xyz(shared_data / "xanes" / "small" / "xyz" / "0853.xyz")  # symbols: S, H, ...
    assert small.symbol(0) == "S" and small.numbers[0] == 16 and len(small) == 11


@pytest.mark.parametrize(
    "text, message",
    [
        ("two\ntitle\nFe 0 0 0\n", "line 1 must be the number of atoms"),
        ("2\ntitle\nFe 0 0 0\n", "line 1 declares 2 atoms, but only 1 atom lines"),
        ("1\ntitle\nXx 0 0 0\n", "line 3: 'Xx' is not an element"),
        ("1\ntitle\nFe 0 zero 0\n", "line 3: coordinates"),
        ("1\ntitle\nFe 0 0\n", "line 3: expected 'element x y z'"),
        ("1\ntitle\n200 0 0 0\n", "'200' is not an element"),
    ],
)
def test_malformed_xyz_names_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(XanesDataError, match=message) as caught:
        read_xyz(path)
    assert str(path) in str(caught.value)


def test_lines_after_the_declared_atoms_are_counted_not_read(tmp_path):
    path = tmp_path / "two_frames.xyz"
    path.write_text("1\nfirst\nFe 0 0 0\n1\nsecond\nFe 1 1 1\n")
    structure = read_xyz(path)
    assert len(structure) == 1 and np.allclose(structure.positions, 0.0)
    assert structure.trailing_lines == 3


def test_reads_fdmnes_spectra(fe_dir):
    spectrum = read_spectrum(fe_dir / "xanes_test" / "ACOMUA_C36H39FeP6(1+).txt")
    assert len(spectrum.energy) == 226
    assert spectrum.energy[0] == pytest.approx(7097.0) and spectrum.energy[-1] == pytest.approx(
        7172.0
    )
    assert spectrum.absorption.max() > 0.5


@pytest.mark.parametrize(
    "body, message",
    [
        ("7100 0.1\n7101 oops\n", "line 4: expected 'energy absorption'"),
        ("7100 0.1\n", "holds 1 energy points"),
        ("7101 0.1\n7100 0.2\n", "its energies must increase"),
        ("7100 nan\n7101 0.2\n", "non-finite"),
    ],
)
def test_malformed_spectrum_names_the_file(tmp_path, body, message):
    path = tmp_path / "bad.txt"
    path.write_text("FDMNES\nenergy <xanes>\n" + body)
    with pytest.raises(XanesDataError, match=message) as caught:
        read_spectrum(path)
    assert str(path) in str(caught.value)


def test_a_file_grid_is_fixed_by_the_first_spectrum_and_enforced(fe_dir, tmp_path):
    grid = EnergyGrid()
    first = fe_dir / "xanes_test" / "ACOMUA_C36H39FeP6(1+).txt"
    assert len(grid.place(read_spectrum(first), first)) == 226
    other = tmp_path / "other.txt"
    other.write_text("FDMNES\nenergy <xanes>\n7100 0.1\n7110 0.2\n7120 0.3\n")
    with pytest.raises(XanesDataError, match="on a different energy grid") as caught:
        grid.place(read_spectrum(other), other)
    assert str(other) in str(caught.value) and "e_min, e_max and n_points" in str(caught.value)


def test_interpolation_onto_a_set_grid_is_linear_and_never_extrapolates(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("FDMNES\nenergy <xanes>\n7100 0.0\n7110 1.0\n7120 3.0\n")
    grid = EnergyGrid(7105.0, 7115.0, 3)
    assert np.allclose(grid.place(read_spectrum(path), path), [0.5, 1.0, 2.0])
    with pytest.raises(XanesDataError, match="does not cover the grid"):
        EnergyGrid(7095.0, 7115.0, 3).place(read_spectrum(path), path)
    with pytest.raises(ValueError, match="give all three or none"):
        EnergyGrid(7100.0, None, 3)


def test_normalisation_by_max_and_area():
    energy = np.array([0.0, 1.0, 2.0])
    absorption = np.array([0.0, 2.0, 4.0])
    by_max, factor = normalised(absorption, energy, "max")
    assert factor == 4.0 and np.allclose(by_max, [0, 0.5, 1])
    by_area, area = normalised(absorption, energy, "area")
    assert area == pytest.approx(4.0) and np.allclose(by_area, absorption / 4.0)
    assert normalised(absorption, energy, "none")[1] == 1.0
