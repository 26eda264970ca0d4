"""HyperTrack: voxel-dynamics graphs, a GNN edge predictor and set-transformer clustering."""
