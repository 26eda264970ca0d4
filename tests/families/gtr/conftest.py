"""Stores of the GTR sources, written once per session (tests must not modify them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.family import SourceOutput


def write(path: Path, output: SourceOutput, source: str):
    from raytrack.store.writing import write_store

    return write_store(
        path, output.rows, schema=output.schema, provenance=output.provenance, source=source
    )


@pytest.fixture(scope="session")
def flies_store(shared_data, tmp_path_factory):
    """two_flies: 8 clips of 16 frames with 48-pixel crops from the real video."""
    pytest.importorskip("sleap_io")
    pytest.importorskip("av")
    from raytrack.families.gtr.sleap_source import SleapSettings, sleap_clips

    settings = SleapSettings(
        slp_files=[str(shared_data / "sleap" / "two_flies.slp")], clip_length=16, crop_size=40,
        padding=4,
    )  # fmt: skip
    return write(tmp_path_factory.mktemp("flies") / "store", sleap_clips(settings), "sleap")


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory):
    """12 simulated clips of 8 frames with crossings and crops."""
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import moving_objects

    settings = MovingObjectsSettings(
        clip_length=8, image_size=(96, 96), objects=2, crossings=1, crop_size=12
    )
    output = moving_objects(settings, count=12, seed=1)
    return write(tmp_path_factory.mktemp("sim") / "store", output, "moving_objects")
