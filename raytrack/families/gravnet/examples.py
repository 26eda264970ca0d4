"""Tiny real inputs for the contract suite (:mod:`raytrack.tasks.contract`) of ``gravnet_oc``.

Four simulated events (seed 5) of two or three 5–20 GeV showers with coarse cells (about 60–150
hits each), noise hits and track points, and the smallest model that still runs every code path:
two GravNet iterations, one message-passing layer, a clustering space extended beyond three
coordinates, a learned distance scale, and every loss term switched on.
"""

from __future__ import annotations

from functools import lru_cache

from raytrack.families.gravnet.calo_settings import CaloSimSettings
from raytrack.family import ContractExample

SETTINGS = CaloSimSettings(
    min_particles=2, max_particles=3, energy_min=5.0, energy_max=20.0, cell_size_em=3.0,
    cell_size_had=6.0, em_layers=14, em_layer_x0=1.9, had_layers=6, had_layer_lambda=1.3,
    noise_hits=5.0, tracks=True, particle_types=["photon", "electron", "pion", "muon"],
)  # fmt: skip
"""Small events for examples and tests."""

HPARAMS = {
    "gravnet": [{"n": 4, "n_filters": 8, "n_propagate": 8}, {"n": 6, "n_filters": 8, "n_propagate": 8}],
    "message_passing": [{"n": 8}],
    "dense_pre_gravnet": [{"n": 8}],
    "dense_post_message_passing": [{"n": 8}],
    "dense_final": [{"n": 8}],
    "n_cluster_space_coordinates": 4,
    "n_gravnet_space_coordinates": 2,
    "DenseOptions": {"activation": "elu", "kernel_regularizer": "l2",
                     "kernel_regularizer_rate": 0.001, "dropout": 0.1},
    "BatchNormOptions": {"max_viscosity": 0.5},
    "fix_distance_scale": False,
    "too_much_beta_scale": 0.1,
    "use_average_cc_pos": 0.5,
}  # fmt: skip


@lru_cache(maxsize=1)
def example_rows() -> tuple[dict, ...]:
    from raytrack.families.gravnet.calo_sim import simulate_events

    return tuple(event.to_row() for event in simulate_events(4, seed=5, settings=SETTINGS))


def gravnet_example() -> ContractExample:
    return ContractExample(HPARAMS, list(example_rows()))
