"""Trained voxdyn constructors on disk: one artifact per key, built once per storage directory.

Layout under a storage directory (e.g. ``<sweep storage>/voxdyn``)::

    voxdyn-<node2node>-ncell<ncell>-<key digest>/
        constructor.npz   centroids, C (CSR arrays)
        meta.json         the key's identity, size figures, build time, host and pid
    voxdyn-....building   a claim: the process building that key (JSON), kept fresh while it builds
    builds.jsonl          one line per build: key, digest, seconds, host, pid

:func:`voxdyn_constructor` returns the artifact of a key, building it first if no process has.
Several trials, processes or nodes asking for one key at once build it once: the first to create
the claim file (``O_CREAT | O_EXCL``, atomic on local and NFS file systems) builds into a hidden
temporary directory and renames it into place (atomic); the others wait until the artifact
appears. A builder that dies leaves a claim that stops being refreshed; after ``stale_s`` seconds
a waiter removes it and builds itself. The storage must be a file system every node sees.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from raytrack.families.hypertrack.voxdyn import VoxdynConstructor, connectivity_from_csr
from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey

__all__ = [
    "BUILDS_LOG",
    "artifact_dir",
    "load_constructor",
    "read_builds",
    "save_constructor",
    "voxdyn_constructor",
]

ARRAYS = "constructor.npz"
META = "meta.json"
BUILDS_LOG = "builds.jsonl"
FORMAT = "raytrack-voxdyn"
FORMAT_VERSION = 1


def artifact_dir(storage_dir: str | os.PathLike, key: VoxdynKey) -> Path:
    """Where the artifact of ``key`` lives under ``storage_dir``."""
    return Path(storage_dir) / f"voxdyn-{key.node2node}-ncell{key.ncell}-{key.digest}"


def save_constructor(constructor: VoxdynConstructor, directory: str | os.PathLike) -> Path:
    """Write ``constructor`` to ``directory`` (which must not exist) atomically."""
    directory = Path(directory)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir(parents=True)
    try:
        c = constructor.connectivity.tocsr()
        np.savez(
            tmp / ARRAYS,
            centroids=constructor.centroids.astype(np.float32),
            indptr=c.indptr.astype(np.int64),
            indices=c.indices.astype(np.int32),
        )
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "key": constructor.key.identity(),
            "digest": constructor.key.digest,
            "extra": constructor.key.extra,
            **constructor.summary(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "created": time.time(),
        }
        (tmp / META).write_text(json.dumps(meta, indent=1) + "\n")
        os.rename(tmp, directory)  # fails if another process put the artifact there first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_constructor(
    directory: str | os.PathLike, key: VoxdynKey | None = None
) -> VoxdynConstructor:
    """Read an artifact; with ``key``, it must have been built for exactly that key (a
    :class:`VoxdynError` names the fields that differ, the store first)."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / META).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{directory} is not a voxdyn artifact: it has no {META}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise VoxdynError(f"{directory / META} does not describe a {FORMAT} artifact")
    stored = VoxdynKey.from_identity(meta["key"])
    if key is not None and stored.identity() != key.identity():
        want, have = key.identity(), stored.identity()
        differ = [name for name in want if want[name] != have[name]]
        if "store" in differ:
            raise VoxdynError(
                f"voxdyn artifact {directory} was built for another store: store={have['store']}, "
                f"but the key asks for store={want['store']} ({key.describe()}); rebuild it for "
                "this store"
            )
        shown = ", ".join(f"{n}={have[n]!r} (wanted {want[n]!r})" for n in differ if n != "events")
        if "events" in differ:
            shown += (", " if shown else "") + "other training events"
        raise VoxdynError(f"voxdyn artifact {directory} was built for another key: {shown}")
    with np.load(directory / ARRAYS) as arrays:
        n = stored.ncell
        connectivity = connectivity_from_csr(arrays["indices"], arrays["indptr"], n)
        centroids = np.ascontiguousarray(arrays["centroids"], np.float32)
    return VoxdynConstructor(
        key=stored if key is None else key,
        centroids=centroids,
        connectivity=connectivity,
        training_hits=int(meta.get("training_hits", 0)),
        build_seconds=float(meta.get("build_seconds", 0.0)),
    )


def read_builds(storage_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The build log of ``storage_dir`` (one dict per build, oldest first)."""
    path = Path(storage_dir) / BUILDS_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _log_build(storage_dir: Path, constructor: VoxdynConstructor) -> None:
    record = {
        "digest": constructor.key.digest,
        "key": constructor.key.identity() | {"events": len(constructor.key.events)},
        **constructor.summary(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": time.time(),
    }
    with open(storage_dir / BUILDS_LOG, "a") as log:  # one short line: an atomic append
        log.write(json.dumps(record) + "\n")


def _claim(path: Path) -> bool:
    """Create the claim file; False if another process holds it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as claim:
        json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, claim)
    return True


@contextlib.contextmanager
def _refreshed(path: Path, every_s: float):
    """Touch ``path`` every ``every_s`` seconds while the block runs; remove it afterwards."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            with contextlib.suppress(OSError):
                os.utime(path)

    thread = threading.Thread(target=beat, name="voxdyn-claim", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def voxdyn_constructor(
    storage_dir: str | os.PathLike,
    key: VoxdynKey,
    build_fn: Callable[[VoxdynKey], VoxdynConstructor],
    *,
    wait_s: float = 6 * 3600.0,
    poll_s: float = 0.25,
    stale_s: float = 120.0,
) -> VoxdynConstructor:
    """The constructor of ``key`` from ``storage_dir``, built with ``build_fn(key)`` (and
    logged in ``builds.jsonl``) by exactly one of the processes asking, when none has yet."""
    storage_dir = Path(storage_dir)
    storage_dir.mkdir(parents=True, exist_ok=True)
    final = artifact_dir(storage_dir, key)
    claim = final.with_name(final.name + ".building")
    deadline = time.monotonic() + wait_s
    while True:
        if (final / META).exists():
            return load_constructor(final, key)
        if _claim(claim):
            with _refreshed(claim, max(stale_s / 4, 0.05)):
                if (final / META).exists():  # finished between our look and our claim
                    return load_constructor(final, key)
                constructor = build_fn(key)
                if constructor.key.identity() != key.identity():
                    raise VoxdynError(
                        f"build_fn returned a constructor for another key than {key.describe()}"
                    )
                try:
                    save_constructor(constructor, final)
                except OSError:
                    if not (final / META).exists():
                        raise
                    return load_constructor(final, key)  # a stale-claim taker finished first
                _log_build(storage_dir, constructor)
                return constructor
        with contextlib.suppress(FileNotFoundError):
            if time.time() - claim.stat().st_mtime > stale_s:
                os.unlink(claim)  # its builder stopped refreshing it: died
                continue
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"waited {wait_s:.0f} s for another process to build {key.describe()} "
                f"(claim {claim})"
            )
        time.sleep(poll_s)
