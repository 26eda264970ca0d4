"""Tiny real inputs for the contract suite (:mod:`raytrack.tasks.contract`) of each stage.

Three simulated very-low-pile-up events (``rfactor`` 0.002, ~200 hits each, seed 11) in the
tracking layout; the filter's and the stored-graph GNN's rows also carry a candidate graph
(``e_src, e_dst, e_score``) from the geometric constructor, as a previous stage would have
written. The models are the smallest that still exercise every code path.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from raytrack.families.exatrkx.geometric_graph import GeometricGraphBuilder
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.sim_settings import SimulationSettings
from raytrack.family import ContractExample

OPTIONS = {"pt_signal_cut": 0.5, "noise": True, "true_edges": "layerwise"}


@lru_cache(maxsize=1)
def _events() -> tuple[Event, ...]:
    from raytrack.families.tracking.simulate import simulate_events

    return tuple(simulate_events(3, seed=11, settings=SimulationSettings(rfactor=0.002)))


def _rows(with_graph: bool) -> list[dict]:
    rows = []
    builder = GeometricGraphBuilder(phi_slope_max=0.02, z0_max=400)
    for event in _events():
        if with_graph:
            src, dst = builder(event)
            edges = {"src": src, "dst": dst, "score": np.ones(len(src), np.float32)}
            event = Event(event.event_id, event.hits, event.particles, edges=edges)
        rows.append(event.to_row())
    return rows


def embedding_example() -> ContractExample:
    hparams = {"emb_hidden": 16, "nb_layer": 2, "emb_dim": 4, "r_train": 0.3, "knn": 10,
               "r_val": 0.3, "knn_val": 10, "regime": ["rp", "hnm", "norm"]}  # fmt: skip
    return ContractExample(hparams, _rows(False), OPTIONS)


def filter_example() -> ContractExample:
    hparams = {"hidden": 16, "nb_layer": 2, "ratio": 2, "n_chunks": 2, "batchnorm": True,
               "regime": ["pid", "weighting"]}  # fmt: skip
    return ContractExample(hparams, _rows(True), OPTIONS)


def gnn_example() -> ContractExample:
    hparams = {"hidden": 8, "nb_node_layer": 1, "nb_edge_layer": 1, "n_graph_iters": 1,
               "phi_slope_max": 0.02, "z0_max": 400, "regime": ["pid"]}  # fmt: skip
    return ContractExample(hparams, _rows(False), OPTIONS)


def gnn2_example() -> ContractExample:
    # LayerNorm: the CTD 2023 BatchNorm without running statistics normalises with each batch's
    # own statistics in evaluation too, so validation statistics would not add up over batches
    hparams = {"batchnorm": False, "layernorm": True, "hidden": 8, "n_node_net_layers": 1, "n_edge_net_layers": 1,
               "n_edge_decoder_layers": 1, "n_graph_iters": 2, "phi_slope_max": 0.02,
               "z0_max": 400, "regime": ["pid"]}  # fmt: skip
    return ContractExample(hparams, _rows(False), OPTIONS)
