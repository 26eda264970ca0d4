"""Acceptance of the gravnet family: a trained GravNet against DBSCAN on the same showers.

    python benchmarks/gravnet_acceptance.py --scenario separated     # 2-5 showers, ΔR >= 0.3
    python benchmarks/gravnet_acceptance.py --scenario overlapping   # 2-5 showers within ΔR 0.1

Per scenario: simulate the events (``calo_sim``), train ``gravnet_oc`` in HGCalML's three
stages through raytrack's one training loop (no Ray: a local session, 1 thread), judge the last
checkpoint on the test events with the ``showers`` evaluator (condensation with t_beta 0.1,
t_d 0.5; energy-weighted IoU matching at 0.1), and cluster the same test events with DBSCAN in
(η, φ, layer) whose eps, min_samples and layer scale are chosen on the first 30 validation
events (the best efficiency − fake rate over a 12-point grid). Writes
``benchmarks/results/gravnet_acceptance_<scenario>.json`` (figures, per-energy-bin tables, the
per-epoch history, settings, wall times) and the evaluator's PNG plots as
``benchmarks/results/gravnet_<scenario>_*.png``. A killed run resumes exactly from
its newest checkpoint when started again; ``--evaluate-only`` judges that checkpoint without
training on, and the result records the epochs trained against those planned.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIOS = {
    "separated": {"min_separation": 0.3},
    "overlapping": {"max_separation": 0.1},
}
DETECTOR = {"cell_size_em": 2.0, "cell_size_had": 4.0, "noise_hits": 20.0}
PARTICLES = {"min_particles": 2, "max_particles": 5, "particle_types": ["photon", "electron", "pion"],
             "energy_min": 5.0, "energy_max": 100.0}  # fmt: skip
HPARAMS = {
    "gravnet": [{"n": 16, "n_filters": 32, "n_propagate": 32}] * 2,
    "message_passing": [{"n": 32}, {"n": 16}],
    "dense_pre_gravnet": [{"n": 32}],
    "dense_post_message_passing": [{"n": 32}],
    "dense_final": [{"n": 64}, {"n": 64}],
    "n_cluster_space_coordinates": 3,
    "n_gravnet_space_coordinates": 3,
    "DenseOptions": {"activation": "elu", "kernel_regularizer": "l2",
                     "kernel_regularizer_rate": 1e-4, "dropout": 0.0},
    # statistics averaged over ~100 steps: this run has ~10^4 steps, not HGCalML's ~10^6
    "BatchNormOptions": {"max_viscosity": 0.99, "fluidity_decay": 0.01},
    "q_min": 1.0,
    "energy_loss_weight": 0.5,
    "classification_loss_weight": 0.05,
    "position_loss_weight": 0.0,
    "timing_loss_weight": 0.0,
}  # fmt: skip
STAGES = [
    {"name": "stage_1", "epochs": 5, "lr": 1e-3, "batch_size": 2},
    {"name": "stage_2", "epochs": 6, "lr": 3e-4, "batch_size": 4},
    {"name": "stage_3", "epochs": 5, "lr": 1e-4, "batch_size": 4},
]
DBSCAN_GRID = {"eps": [0.03, 0.05, 0.08], "min_samples": [3, 8], "layer_scale": [0.0, 0.01]}
DBSCAN_TUNING_EVENTS = 30  # the first validation events choose DBSCAN's setting
ENERGY_EDGES = [0.0, 5.0, 10.0, 20.0, 40.0, 70.0, 100.0, 200.0]  # the evaluator's default


def experiment(store: Path, stages: list[dict]) -> dict:
    return {
        "name": "gravnet_acceptance",
        "model": {"name": "gravnet_oc", "hparams": HPARAMS},
        "data": {"store": str(store), "split": [0.8, 0.1, 0.1]},
        "train": {
            "optimizer": {"name": "nadam", "lr": 1e-3},
            "grad_clip": 1.0,
            "stages": stages,
            "num_threads": 1,
        },  # fmt: skip
        "tune": {"metric": "val_efficiency", "mode": "max"},
    }


def epoch_metrics(checkpoint: Path) -> dict:
    """The metrics an epoch reported, as its checkpoint keeps them (complete across a resume)."""
    state = torch.load(checkpoint / "state.pt", map_location="cpu", weights_only=True)
    return {k: v for k, v in state["metrics"].items() if not isinstance(v, str)}


def calo_events(store, ids: list[int]) -> list:
    from raytrack.families.gravnet.calo_event import CaloEvent

    return [CaloEvent.from_row(row) for row in store.iter_rows(ids=ids)]


def dbscan_matched(events: list, eps: float, min_samples: int, scale: float):
    """``(event, DBSCAN showers, their matching)`` per event."""
    from raytrack.families.gravnet.dbscan_baseline import dbscan_showers
    from raytrack.families.gravnet.showers_matcher import match_showers

    for event in events:
        showers = dbscan_showers(event.features, event.layer, eps=eps, min_samples=min_samples,
                                 layer_scale=scale)  # fmt: skip
        energy = event.features[:, 0].astype(np.float64)
        matching = match_showers(event.t_idx, showers.labels, energy, event.is_track,
                                 showers.count, iou_threshold=0.1)  # fmt: skip
        yield event, showers, matching


def dbscan_score(events: list, eps: float, min_samples: int, scale: float) -> dict:
    """Efficiency and fake rate of one DBSCAN setting (the grid's criterion)."""
    true = matched = pred = fakes = 0
    for _, _, matching in dbscan_matched(events, eps, min_samples, scale):
        true += len(matching.truth_ids)
        matched += int((matching.truth_match >= 0).sum())
        pred += len(matching.pred_match)
        fakes += int((matching.pred_match < 0).sum())
    return {"efficiency": matched / max(true, 1), "fake_rate": fakes / max(pred, 1)}


def dbscan_figures(events: list, eps: float, min_samples: int, scale: float) -> tuple:
    from raytrack.families.gravnet.shower_metrics import counts, figures, shower_rows

    frames = [shower_rows(event.event_id, event.t_idx, event.t_energy, event.t_pid, showers,
                          matching)
              for event, showers, matching in dbscan_matched(events, eps, min_samples, scale)]  # fmt: skip
    rows = pd.concat(frames, ignore_index=True)
    return figures(counts(rows)), rows


def dbscan_baseline(store, splits, cache: Path) -> dict:
    """DBSCAN's setting chosen on the tuning events and its figures on the test events, kept in
    ``cache`` (it does not depend on the trained model: ``--dbscan-only`` computes it alone)."""
    from raytrack.families.gravnet.shower_metrics import binned

    if cache.is_file():
        return json.loads(cache.read_text())
    started = time.perf_counter()
    tuning_ids = list(splits.val[:DBSCAN_TUNING_EVENTS])
    tuning = calo_events(store, tuning_ids)
    grid = []
    for eps, min_samples, scale in itertools.product(*DBSCAN_GRID.values()):
        found = dbscan_score(tuning, eps, min_samples, scale)
        grid.append({"eps": eps, "min_samples": min_samples, "layer_scale": scale, **found})
        print("dbscan", grid[-1], flush=True)
    best = max(grid, key=lambda g: g["efficiency"] - g["fake_rate"])
    found, rows = dbscan_figures(calo_events(store, splits.test), best["eps"],
                                 best["min_samples"], best["layer_scale"])  # fmt: skip
    keys = ("efficiency", "fake_rate", "response", "resolution", "deposited_response")
    result = {
        **{k: found[k] for k in keys},
        "chosen_on_val": best,
        "tuning_event_ids": tuning_ids,
        "grid": grid,
        "binned": binned(rows, ENERGY_EDGES).to_dict(orient="records"),
        "wall_s": time.perf_counter() - started,
    }
    cache.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


def run(args: argparse.Namespace) -> dict | None:
    from raytrack.config import validate_experiment
    from raytrack.data.build import build_store, splits_of
    from raytrack.families.gravnet.calo_settings import CaloSimSettings
    from raytrack.pipeline.evaluate import evaluate_checkpoint
    from raytrack.registry import get_source
    from raytrack.store.sample_store import SampleStore
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    work = Path(args.work) / args.scenario
    settings = CaloSimSettings(**PARTICLES, **DETECTOR, **SCENARIOS[args.scenario])
    store_path = work / "store"
    started = time.perf_counter()
    if not (store_path / "meta.json").is_file():
        build_store(get_source("calo_sim"), store_path, settings, count=args.events, seed=args.seed,
                    overwrite=True)  # fmt: skip
    store = SampleStore(store_path)
    simulated = time.perf_counter()
    stages = [{**s, "epochs": max(1, round(s["epochs"] * args.epoch_scale))} for s in STAGES]
    exp = validate_experiment(experiment(store_path, stages))
    splits = splits_of(exp.data, store)
    if args.dbscan_only:
        print(json.dumps(dbscan_baseline(store, splits, work / "dbscan.json"), default=float))
        return None
    torch.manual_seed(args.seed)
    run_dir = work / "run"
    resumed_from = len(list(run_dir.glob("checkpoint_*"))) if run_dir.is_dir() else 0
    if not args.evaluate_only:
        session = LocalSession(store_row_source(str(store_path), splits.as_dict()), run_dir)
        run_training(exp, session)  # resumes exactly from run_dir's newest checkpoint, if any
    trained = time.perf_counter()
    checkpoints = sorted(run_dir.glob("checkpoint_*"))
    if not checkpoints:
        raise SystemExit(f"--evaluate-only: no checkpoint in {run_dir}: train first")
    checkpoint = checkpoints[-1]
    _, evaluation = evaluate_checkpoint(checkpoint, store_path, ids=splits.test,
                                        settings={"event_displays": 3})  # fmt: skip
    prefix = f"gravnet_{args.scenario}"
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in evaluation.figures.items():
        (out / f"{prefix}_{name}.png").write_bytes(png)
    evaluated = time.perf_counter()
    baseline = dbscan_baseline(store, splits, work / "dbscan.json")
    keys = ("efficiency", "fake_rate", "response", "resolution", "deposited_response")
    return {
        "command": f"python benchmarks/gravnet_acceptance.py --scenario {args.scenario}"
        + (f" --events {args.events}" if args.events != 1500 else "")
        + (f" --epoch-scale {args.epoch_scale}" if args.epoch_scale != 1.0 else "")
        + (" --evaluate-only" if args.evaluate_only else ""),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)",
        "scenario": args.scenario,
        "simulation": settings.model_dump(mode="json"),
        "events": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test),
                   "hits_per_event": float(store.counts["hit"] / len(store))},  # fmt: skip
        "model": {"hparams": HPARAMS, "stages": stages, "checkpoint": checkpoint.name},
        "gravnet": {k: evaluation.summary[k] for k in (*keys, "true_showers", "pred_showers",
                                                         "matched", "fakes")},  # fmt: skip
        "dbscan": {k: v for k, v in baseline.items() if k != "binned"},
        "binned_gravnet": evaluation.tables["binned"].to_dict(orient="records"),
        "binned_dbscan": baseline["binned"],
        "resumed_after_epoch": resumed_from,
        "epochs_trained": len(checkpoints),
        "epochs_planned": sum(s["epochs"] for s in stages),
        "training_cut_short": len(checkpoints) < sum(s["epochs"] for s in stages),
        "history": [epoch_metrics(path) for path in checkpoints],
        "wall_s": {"simulate": simulated - started, "train_this_run": trained - simulated,
                   "evaluate": evaluated - trained, "dbscan": baseline["wall_s"]},
        "plots": sorted(f"{prefix}_{name}.png" for name in evaluation.figures),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epoch-scale", type=float, default=1.0, help="scale every stage's epochs")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="judge the newest checkpoint of --work as it is, without training on "
                        "(a run stopped for time; the result says how many epochs it had)")  # fmt: skip
    parser.add_argument(
        "--dbscan-only",
        action="store_true",
        help="compute (and keep in --work) the DBSCAN baseline alone",
    )
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / "_work" / "gravnet"))
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = run(args)
    if result is None:
        return
    path = Path(args.results) / f"gravnet_acceptance_{args.scenario}.json"
    path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps({"gravnet": result["gravnet"], "dbscan": result["dbscan"]}, indent=1,
                     default=float))  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
