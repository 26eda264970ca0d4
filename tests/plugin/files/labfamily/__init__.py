"""A lab's own model family, written outside raytrack: found only through ``plugins:``."""
