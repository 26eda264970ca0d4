"""Timing events from a sweep, for a benchmark or a user: the probe hook.

Set ``RAYTRACK_PROBE`` to ``"package.module:function"`` before a sweep starts and raytrack calls
``function(event)`` with one dict per event, in every process of the sweep (the driver, each
trial's process): ``{"event": name, "time": time.time(), "pid": os.getpid(), **fields}``.
``raytrack.tune`` passes the setting, and every variable named ``RAYTRACK_PROBE_*`` (the hook's
own settings), to its trials itself, so the hook reaches trials on a Ray that was started
before the variables were set, or on other nodes (the module must import there).

One hook ships with raytrack: ``RAYTRACK_PROBE=raytrack.probe:write_jsonl`` appends each event
as a JSON line to the file ``RAYTRACK_PROBE_FILE`` names (one ``write`` per line, in append
mode, so the processes of one machine can share the file)::

    RAYTRACK_PROBE=raytrack.probe:write_jsonl RAYTRACK_PROBE_FILE=/tmp/events.jsonl \
        raytrack tune search_spaces/quickstart.yaml

The events, in the order a sweep emits them (``trial`` is Tune's trial id):

=====================  ========  ==========================================================
event                  process   when
=====================  ========  ==========================================================
``sweep_start``        driver    ``run_sweep`` starts (before the preflight checks)
``preflight_end``      driver    the checks passed
``sweep_prepared``     driver    the store is open and the sweep's directory written
``ray_ready``          driver    Ray is connected (``seconds``: how long that took)
``tuner_built``        driver    the Tuner with its searcher, scheduler and callbacks exists
``trial_start``        driver    Tune starts a trial (its actor may still be starting)
``trial_begin``        trial     the trainable runs in the trial's process
``epoch_start``        trial     an epoch starts (``epoch``, from 1)
``epoch_end``          trial     its training and validation ended (``epoch``)
``report_end``         trial     ``tune.report`` returned (``epoch``, ``seconds`` inside it)
``trial_result``       driver    the driver received a result (``epoch``)
``callback``           driver    a logger callback's hook ran (``name``, ``hook``, ``seconds``)
``trial_end``          driver    the trial completed, was stopped or failed (``failed``)
``fit_end``            driver    ``Tuner.fit`` returned
``results_written``    driver    the sweep's result files are written
``sweep_end``          driver    ``run_sweep`` returns
=====================  ========  ==========================================================

Unset, each call costs one dictionary lookup. An error in the hook is the hook's: raytrack
does not catch it.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

PROBE_ENV = "RAYTRACK_PROBE"
PROBE_FILE_ENV = "RAYTRACK_PROBE_FILE"

_resolved: tuple[str, Callable[[dict[str, Any]], None]] | None = None


def probe_settings() -> dict[str, str] | None:
    """``RAYTRACK_PROBE`` and the ``RAYTRACK_PROBE_*`` variables of this process; None unset."""
    if not os.environ.get(PROBE_ENV):
        return None
    return {
        name: value
        for name, value in os.environ.items()
        if name == PROBE_ENV or name.startswith(PROBE_ENV + "_")
    }


def use_probe(settings: dict[str, str] | None) -> None:
    """Name the hook in this process (a trial's process gets the driver's settings this way)."""
    if settings:
        os.environ.update(settings)


def resolve(setting: str) -> Callable[[dict[str, Any]], None]:
    """The callable ``"module:function"`` names; a clear error when it cannot be found."""
    module_name, _, attribute = setting.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{PROBE_ENV}={setting!r}: expected 'package.module:function'")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{PROBE_ENV}={setting!r} names {type(target).__name__}, not a callable")
    return target


def probing() -> bool:
    return PROBE_ENV in os.environ


def emit(event: str, **fields: Any) -> None:
    """Hand ``event`` to the hook, if one is named; otherwise do nothing."""
    global _resolved
    setting = os.environ.get(PROBE_ENV)
    if not setting:
        return
    if _resolved is None or _resolved[0] != setting:
        _resolved = (setting, resolve(setting))
    _resolved[1]({"event": event, "time": time.time(), "pid": os.getpid(), **fields})


def write_jsonl(event: dict[str, Any]) -> None:
    """The hook that ships with raytrack: ``event`` as one JSON line appended to the file
    ``RAYTRACK_PROBE_FILE`` names."""
    line = (json.dumps(event, default=str) + "\n").encode()
    descriptor = os.open(os.environ[PROBE_FILE_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
