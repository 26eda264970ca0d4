"""GTR / biogtr (DREEM): the global tracking transformer for animals and cells.

The family's declaration is :mod:`raytrack.families.gtr.family`; its README is ``README.md``
beside this file.
"""
