"""Fixtures of the HyperTrack model tests."""

from __future__ import annotations

import pytest
import torch

from tests.families.hypertrack.toy_graph import toy_event


@pytest.fixture
def event() -> dict:
    return toy_event()


@pytest.fixture
def one_thread():
    """Tiny models train faster on one thread than fighting over a shared machine's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
