"""The Exa.TrkX pipeline: metric-learning embedding, filter, interaction GNN.

Importing this package registers its models (``exatrkx_embedding``, ``exatrkx_filter``, ``exatrkx_gnn``) with
:mod:`raytrack.models.registry`.
"""

from raytrack.models.exatrkx import interaction_gnn  # noqa: F401  (registers exatrkx_gnn)
from raytrack.models.exatrkx import filter  # noqa: F401  (registers exatrkx_filter)
from raytrack.models.exatrkx import embedding  # noqa: F401  (registers exatrkx_embedding)
