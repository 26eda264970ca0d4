"""raytrack's own model families, one package each, and the tracking code they share.

Each package declares itself once in its ``family`` module (see :mod:`raytrack.family`), found
through the ``raytrack.families`` entry points in ``pyproject.toml``. Families import the
platform and :mod:`raytrack.families.tracking`, never each other.
"""
