"""A trial whose Ray worker process is killed resumes from its last checkpoint."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from raytrack.cli import main
from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 6


def _kill_the_trial_worker(sweep: Path, after_epochs: int, killed: list[int]) -> None:
    """Wait until the trial has recorded ``after_epochs`` epochs, then SIGKILL its process."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for log in sweep.glob("trial_*/epochs.jsonl"):
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
            result = log.parent / "result.json"
            if len(lines) >= after_epochs and result.is_file():
                pids = [json.loads(x)["pid"] for x in result.read_text().splitlines() if x.strip()]
                if pids:
                    os.kill(pids[-1], signal.SIGKILL)
                    killed.append(pids[-1])
                    return
        time.sleep(0.02)


@pytest.mark.timeout(400)
def test_a_killed_trial_worker_resumes_from_its_last_checkpoint(ray_session, simulated_store,
                                                                tmp_path):  # fmt: skip
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "sweep.yaml",
        simulated_store(8, seed=7),
        storage,
        train={"max_epochs": EPOCHS},
        tune={"scheduler": {"name": "fifo"}},
    )
    killed: list[int] = []
    killer = threading.Thread(
        target=_kill_the_trial_worker, args=(storage / "worker-kill", 3, killed), daemon=True
    )
    killer.start()
    assert main(["tune", str(file), "--name", "worker-kill", "--verbose", "0"]) == 0
    killer.join(timeout=5)
    assert killed, "the trial ended before its worker could be killed"
    sweep = storage / "worker-kill"
    (trial_dir,) = sweep.glob("trial_*")
    records = [json.loads(x) for x in (trial_dir / "epochs.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, EPOCHS + 1))  # none trained twice
    trials = pd.read_csv(sweep / "trials.csv")
    assert list(trials["status"]) == ["completed"] and list(trials["epochs"]) == [EPOCHS]
    history = pd.read_csv(sweep / "history.csv")
    assert list(history["training_iteration"]) == list(range(1, EPOCHS + 1))
