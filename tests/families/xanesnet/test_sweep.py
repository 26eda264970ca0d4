"""A real sweep: the smoke space tuned with Optuna and ASHA on Ray, its best model judged on the
held-out Fe structures with `raytrack evaluate` (the commands a user runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def raytrack_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_DEDUP_LOGS": "0", "WANDB_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "raytrack.cli", *args], cwd=cwd, env=env,
                          text=True, capture_output=True, timeout=500, check=False)  # fmt: skip


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(600)
def test_smoke_sweep_then_evaluate_on_held_out_structures(fe_dir, tmp_path):
    experiment = yaml.safe_load((ROOT / "search_spaces" / "xanesnet_smoke.yaml").read_text())
    experiment["data"]["store"] = "stores/fe-train"
    experiment["data"]["generate"]["settings"]["path"] = str(fe_dir)
    experiment["train"]["max_epochs"] = 6
    experiment["tune"].update(num_samples=4, scheduler={"name": "asha", "grace_period": 2,
                                                        "reduction_factor": 2})  # fmt: skip
    experiment["storage"] = "results"
    (tmp_path / "smoke.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))

    tuned = raytrack_cli(["tune", "smoke.yaml", "--name", "sweep", "--verbose", "0"], tmp_path)
    assert tuned.returncode == 0, tuned.stdout[-3000:] + tuned.stderr[-3000:]
    trials = pd.read_csv(tmp_path / "results" / "sweep" / "trials.csv")
    assert len(trials) == 4 and trials["best_val_mse"].notna().all()

    converted = raytrack_cli(["convert", "xyz_xanes", str(fe_dir), "stores/fe-test", "--xyz-path",
                              "xyz_test", "--xanes-path", "xanes_test"], tmp_path)  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    evaluated = raytrack_cli(["evaluate", "results/sweep", "stores/fe-test", "--out", "eval",
                              "--set", "ensemble=2"], tmp_path)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    per_item = pd.read_csv(tmp_path / "eval" / "xanes_spectra_per_item.csv")
    assert len(per_item) == 10 and per_item["edge_error_ev"].notna().all()
    assert (tmp_path / "eval" / "xanes_spectra_spectra.png").stat().st_size > 10_000
