"""A tiny calorimeter store for the gravnet family's training tests (written once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.families.gravnet.examples import SETTINGS

TINY_EVENTS = 8


@pytest.fixture(scope="session")
def calo_store(tmp_path_factory) -> Path:
    """8 events of the contract example's small settings, as ``raytrack generate`` writes them."""
    from raytrack.data.build import build_store
    from raytrack.registry import get_source

    path = tmp_path_factory.mktemp("calo") / "store"
    build_store(get_source("calo_sim"), path, SETTINGS, count=TINY_EVENTS, seed=5)
    return path
