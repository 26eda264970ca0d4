"""HyperTrack end to end: train on simulated events, cluster held-out and real TrackML events.

    python benchmarks/hypertrack_end_to_end.py           # ~40 min on the 2-CPU box
    python benchmarks/hypertrack_end_to_end.py --quick   # a smoke run (minutes), written under benchmarks/_work

1. ``raytrack train benchmarks/configs/hypertrack_end_to_end.yaml`` (a real run on local Ray:
   the simulated store is generated on first use, the voxdyn constructor built once, the GNN
   trained alone until its validation edge AUC passes ``auc_threshold``, then the transformer).
2. The run's best checkpoint infers (``Task.infer``: voxdyn graph, edge scores, clusters) on
   - the simulated test events of the run's split (same pile-up as training);
   - the real TrackML event of ``../shared/data/trackml`` (converted with
     ``raytrack convert trackml``): as it is (a 5% particle subsample, about 10 times the
     training pile-up) and re-sampled to the training pile-up (each particle kept with
     probability 0.1, noise hits likewise; ``--draws`` draws).
3. Per event and clustering (``transformer`` as trained, and ``cut`` / ``dbscan`` on the same
   edge scores): HyperTrack's measures (double-majority matched efficiency and purity over
   objects and clusters of ≥ 4 hits, the TrackML score), the voxdyn graph's true-edge efficiency
   and purity, the edge AUC; then means over events.

Writes ``benchmarks/results/hypertrack_end_to_end{_quick}.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from result_files import machine, write_result  # noqa: E402

sys.path.insert(0, str(ROOT))

CONFIG = ROOT / "benchmarks" / "configs" / "hypertrack_end_to_end.yaml"
REAL = ROOT.parent / "shared" / "data" / "trackml"
CLUSTERINGS = ("transformer", "cut", "dbscan")
RESAMPLE = 0.1
"""Fraction of the real event's particles kept: its pile-up brought to the training events'."""
QUICK = ["data.generate.events=16", "train.max_epochs=3", "train.stages[0].epochs=2",
         "data.store=~/.cache/raytrack/stores/hypertrack-e2e-quick-v2"]  # fmt: skip


def train(work: Path, quick: bool) -> tuple[Path, float]:
    """Run ``raytrack train`` on the config; the run directory and its wall time."""
    sets = [f"storage={work / 'runs'}", *(QUICK if quick else [])]
    command = [sys.executable, "-m", "raytrack.cli", "train", str(CONFIG), "--name", "e2e",
               "--overwrite", "--verbose", "0", *(a for s in sets for a in ("--set", s))]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    return work / "runs" / "e2e", time.perf_counter() - started


def resampled(event, fraction: float, seed: int):
    """``event`` with each particle (and each noise hit) kept with probability ``fraction``."""
    from raytrack.families.tracking.event import Event

    rng = np.random.default_rng(seed)
    pid = np.asarray(event.hits["particle_id"], np.int64)
    particles = np.unique(pid[pid != 0])
    kept = particles[rng.random(particles.size) < fraction]
    keep = np.isin(pid, kept) | ((pid == 0) & (rng.random(pid.size) < fraction))
    hits = {name: np.asarray(column)[keep] for name, column in event.hits.items()}
    return Event(event.event_id, hits, event.particles, meta=event.meta)


def event_figures(loaded, row) -> dict[str, float]:
    """Every clustering's measures and the graph's figures on one stored row."""
    import torch

    from raytrack.families.hypertrack import resample
    from raytrack.families.hypertrack.measures import cluster_metrics, edge_auc
    from raytrack.families.hypertrack.model import cluster_hits
    from raytrack.families.hypertrack.voxdyn_edges import labels_and_true_edges
    from raytrack.families.tracking.event import Event

    task, model = loaded.task, loaded.model
    before = task.cluster
    out = Event.from_row(task.infer(model, row))  # the trial's own clustering: the transformer
    event = Event.from_row(row)
    pid = np.asarray(out.hits["particle_id"], np.int64)
    weight = np.asarray(out.hits["weight"], np.float64)
    edges, prob = out.edge_index, np.asarray(out.edges["score"], np.float32)
    labels, true_edges = labels_and_true_edges(out, edges, task.options.node2node)
    figures = {
        "hits": float(event.num_hits),
        "edges": float(edges.shape[1]),
        "graph_efficiency": float(labels.sum() / max(true_edges, 1)),
        "graph_purity": float(labels.mean()) if labels.size else float("nan"),
        "edge_auc": edge_auc(prob, labels),
    }
    found = {before: np.asarray(out.hits["cluster_id"])}
    x = torch.as_tensor(resample.node_features(out))  # what the model saw
    for name in CLUSTERINGS:
        if name not in found:
            result = cluster_hits(name, x, torch.as_tensor(edges), torch.as_tensor(prob),
                                  edge_threshold=task.edge_threshold,
                                  cluster_param=task.cluster_param)  # fmt: skip
            found[name] = result.labels.numpy()
        metrics = cluster_metrics(found[name], pid, weight)
        figures.update({f"{name}_{k}": float(v) for k, v in metrics.items()})
    return figures


def mean_figures(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys()
    out = {k: float(np.nanmean([r[k] for r in rows])) for k in keys}
    out.update({f"{k}_std": float(np.nanstd([r[k] for r in rows])) for k in keys if "_" in k})
    out["events"] = len(rows)
    return out


def evaluate(run: Path, work: Path, draws: int) -> dict:
    from raytrack.data.build import splits_of
    from raytrack.families.tracking.event import Event
    from raytrack.pipeline.checkpoints import load_checkpoint
    from raytrack.store.sample_store import SampleStore

    loaded = load_checkpoint(run)
    experiment = loaded.experiment
    store = SampleStore(Path(experiment.data.store).expanduser())
    test = splits_of(experiment.data, store).test
    simulated = [event_figures(loaded, row) for row in store.iter_rows(ids=test)]
    real_store = work / "trackml_store"
    if not (real_store / "meta.json").exists():
        subprocess.run([sys.executable, "-m", "raytrack.cli", "convert", "trackml", str(REAL),
                        str(real_store)], check=True, cwd=ROOT)  # fmt: skip
    real_row = next(SampleStore(real_store).iter_rows())
    real_event = Event.from_row(real_row)
    as_is = [event_figures(loaded, real_row)]
    draws_rows = [event_figures(loaded, resampled(real_event, RESAMPLE, seed).to_row())
                  for seed in range(draws)]  # fmt: skip
    return {
        "checkpoint": str(loaded.path.relative_to(run)),
        "simulated_test": mean_figures(simulated),
        "real_as_is": mean_figures(as_is),
        "real_resampled": mean_figures(draws_rows),
    }


def markdown(result: dict) -> str:
    lines = [
        f"# HyperTrack end to end{' (quick)' if result['quick'] else ''}", "",
        f"`{result['command']}` on {result['machine']}; training {result['train_seconds']:.0f} s.",
        "", "| events | n | hits | graph eff. | graph purity | edge AUC | clustering | efficiency "
        "| purity | TrackML score |", "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]  # fmt: skip
    for label, key in (("simulated test", "simulated_test"), ("real, as is", "real_as_is"),
                       (f"real, re-sampled {RESAMPLE}", "real_resampled")):  # fmt: skip
        f = result[key]
        for name in CLUSTERINGS:
            lines.append(
                f"| {label} | {f['events']} | {f['hits']:.0f} | {f['graph_efficiency']:.3f} | "
                f"{f['graph_purity']:.4f} | {f['edge_auc']:.3f} | {name} | "
                f"{f[f'{name}_efficiency']:.3f} | {f[f'{name}_purity']:.3f} | "
                f"{f[f'{name}_trackml_score']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (minutes)")
    parser.add_argument(
        "--work", type=Path, help="default: benchmarks/_work/hypertrack_e2e[_quick]"
    )
    parser.add_argument("--draws", type=int, default=5, help="re-sampled real events")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results (--quick: _work)")
    args = parser.parse_args()
    args.out = args.out or ROOT / "benchmarks" / ("_work" if args.quick else "results")
    args.work = args.work or ROOT / "benchmarks" / "_work" / (
        "hypertrack_e2e" + ("_quick" if args.quick else "")
    )
    args.work.mkdir(parents=True, exist_ok=True)
    run, seconds = train(args.work, args.quick)
    result = {
        "command": "python benchmarks/hypertrack_end_to_end.py"
        + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "config": str(CONFIG.relative_to(ROOT)),
        "overrides": QUICK if args.quick else [],
        "train_seconds": seconds,
        "machine": machine(),
        **evaluate(run, args.work, 2 if args.quick else args.draws),
    }
    write_result(
        args.out,
        "hypertrack_end_to_end" + ("_quick" if args.quick else ""),
        result,
        markdown(result),
    )


if __name__ == "__main__":
    main()
