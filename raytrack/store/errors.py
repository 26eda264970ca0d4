"""The error of the store layer."""

from __future__ import annotations


class StoreError(ValueError):
    """A path that is not a readable sample store, or rows that cannot be stored."""
