"""The xyz_xanes data source: the real Fe and small sets into stores, and every bad input a
clear error naming the file or key, with nothing half-written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from pydantic import ValidationError

from raytrack.families.xanesnet.source import XyzXanesSettings
from raytrack.families.xanesnet.structure import XanesDataError
from raytrack.store.sample_store import SampleStore
from tests.families.xanesnet.conftest import build


def test_fe_training_store_holds_every_pair(fe_stores):
    store = SampleStore(fe_stores["train"])
    assert len(store) == 99 and store.source == "xyz_xanes"
    row = store.row(0)
    assert row["stem"] == "ABEMAX_C33H60FeN4Si4"  # sorted stems; ABAXIK has no structure
    assert row["descriptor"].shape == (49,) and row["spectrum"].shape == (226,)
    assert row["energy"][0] == pytest.approx(7097.0) and row["absorber"] == 26
    assert row["positions"].shape == (102, 3) and len(row["atomic_numbers"]) == 102
    provenance = store.provenance
    assert provenance["dropped"] == {"spectra_without_structure": ["ABAXIK_C11H21FeIN3O2(1+)"]}
    assert provenance["grid"]["n_points"] == 226 and provenance["normalise"] == "none"
    assert (
        provenance["descriptor"]["type"] == "wacsf" and provenance["descriptor"]["n_features"] == 49
    )
    assert provenance["absorbers"] == {"Fe": 99}
    assert len(SampleStore(fe_stores["test"])) == 10


def test_grid_and_normalisation_are_applied_and_recorded(fe_dir, tmp_path):
    store = SampleStore(build(
        tmp_path / "s", path=str(fe_dir), xyz_path="xyz_test", xanes_path="xanes_test",
        e_min=7100.0, e_max=7170.0, n_points=71, normalise="max",
    ))  # fmt: skip
    row = store.row(0)
    assert np.allclose(row["energy"], np.linspace(7100, 7170, 71))
    assert row["spectrum"].max() == pytest.approx(1.0) and row["spectrum_scale"] > 0.5
    assert store.provenance["grid"]["from"] == "settings e_min, e_max, n_points"
    assert store.provenance["normalise"] == "max"


def test_a_spectrum_without_structure_is_an_error_naming_it(fe_dir, tmp_path):
    destination = tmp_path / "store"
    with pytest.raises(XanesDataError, match=r"spectrum .*ABAXIK_C11H21FeIN3O2\(1\+\)\.txt has no "
                       r"matching file .*xyz_train/ABAXIK") as caught:  # fmt: skip
        build(destination, path=str(fe_dir), xyz_path="xyz_train", xanes_path="xanes_train")
    assert "unpaired: drop" in str(caught.value)
    assert not destination.exists()


def test_a_structure_without_spectrum_is_an_error_naming_it(shared_data, tmp_path):
    small = shared_data / "xanes" / "small"  # 10 structures, 8 spectra
    with pytest.raises(
        XanesDataError, match=r"structure .*0865\.xyz has no matching file .*0865\.txt \(1 more"
    ):
        build(tmp_path / "store", path=str(small))
    store = SampleStore(build(tmp_path / "dropped", path=str(small), unpaired="drop"))
    assert len(store) == 8 and store.provenance["dropped"] == {
        "structures_without_spectrum": ["0865", "0911"]
    }
    assert store.row(0)["spectrum"].shape == (400,)
    assert store.provenance["trailing_lines_ignored"] == ["0860", "0861"]


def _copy_pairs(fe_dir, tmp_path, count=3):
    for kind, ext in (("xyz", ".xyz"), ("xanes", ".txt")):
        (tmp_path / kind).mkdir()
        for path in sorted((fe_dir / f"{kind}_test").glob(f"*{ext}"))[:count]:
            shutil.copy(path, tmp_path / kind / path.name)
    return sorted(p.stem for p in (tmp_path / "xyz").iterdir())


def _nothing_written(parent):
    assert not (parent / "store").exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(".store.tmp")]


def test_a_spectrum_on_another_grid_names_the_file_and_writes_nothing(fe_dir, tmp_path):
    stems = _copy_pairs(fe_dir, tmp_path)
    odd = tmp_path / "xanes" / f"{stems[-1]}.txt"
    odd.write_text("FDMNES\nenergy <xanes>\n" + "".join(f"{7090 + i} 0.1\n" for i in range(90)))
    with pytest.raises(XanesDataError, match="different energy grid") as caught:
        build(tmp_path / "store", path=str(tmp_path))
    assert str(odd) in str(caught.value)
    _nothing_written(tmp_path)


def test_a_malformed_xyz_names_the_file_and_writes_nothing(fe_dir, tmp_path):
    stems = _copy_pairs(fe_dir, tmp_path)
    bad = tmp_path / "xyz" / f"{stems[1]}.xyz"
    bad.write_text("3\ntitle\n26 0 0 0\n8 1.9 0 0\n")
    with pytest.raises(XanesDataError, match="line 1 declares 3 atoms") as caught:
        build(tmp_path / "store", path=str(tmp_path))
    assert str(bad) in str(caught.value)
    _nothing_written(tmp_path)


def test_an_absorber_index_out_of_range_names_the_key_and_file(fe_dir, tmp_path):
    stems = _copy_pairs(fe_dir, tmp_path)
    small = tmp_path / "xyz" / f"{stems[0]}.xyz"
    small.write_text("2\ntiny\n26 0 0 0\n8 1.9 0 0\n")
    with pytest.raises(
        XanesDataError, match=r"absorber_index 5 is out of range for .*, which holds 2 atoms"
    ) as caught:
        build(tmp_path / "store", path=str(tmp_path), absorber_index=5)
    assert str(small) in str(caught.value)
    _nothing_written(tmp_path)


def test_settings_are_checked_before_anything_is_read(tmp_path):
    with pytest.raises(ValidationError, match="give all three or none"):
        XyzXanesSettings(path=str(tmp_path), e_min=7100.0)
    with pytest.raises(ValidationError, match="n_g4 must be a multiple of"):
        XyzXanesSettings(path=".", descriptor={"type": "wacsf", "params": {"n_g4": 3}})
    with pytest.raises(ValidationError, match="absorber_index"):
        XyzXanesSettings(path=".", absorber_index=-1)
    with pytest.raises(FileNotFoundError, match="xyz_path: .* is not a directory"):
        build(tmp_path / "store", path=str(tmp_path))


def test_soap_descriptor_through_dscribe(fe_dir, tmp_path):
    pytest.importorskip("dscribe")
    params = {"n_max": 2, "l_max": 2, "r_cut": 5.0}
    store = SampleStore(build(
        tmp_path / "soap", path=str(fe_dir), xyz_path="xyz_test", xanes_path="xanes_test",
        descriptor={"type": "soap", "params": params},
    ))  # fmt: skip
    descriptor = store.row(0)["descriptor"]
    assert store.provenance["descriptor"]["type"] == "soap"
    assert descriptor.shape == (store.provenance["descriptor"]["n_features"],)
    assert np.isfinite(descriptor).all() and np.abs(descriptor).sum() > 0
    with pytest.raises(XanesDataError, match="lacks; add them to species"):
        build(tmp_path / "few", path=str(fe_dir), xyz_path="xyz_test", xanes_path="xanes_test",
              descriptor={"type": "soap", "params": {**params, "species": ["Fe", "C"]}})  # fmt: skip


def test_convert_command_builds_the_store(fe_dir, tmp_path, capsys):
    from raytrack.cli import main

    code = main(["convert", "xyz_xanes", str(fe_dir), str(tmp_path / "cli"),
                 "--xyz-path", "xyz_test", "--xanes-path", "xanes_test", "--normalise", "max"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "10 structures (10 Fe absorbers)" in out and "normalise: max" in out
    assert SampleStore(tmp_path / "cli").provenance["normalise"] == "max"
