"""A tiny hand-made event for the HyperTrack model tests: straight tracks and noise hits."""

from __future__ import annotations

import math

import torch


def toy_event(n_tracks: int = 4, hits: int = 6, noise: int = 4, seed: int = 0) -> dict:
    """Tracks are radial lines from the origin at distinct angles, one hit per unit radius;
    noise hits are scattered. Candidate edges: every ordered pair of distinct hits; an edge is
    true when both hits belong to one track (the ``hyper`` node2node truth)."""
    g = torch.Generator().manual_seed(seed)
    xs, labels = [], []
    for t in range(n_tracks):
        phi = 2 * math.pi * t / n_tracks + 0.3
        theta = 0.6 + 0.5 * t / n_tracks
        direction = torch.tensor(
            [math.cos(phi) * math.sin(theta), math.sin(phi) * math.sin(theta), math.cos(theta)]
        )
        for r in range(1, hits + 1):
            xs.append(r * direction + 0.02 * torch.randn(3, generator=g))
            labels.append(t)
    for _ in range(noise):
        xs.append(3.0 * torch.randn(3, generator=g))
        labels.append(-1)
    x = torch.stack(xs)
    label = torch.tensor(labels)
    n = len(label)
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = src != dst
    edge_index = torch.stack([src[keep], dst[keep]])
    a, b = label[edge_index[0]], label[edge_index[1]]
    edge_label = ((a == b) & (a >= 0)).float()
    weight = torch.where(label >= 0, 1.0, 0.0) + 0.1 * torch.rand(n, generator=g)
    return {
        "x": x,
        "labels": label,
        "edge_index": edge_index,
        "edge_label": edge_label,
        "weight": weight,
    }
