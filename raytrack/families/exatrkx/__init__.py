"""The Exa.TrkX pipeline: metric-learning embedding, edge filter, interaction GNN.

X. Ju et al., "Performance of a geometric deep learning pipeline for HL-LHC particle tracking",
Eur. Phys. J. C 81 (2021) 876, arXiv:2103.06995. The models keep the reference code's
hyperparameter names; :mod:`.family` declares them (``exatrkx_embedding``, ``exatrkx_filter``,
``exatrkx_gnn``).
"""
