"""The Exa.TrkX filter's inputs: hit features, stored graph, embedding coordinates, batches.

:func:`model_inputs` turns an event (dataset options applied, graph stored) into the filter's
inputs: the shared :func:`~raytrack.families.exatrkx.edge_labels.node_features` (``r/1000, φ/π,
z/1000``, preceded by ``cell_channels`` cell features), the stored graph (checked to join hits
of the event) and, with ``emb_channels``, the embedding coordinates the embedding stage stored
in the hit columns ``emb_0 …`` (:func:`embedding_features`). :func:`collate_graphs` joins the
samples of several events into one disjoint union of their graphs.

Shapes: ``N`` hits, ``E`` edges of the stored graph, ``M = emb_channels``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from raytrack.families.exatrkx.edge_labels import node_features
from raytrack.families.tracking.event import Event

EMBEDDING_PREFIX = "emb_"
"""Hit columns ``emb_0 … emb_{M-1}`` hold a hit's embedding coordinates (``emb_channels = M``)."""


def embedding_columns(emb_channels: int) -> list[str]:
    """Names of the hit columns holding the first ``emb_channels`` embedding coordinates."""
    return [f"{EMBEDDING_PREFIX}{i}" for i in range(emb_channels)]


def embedding_features(event: Event, emb_channels: int) -> np.ndarray:
    """``(N, emb_channels)`` float32 embedding coordinates stored with the hits, NaN as 0."""
    names = embedding_columns(emb_channels)
    missing = [name for name in names if name not in event.hits]
    if missing:
        raise KeyError(
            f"emb_channels={emb_channels} needs the hit columns {names[0]} … {names[-1]} "
            f"(embedding coordinates stored by the embedding stage), but event {event.event_id} "
            f"lacks {missing}; set emb_channels: 0 or store the coordinates with the graph"
        )
    emb = np.stack([np.asarray(event.hits[name], np.float32) for name in names], axis=1)
    return np.nan_to_num(emb, nan=0.0, posinf=0.0, neginf=0.0)


def model_inputs(
    event: Event, spatial_channels: int, cell_channels: int, emb_channels: int
) -> dict[str, np.ndarray]:
    """The model's inputs: ``x`` ``(N, spatial + cell channels)``, ``edge_index`` ``(2, E)`` and,
    with ``emb_channels``, ``emb`` ``(N, M)``."""
    edges = event.edge_index
    if edges.size and (edges.min() < 0 or edges.max() >= event.num_hits):
        raise ValueError(
            f"event {event.event_id}: stored edges must join hit positions in [0, "
            f"{event.num_hits}), but range over [{edges.min()}, {edges.max()}]"
        )
    sample = {
        "x": node_features(event, spatial_channels, cell_channels),
        "edge_index": edges,
    }
    if emb_channels:
        sample["emb"] = embedding_features(event, emb_channels)
    return sample


def collate_graphs(samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """One disjoint union of the events' graphs; ``edge_event`` gives each edge's event."""
    parts: dict[str, list[torch.Tensor]] = {}
    offset = 0
    for i, sample in enumerate(samples):
        for key, value in sample.items():
            tensor = torch.as_tensor(value)
            if key == "edge_index":
                tensor = tensor.long() + offset
            elif key in ("x", "emb", "edge_weight"):
                tensor = tensor.float()
            else:
                tensor = tensor.bool()
            parts.setdefault(key, []).append(tensor)
        n_edges = int(sample["edge_index"].shape[1])
        parts.setdefault("edge_event", []).append(torch.full((n_edges,), i, dtype=torch.long))
        offset += int(sample["x"].shape[0])
    batch = {
        key: torch.cat(values, dim=1 if key == "edge_index" else 0) for key, values in parts.items()
    }
    batch["num_events"] = torch.tensor(len(samples))
    return batch
