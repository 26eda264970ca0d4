"""Child processes of ``benchmarks/sweep_overhead.py``: run, time, monitor and clean up.

Each sweep runs in a fresh process (its own local Ray) started by :func:`run_child`, which times
it from spawn to exit and takes its CPU seconds from the whole process tree (:class:`TreeMonitor`,
psutil every 0.25 s) and, as a cross-check, from the reaped children's rusage. At the timeout (or
on an interrupt) only the processes that child started are killed, by pid.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1


class TreeMonitor:
    """CPU seconds of a process and all its descendants, sampled every ``interval`` seconds.

    A process's CPU time is kept at its last sample, so one that exits loses at most
    ``interval`` s; processes shorter than ``interval`` may be missed.
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self.cpu: dict[tuple[int, float], float] = {}
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                procs = []
            self.max_processes = max(self.max_processes, len(procs))
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    self.cpu[(proc.pid, proc.create_time())] = times.user + times.system
                except psutil.Error:
                    pass
            self._stop.wait(self._interval)

    def tree(self) -> list[Any]:
        import psutil

        try:
            return [*self._root.children(recursive=True), self._root]
        except psutil.Error:
            return []

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.cpu.values())


def run_child(command: list[str], log: Path, timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Run ``command`` to completion (or kill its process tree at ``timeout``); wall and CPU."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
        monitor = TreeMonitor(proc.pid)
        try:
            code = proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, KeyboardInterrupt) as stop:
            for child in monitor.tree():  # only what this child started, by pid
                with contextlib.suppress(psutil.Error):
                    child.kill()
            proc.wait()
            code = 124 if isinstance(stop, subprocess.TimeoutExpired) else 130
            if isinstance(stop, KeyboardInterrupt):
                raise
        finally:
            cpu = monitor.stop()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        print(
            f"  ! exit {code} after {wall:.0f} s: {' '.join(command[:4])} ...\n{tail}",
            file=sys.stderr,
        )
    return {
        "code": code,
        "wall_s": wall,
        "cpu_s": cpu,
        "rusage_cpu_s": rusage,
        "max_processes": monitor.max_processes,
    }


def child_env(ray_tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(
        {
            "RAY_TMPDIR": str(ray_tmp),
            "WANDB_MODE": "disabled",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "RAY_DEDUP_LOGS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def keep_failure(work: Path, name: str, run: dict[str, Any]) -> None:
    """Copy a failed run's log and events next to the results (the work directory is removed)."""
    target = work.parent / "sweep_overhead-failures"
    target.mkdir(exist_ok=True)
    for suffix in (".log", ".events.jsonl"):
        if (work / f"{name}{suffix}").is_file():
            shutil.copy(work / f"{name}{suffix}", target / f"{name}{suffix}")
    run["kept"] = str(target)
