"""SIGTERM and Ctrl-C during ``raytrack generate`` leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_generate_removes_its_temporary_store(tmp_path: Path, sig, code) -> None:
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "raytrack.cli", "generate", "detector_sim", str(store),
         "--events", "5000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:  # a store that never appears, or a process that never stops, is the timeout's to catch
        while not list(tmp_path.glob(".store.tmp-*")):
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        time.sleep(1.0)  # well into writing
        process.send_signal(sig)
        out, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, (out, err)
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no store, no temporary directory


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_concurrent_generates_into_one_path_one_wins_whole(tmp_path: Path) -> None:
    from raytrack.store.sample_store import SampleStore

    store = tmp_path / "store"
    processes = {
        seed: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "raytrack.cli",
                "generate",
                "detector_sim",
                str(store),
                "--events",
                "40",
                "--seed",
                str(seed),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for seed in (1, 2)
    }
    results = {seed: (p.wait(timeout=150), p.stderr.read()) for seed, p in processes.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 1], results
    (winner,) = [seed for seed, (code, _) in results.items() if code == 0]
    (loser_err,) = [err for code, err in results.values() if code == 1]
    # found when it starts, or (both started before either finished) when it moves into place
    assert "already exists" in loser_err or "another writer" in loser_err, loser_err
    assert "--overwrite" in loser_err
    assert "Traceback" not in loser_err
    opened = SampleStore(store)
    assert opened.provenance["seed"] == winner
    assert len(list(opened.iter_rows())) == 40  # complete: every row reads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no temporary left
