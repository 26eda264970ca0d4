"""The Exa.TrkX pipeline: metric-learning embedding, filter, interaction GNN.

Importing this package registers its models (``exatrkx_embedding``, ``exatrkx_filter``, ``exatrkx_gnn``) with
:mod:`raytrack.registry`.
"""

from raytrack.families.exatrkx import interaction_gnn  # noqa: F401  (registers exatrkx_gnn)
from raytrack.families.exatrkx import filter  # noqa: F401  (registers exatrkx_filter)
from raytrack.families.exatrkx import embedding  # noqa: F401  (registers exatrkx_embedding)
