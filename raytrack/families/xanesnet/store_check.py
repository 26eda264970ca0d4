"""Does a store hold what a XANESNET model reads? Its columns, sizes and data settings.

A model's ``n_descriptor`` and ``n_points`` fix its layer sizes when it is built, before any
data is read; training, ``raytrack evaluate`` and ensembles check them against the store here,
and a model only judges stores made like its training store (same grid, normalisation and
descriptor: :func:`check_same_data`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DATA_SETTINGS = ("grid", "normalise", "descriptor")
"""What two stores must share for a model trained on one to be judged on the other."""


def check_store(store: Any, n_descriptor: int, n_points: int) -> dict[str, Any]:
    """``{"store", "grid", "normalise", "descriptor"}`` of ``store``; raises naming the
    hyperparameter to change when its sizes differ from the model's."""
    names = set(store.schema.names)
    missing = [c for c in ("descriptor", "spectrum", "energy") if c not in names]
    if missing:
        raise ValueError(
            f"the store {store.path} has no column(s) {missing}: XANESNET models read stores of "
            "the xyz_xanes data source (raytrack convert xyz_xanes ...)"
        )
    for column, size, name in (("descriptor", n_descriptor, "n_descriptor"),
                               ("spectrum", n_points, "n_points")):  # fmt: skip
        stored = store.schema.column(column).shape[0]
        if stored != size:
            raise ValueError(
                f"model.hparams.{name} is {size}, but the store {store.path} holds {column}s of "
                f"{stored} values: set {name}: {stored}"
            )
    provenance = store.provenance
    found = {"store": str(store.path)}
    for key in DATA_SETTINGS:
        found[key] = provenance.get(key)
    if found["grid"] is None:  # a store written by hand: the grid of its first row
        energy = np.asarray(next(store.iter_rows(columns=["energy"]))["energy"])
        found["grid"] = {"e_min": float(energy[0]), "e_max": float(energy[-1]),
                         "n_points": len(energy)}  # fmt: skip
    found["grid"] = {k: found["grid"][k] for k in ("e_min", "e_max", "n_points")}
    return found


def check_same_data(trained: dict[str, Any], judged: dict[str, Any]) -> None:
    """Raise naming the setting in which the store ``judged`` differs from the training store."""
    for key in DATA_SETTINGS:
        if trained.get(key) is None or judged.get(key) is None:
            continue
        a, b = trained[key], judged[key]
        if key == "grid":
            same = a["n_points"] == b["n_points"] and np.allclose(
                [a["e_min"], a["e_max"]], [b["e_min"], b["e_max"]], atol=1e-3
            )
        else:
            same = a == b
        if not same:
            raise ValueError(
                f"the store {judged['store']} was built with {key} {b}, but the model was "
                f"trained on {trained['store']} with {key} {a}: build it with the same {key}"
            )
