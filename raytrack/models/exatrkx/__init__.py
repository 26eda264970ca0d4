"""The Exa.TrkX pipeline: metric-learning embedding, filter, interaction GNN."""
