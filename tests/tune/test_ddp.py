"""A 2-worker DDP trial (Ray Train, gloo) trains exactly like one worker on the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from raytrack.cli import main
from tests.tune.test_sweep import write_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def store(simulated_store) -> Path:
    return simulated_store(8, seed=9)


def run_fixed(tmp_path: Path, store: Path, name: str, **train) -> pd.DataFrame:
    file = write_experiment(
        tmp_path / f"{name}.yaml",
        store,
        tmp_path / "results",
        train={"max_epochs": 3, "optimizer": {"lr": 0.01}, **train},
        tune={"scheduler": {"name": "fifo"}},
    )
    assert main(["train", str(file), "--name", name, "--verbose", "0"]) == 0
    return pd.read_parquet(tmp_path / "results" / name / "history.parquet").set_index("epoch")


@pytest.mark.timeout(600)
def test_two_worker_ddp_matches_one_worker(ray_session, store, tmp_path):
    # 4 training events: one optimizer step per epoch either way, 4 events on one worker or
    # 2 on each of two workers whose gradients DDP averages.
    single = run_fixed(tmp_path, store, "single", workers=1, batch_size=4, cpus_per_worker=1)
    ddp = run_fixed(tmp_path, store, "ddp", workers=2, batch_size=2, cpus_per_worker=0.5)

    assert list(ddp.index) == [1, 2, 3]
    assert (ddp["train_items"] == 4).all()  # every training event once per epoch
    assert ddp["train_loss"].to_numpy() == pytest.approx(single["train_loss"].to_numpy(), rel=1e-4)
    assert ddp["val_loss"].to_numpy() == pytest.approx(single["val_loss"].to_numpy(), rel=1e-4)
    assert ddp["val_auc"].to_numpy() == pytest.approx(single["val_auc"].to_numpy(), abs=1e-3)
    assert single["train_loss"].iloc[-1] < single["train_loss"].iloc[0]

    # Ray Train keeps the best epoch's checkpoint, whichever epoch it was.
    for name in ("single", "ddp"):
        best = json.loads((tmp_path / "results" / name / "best.json").read_text())
        assert Path(best["checkpoint"]).is_dir(), best
