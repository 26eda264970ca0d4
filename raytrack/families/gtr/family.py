"""The gtr family's declaration (being written: its models, sources and evaluators come next)."""

from raytrack.family import Family

family = Family(name="gtr")
