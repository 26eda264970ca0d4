"""What ``benchmarks/sweep_overhead.py`` measures: its experiment files and part-1 trial paths.

Part 1 runs a fixed lr grid (FIFO, one trial at a time) of a tiny Exa.TrkX GNN on each trial path;
part 2 runs the quickstart scaled down (its model, store settings and search, fewer events) with
Optuna TPE + ASHA, ``SWEEP_CONCURRENCY`` trials at a time. ``TRAIN_KNOBS`` are the Ray Train
settings of the path (ii) variants.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

TINY_MODEL = {"hidden": 8, "nb_node_layer": 1, "nb_edge_layer": 1, "n_graph_iters": 1}
SWEEP_MODEL = {
    "hidden": 16,
    "nb_node_layer": 2,
    "nb_edge_layer": 2,
    "n_graph_iters": 2,
    "layernorm": True,
    "edge_cut": 0.5,
}
SWEEP_CONCURRENCY = 2
QUICKSTART_OPTIONS = {"pt_signal_cut": 1.0, "noise": False, "true_edges": "layerwise"}


def overhead_experiment(
    store: Path, storage: Path, workers: int, trials: int, epochs: int
) -> dict[str, Any]:
    return {
        "name": f"overhead-w{workers}",
        "model": {"name": "exatrkx_gnn", "hparams": TINY_MODEL},
        "data": {"store": str(store), "split": [0.5, 0.5, 0.0], "options": {"noise": False}},
        "train": {
            "max_epochs": epochs,
            "batch_size": 2,
            "workers": workers,
            "cpus_per_worker": 1.0 if workers == 1 else 0.5,
        },
        "search": {"train.optimizer.lr": {"choices": [0.001, 0.003, 0.01, 0.03]}},
        "tune": {
            "metric": "val_auc",
            "mode": "max",
            "num_samples": trials,
            "searcher": "random",
            "seed": 0,
            "max_concurrent_trials": 1,
            "scheduler": {"name": "fifo"},
        },
        "storage": str(storage),
    }


def sweep_experiment(store: Path, storage: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The quickstart scaled down: its model settings, store settings and search, fewer events."""
    return {
        "name": "sweep-bench",
        "model": {"name": "exatrkx_gnn", "hparams": SWEEP_MODEL},
        "data": {"store": str(store), "split": [0.75, 0.25, 0.0], "options": QUICKSTART_OPTIONS},
        "train": {
            "max_epochs": args.sweep_epochs,
            "batch_size": 2,
            "warmup": 5,
            "cpus_per_worker": 1,
            "optimizer": {"name": "adamw", "lr": 0.003},
        },
        "search": {
            "train.optimizer.lr": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
            "hidden": {"choices": [8, 16, 32]},
            "n_graph_iters": {"low": 1, "high": 4},
            "aggregation": {"choices": ["sum", "max", "sum_max"]},
        },
        "tune": {
            "metric": "val_auc",
            "mode": "max",
            "num_samples": args.sweep_trials,
            "searcher": "optuna",
            "seed": 7,
            "max_concurrent_trials": SWEEP_CONCURRENCY,
            "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
        },
        "storage": str(storage),
    }


TRAIN_KNOBS = {
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.25",
    "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0",
}
"""Ray Train V2 settings a DDP trial could run with: the controller polls its workers (and so
passes reports on and notices the end) every 2 s by default, and starts a preemption watcher actor."""


def variants(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The trial paths of part 1; the last two are possible raytrack changes, patched in."""
    return [
        {
            "key": "w1",
            "label": "(i) workers: 1",
            "workers": 1,
            "repeats": args.repeats,
            "trials": args.trials,
        },
        {
            "key": "w2",
            "label": "(ii) workers: 2 DDP",
            "workers": 2,
            "repeats": args.ddp_repeats,
            "trials": args.ddp_trials,
        },
        {
            "key": "w2-knobs",
            "label": "(ii) + Train knobs",
            "workers": 2,
            "repeats": args.variant_repeats,
            "trials": args.ddp_trials,
            "env": TRAIN_KNOBS,
        },
        {
            "key": "w2-direct",
            "label": "(ii) + knobs + pyarrow shards",
            "workers": 2,
            "repeats": args.variant_repeats,
            "trials": args.ddp_trials,
            "env": TRAIN_KNOBS,
            "direct": True,
        },
    ]
