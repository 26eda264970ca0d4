"""A sweep whose driver dies resumes with ``raytrack resume`` without re-running finished trials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.slow]


def _epochs(trial: Path) -> int:
    """Epochs the trial trained: lines of its own record, written by the worker at each epoch.

    Not Tune's ``result.json``: the driver stages it and syncs it to the sweep directory only
    now and then, so on a fast machine a whole sweep can end before it shows a finished trial.
    """
    log = trial / "epochs.jsonl"
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.strip())


@pytest.mark.timeout(600)
def test_resume_after_the_driver_is_killed(simulated_store, tmp_path):
    store = simulated_store(8, seed=2)
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "sweep.yaml",
        store,
        storage,
        train={"max_epochs": 5},
        search={"train.optimizer.lr": {"grid": [0.001, 0.002, 0.005, 0.01]}},
        tune={"searcher": "grid", "max_concurrent_trials": 1, "scheduler": {"name": "fifo"}},
    )
    command = [sys.executable, "-m", "raytrack.cli"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    driver = subprocess.Popen(
        [*command, "tune", str(file), "--name", "sweep", "--verbose", "0"],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sweep = storage / "sweep"
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            finished = [t for t in sweep.glob("trial_*") if _epochs(t) >= 5]
            if finished:
                break
            assert driver.poll() is None, "the sweep ended before it could be interrupted"
            time.sleep(0.2)
        else:
            pytest.fail("no trial finished in time")
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver dies, Ray's local processes too
        driver.wait(timeout=60)
    finished_ids = {t.name for t in sweep.glob("trial_*") if _epochs(t) >= 5}
    assert not (sweep / "trials.csv").exists()

    resumed = subprocess.run(
        [*command, "resume", str(sweep), "--verbose", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    history = pd.read_parquet(sweep / "history.parquet")
    trials = pd.read_csv(sweep / "trials.csv")
    assert len(trials) == 4 and (trials["status"] == "completed").all()
    per_trial = history.groupby("trial_id")["training_iteration"].apply(list)
    for trial_id, epochs in per_trial.items():
        # Nothing trained twice, every trial to the end. A trial interrupted mid-way resumes from
        # its last checkpoint; epochs it reported after the driver's last processed result have
        # a checkpoint but no row (the driver died before logging them).
        assert epochs == sorted(set(epochs)) and epochs[0] == 1 and epochs[-1] == 5, (
            trial_id,
            epochs,
        )
    for name in finished_ids:  # finished trials were not run again
        assert _epochs(sweep / name) == 5
    assert json.loads((sweep / "best.json").read_text())["value"] > 0
