"""GTR's acceptance figures: tuned on real and simulated clips, scored on held-out clips beside
the baseline tracker.

For each experiment (``flies``: search_spaces/gtr_flies.yaml on two_flies; ``zfish``:
gtr_zfish.yaml on ten_zfish; ``crossing``: gtr_crossing.yaml on the simulator's crossing scenes),
this script runs, from the repository root, what a user runs:

    raytrack tune <experiment>                                   # Optuna + ASHA on val_idf1 / val_num_switches
    raytrack evaluate <sweep> <store> --set samples=test         # mot evaluator: GTR and baseline

(with the sweep's results under benchmarks/_work/gtr/) and writes
``benchmarks/results/gtr_<experiment>.json``: the sweep's leaderboard, the best trial, and the
held-out test clips' MOT metrics of the transformer and of the baseline tracker (Hungarian on
centre distance for these point stores, the same ``max_gap``). Training and validation clips are
never scored; the test clips were seen by no trial.

    python benchmarks/gtr_acceptance.py flies zfish crossing
    # the crossing scenes on positions alone (benchmarks/results/gtr_crossing_novis.json):
    python benchmarks/gtr_acceptance.py crossing --tag _novis --set model.hparams.use_vis_feats=false
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "gtr"
RESULTS = ROOT / "benchmarks" / "results"
EXPERIMENTS = {
    "flies": "search_spaces/gtr_flies.yaml",
    "zfish": "search_spaces/gtr_zfish.yaml",
    "crossing": "search_spaces/gtr_crossing.yaml",
}
REPORTED = (
    "mota",
    "idf1",
    "num_switches",
    "num_fragmentations",
    "num_objects",
    "recall",
    "precision",
    "motp",
)


def run(args: list[str]) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "raytrack.cli", *args], cwd=ROOT, text=True, capture_output=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"raytrack {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    print(f"raytrack {' '.join(args)}: {time.perf_counter() - started:.0f} s", flush=True)
    return done.stdout


def measure(name: str, overrides: dict, tag: str = "") -> dict:
    experiment = yaml.safe_load((ROOT / EXPERIMENTS[name]).read_text())
    experiment["storage"] = str(WORK / "results")
    experiment.pop("logging", None)
    for path, value in overrides.items():
        node = experiment
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    WORK.mkdir(parents=True, exist_ok=True)
    file = WORK / f"{name}{tag}.yaml"
    file.write_text(yaml.safe_dump(experiment, sort_keys=False))
    started = time.perf_counter()
    run(["tune", str(file), "--name", name + tag, "--overwrite", "--verbose", "0"])
    tuned_s = time.perf_counter() - started
    sweep = WORK / "results" / (name + tag)
    store = os.path.expanduser(experiment["data"]["store"])
    out = WORK / f"{name}{tag}-evaluation"
    run(["evaluate", str(sweep), store, "--set", "samples=test", "--out", str(out)])
    summary = json.loads((out / "mot_summary.json").read_text())
    trials = pd.read_csv(sweep / "trials.csv")
    best = json.loads((sweep / "best.json").read_text())
    return {
        "experiment": EXPERIMENTS[name],
        "commands": [
            f"raytrack tune {EXPERIMENTS[name]}",
            "raytrack evaluate <sweep> <store> --set samples=test",
        ],  # fmt: skip
        "overrides": overrides,
        "tune_wall_s": round(tuned_s, 1),
        "trials": trials.to_dict(orient="records"),
        "best": {k: best[k] for k in ("trial_id", "metric", "mode", "value", "epoch", "config")},
        "test": {
            "clips": summary["clips"],
            "instances": summary["instances"],
            "gtr": {k: summary.get(k) for k in REPORTED},
            "baseline": {k: summary.get(f"baseline_{k}") for k in REPORTED},
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", choices=sorted(EXPERIMENTS))
    parser.add_argument("--set", action="append", default=[], metavar="PATH=YAML",
                        help="override a setting of every experiment (e.g. tune.num_samples=4)")  # fmt: skip
    parser.add_argument("--tag", default="", help="suffix of the result file and sweep name")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.set)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.experiments:
        result = measure(name, overrides, tag=args.tag)
        (RESULTS / f"gtr_{name}{args.tag}.json").write_text(
            json.dumps(result, indent=1, default=str) + "\n"
        )
        test = result["test"]
        print(f"{name}: test clips {test['clips']}: GTR idf1 {test['gtr']['idf1']:.3f} mota "
              f"{test['gtr']['mota']:.3f} switches {test['gtr']['num_switches']:.0f} | baseline "
              f"idf1 {test['baseline']['idf1']:.3f} mota {test['baseline']['mota']:.3f} switches "
              f"{test['baseline']['num_switches']:.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
