"""Connecting to Ray: a running cluster (``--address`` / ``RAY_ADDRESS``) or a local Ray started here.

Also sets what every sweep's processes share: how long a worker group may wait for placement,
how often Train polls its workers, and quiet workers (no W&B banners, no colour escapes in a
log that is not a terminal).
"""

from __future__ import annotations

import os
import sys


def connected_to_cluster() -> bool:
    """True when raytrack runs against an existing Ray cluster rather than one it started."""
    return bool(os.environ.get("RAY_ADDRESS"))


QUIET_ENV = {"WANDB_SILENT": "true", "WANDB_CONSOLE": "off", "RAY_COLOR_PREFIX": "0"}
"""For every Ray worker of a sweep: no W&B banners or captured consoles, no colour escapes."""


def init_ray(address: str | None = None) -> None:
    """Connect to ``address`` / ``RAY_ADDRESS``, or start a local Ray with every core."""
    import ray

    from raytrack.redact import keep_secrets_out_of_runtime_envs

    # A worker group that cannot be placed fails after this long instead of waiting forever.
    os.environ.setdefault("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", "120")
    # Train V2's controller polls its workers every 2 s, so each ray.train.report waited ~1 s
    # and a DDP trial's end 4-5 s; polling every 0.25 s cut both (measured by an earlier benchmarks/sweep_overhead.py).
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")
    # Workers of a local Ray inherit these: raytrack prints its own progress.
    os.environ.update({key: os.environ.get(key, value) for key, value in QUIET_ENV.items()})
    if not sys.stdout.isatty():  # Ray colours its worker-log prefixes even into files
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Only warn about driver stalls of seconds (a loaded machine's short hiccups are no news).
    os.environ.setdefault("TUNE_WARN_THRESHOLD_S", "5")
    keep_secrets_out_of_runtime_envs()  # Ray would log them (raytrack.redact)
    if ray.is_initialized():
        return
    if address:
        os.environ["RAY_ADDRESS"] = address
    address = os.environ.get("RAY_ADDRESS")
    if address and "RAY_JOB_CONFIG_JSON_ENV_VAR" not in os.environ:
        # Workers on other nodes do not inherit this process's environment. (A submitted job
        # has its runtime_env already; Ray ignores another one, with a warning.)
        ray.init(address=address, configure_logging=False, runtime_env={"env_vars": QUIET_ENV})
    elif address:
        ray.init(address=address, configure_logging=False)
    else:
        _start_local_ray()


def _start_local_ray(attempts: int = 3) -> None:
    """Start a local Ray; again when its raylet missed Ray's fixed 30 s registration window (a
    machine under heavy load: seen with load averages above 20 on 2 cores)."""
    import ray

    for attempt in range(1, attempts + 1):
        try:
            ray.init(include_dashboard=False, configure_logging=False)
            return
        except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception here
            if "timed out during startup" not in str(err) or attempt == attempts:
                raise
            ray.shutdown()
            print(
                f"raytrack: Ray's node was slow to start ({err}); starting it again",
                file=sys.stderr,
            )
