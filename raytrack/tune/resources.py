"""Resources per trial and how many trials run at once, so that nothing waits forever.

A single-worker trial reserves its worker's CPUs/GPUs itself. A DDP trial is only a driver
(no CPU, a little memory) around a TorchTrainer whose workers reserve their own resources; Ray Data
needs spare CPU to read, so one CPU is left free when trials stream through Ray Data. The
default concurrency fills the cluster without oversubscribing it: more concurrent DDP trials
than the cluster can place would leave worker groups pending.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from raytrack.config.schema import TrainSection

DRIVER_CPU = 0.01
"""A single-worker trial asked for no CPU still reserves this much (Tune needs a resource)."""
DDP_DRIVER_MEMORY = 256 * 2**20
"""Logical memory a DDP trial's driver reserves: it sleeps in ``fit()`` and must not hold a CPU
that Ray Data's read tasks (1 CPU each) need."""


def trial_resources(train: TrainSection) -> dict[str, float]:
    """The resources Tune reserves for one trial's own process."""
    if train.workers == 1:
        resources = {"cpu": max(train.cpus_per_worker, DRIVER_CPU)}
        if train.gpus_per_worker:
            resources["gpu"] = train.gpus_per_worker
        return resources | custom_resources(train)
    return {"cpu": 0, "memory": DDP_DRIVER_MEMORY}


def custom_resources(train: TrainSection) -> dict[str, float]:
    """One worker's custom resources (``train.resources_per_worker``), zero amounts left out."""
    return {key: amount for key, amount in train.resources_per_worker.items() if amount > 0}


def worker_resources(train: TrainSection) -> dict[str, float]:
    """What each worker of a DDP trial reserves (Ray Train's ``resources_per_worker``)."""
    resources = {"CPU": train.cpus_per_worker}
    if train.gpus_per_worker > 0:
        resources["GPU"] = train.gpus_per_worker
    return resources | custom_resources(train)


def trial_footprint(train: TrainSection) -> dict[str, float]:
    """Everything one trial occupies while it trains (its workers included)."""
    cpus = train.workers * train.cpus_per_worker
    footprint = {"CPU": max(cpus, DRIVER_CPU), "GPU": train.workers * train.gpus_per_worker}
    for key, amount in custom_resources(train).items():
        footprint[key] = train.workers * amount
    return footprint


def placement_problem(train: TrainSection, cluster: Mapping[str, float]) -> str | None:
    """Why one trial can never be placed on ``cluster`` as it is now, or None."""
    need = trial_footprint(train)
    spare = 1.0 if train.workers > 1 else 0.0
    problems = []
    if need["CPU"] + spare > cluster.get("CPU", 0.0) + 1e-9:
        problems.append(
            f"{need['CPU']:g} CPUs (train.workers={train.workers} × train.cpus_per_worker="
            f"{train.cpus_per_worker:g}{' + 1 spare CPU for Ray Data' if spare else ''})"
        )
    if need["GPU"] > cluster.get("GPU", 0.0) + 1e-9:
        problems.append(
            f"{need['GPU']:g} GPUs (train.workers={train.workers} × train.gpus_per_worker="
            f"{train.gpus_per_worker:g})"
        )
    custom = [key for key in need if key not in ("CPU", "GPU")]
    for key in custom:
        if need[key] > cluster.get(key, 0.0) + 1e-9:
            problems.append(
                f"{need[key]:g} {key!r} (train.workers={train.workers} × "
                f"train.resources_per_worker.{key}={train.resources_per_worker[key]:g})"
            )
    if not problems:
        return None
    offers = [f"{cluster.get('CPU', 0):g} CPUs", f"{cluster.get('GPU', 0):g} GPUs"]
    offers += [f"{cluster.get(key, 0):g} {key!r}" for key in custom]
    return (
        "one trial needs "
        + " and ".join(problems)
        + f", but the Ray cluster has {', '.join(offers[:-1])} and {offers[-1]}; "
        "lower the per-worker resources or the number of workers, or use a larger cluster"
        + (" (or one whose nodes offer the custom resources)" if custom else "")
    )


def default_concurrency(train: TrainSection, cluster: Mapping[str, float]) -> int:
    """How many trials fit on ``cluster`` at once (at least 1)."""
    need = trial_footprint(train)
    spare = 1.0 if train.workers > 1 else 0.0
    limits = []
    if need["CPU"] > 0:
        limits.append(math.floor((cluster.get("CPU", 0.0) - spare + 1e-9) / need["CPU"]))
    for key, amount in need.items():
        if key != "CPU" and amount > 0:
            limits.append(math.floor(cluster.get(key, 0.0) / amount + 1e-9))
    return max(1, min(limits) if limits else 1)
