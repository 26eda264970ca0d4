"""GPU check: every Exa.TrkX stage trains, infers and builds tracks on a CUDA device.

Runs without Ray (the loop through :class:`LocalSession` on ``--device``), so that it needs only
torch, torch_geometric, pyarrow, pandas, scipy, pydantic and pyyaml on the GPU machine:

    python benchmarks/gpu_check.py --device cuda --out DIR

For each stage (embedding, filter on the embedding's graphs, GNN on the filter's graphs) it
trains a few epochs on simulated events, on the device and on the CPU from the same seed,
checks that the first epoch's training loss agrees, writes the stage's output store with
``infer_store(device=...)``, and at the end builds and scores tracks on the device. It also
times one interaction-GNN training step (hidden 128, 8 iterations, 3-layer networks) on graphs of
5k/40k and 20k/160k nodes/edges. Prints a JSON summary (and writes it to ``DIR/gpu_check.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from raytrack.config.schema import Experiment
from raytrack.families.tracking.simulate import SimulationSettings, generate_store
from raytrack.pipeline.evaluate import evaluate_checkpoint
from raytrack.pipeline.infer import infer_store
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

TRAIN, VAL = list(range(0, 8)), list(range(8, 12))
OPTIONS = {"pt_signal_cut": 1.0, "noise": True, "true_edges": "layerwise"}
STAGES = {  # the smoke spaces' models
    "embedding": {
        "name": "exatrkx_embedding",
        "hparams": {
            "emb_hidden": 256,
            "nb_layer": 4,
            "emb_dim": 12,
            "layernorm": True,
            "regime": ["rp", "hnm", "norm"],
            "margin": 0.1,
            "weight": 2.0,
            "r_train": 0.1,
            "knn": 100,
            "r_val": 0.2,
            "knn_val": 150,
            "r_test": 0.1,
            "knn_test": 150,
        },
    },
    "filter": {
        "name": "exatrkx_filter",
        "hparams": {
            "in_channels": 3,
            "hidden": 128,
            "nb_layer": 3,
            "layernorm": True,
            "batchnorm": True,
            "filter_cut": 0.15,
            "ratio": 2,
            "weight": 2.0,
            "regime": ["pid"],
        },
    },
    "gnn": {
        "name": "exatrkx_gnn",
        "hparams": {
            "input_graph": "stored",
            "hidden": 64,
            "nb_node_layer": 2,
            "nb_edge_layer": 2,
            "n_graph_iters": 4,
            "layernorm": True,
            "aggregation": "sum_max",
            "regime": ["pid"],
        },
    },
}
EPOCHS = {"embedding": 24, "filter": 40, "gnn": 30}


def experiment(stage: str, store: Path, epochs: int) -> Experiment:
    metric = "val_target_purity" if stage == "embedding" else "val_auc"
    return Experiment.model_validate(
        {
            "name": f"gpu-{stage}",
            "model": STAGES[stage],
            "data": {"store": str(store), "options": OPTIONS},
            "train": {
                "max_epochs": epochs,
                "batch_size": 1,
                "optimizer": {"name": "adamw", "lr": 0.003},
                "seed": 3,
            },
            "tune": {"metric": metric, "mode": "max"},
        }
    )


def train(
    stage: str, store: Path, root: Path, device: torch.device, epochs: int
) -> tuple[list[dict], Path, float]:
    torch.manual_seed(0)
    session = LocalSession(
        store_row_source(str(store), {"train": TRAIN, "val": VAL}), root, device=device
    )
    start = time.perf_counter()
    run_training(experiment(stage, store, epochs), session)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return session.reports, session.checkpoints[-1], time.perf_counter() - start


def gnn_step_times(device: torch.device) -> dict[str, float]:
    from raytrack.families.exatrkx.interaction_gnn import InteractionGNN

    times = {}
    for nodes, edges in ((5_000, 40_000), (20_000, 160_000)):
        g = torch.Generator().manual_seed(0)
        x = torch.rand(nodes, 3, generator=g).to(device)
        edge_index = torch.randint(0, nodes, (2, edges), generator=g).to(device)
        y = (torch.rand(edges, generator=g) < 0.1).float().to(device)
        model = InteractionGNN(hidden=128, n_graph_iters=8, nb_node_layer=3, nb_edge_layer=3).to(
            device
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for i in range(6):  # 2 warm-up steps, 4 timed
            if i == 2:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
            logits = model(x, edge_index)["edge_logits"]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        key = f"{nodes // 1000}k/{edges // 1000}k"
        times[f"step_s {key}"] = (time.perf_counter() - start) / 4
        if device.type == "cuda":
            times[f"peak_mib {key}"] = torch.cuda.max_memory_allocated() / 2**20
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=Path("gpu_check_out"))
    parser.add_argument("--epochs", type=int, help="epochs of every stage (default: 24, 40, 30)")
    args = parser.parse_args()
    device = torch.device(args.device)
    root = args.out
    store = root / "stores" / "sim"
    generate_store(store, 12, seed=3, settings=SimulationSettings(rfactor=0.015), overwrite=True)
    summary: dict = {
        "device": str(device),
        "name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
    }
    for stage in STAGES:
        epochs = args.epochs or EPOCHS[stage]
        reports, checkpoint, seconds = train(stage, store, root / stage / "dev", device, epochs)
        cpu_reports, _, cpu_seconds = train(
            stage, store, root / stage / "cpu", torch.device("cpu"), 1
        )
        out = root / "stores" / stage
        written = infer_store(checkpoint, store, out, device=args.device, overwrite=True)
        summary[stage] = {
            "epochs": epochs,
            "train_s": round(seconds, 2),
            "first_train_loss": reports[0]["train_loss"],
            "first_train_loss_cpu": cpu_reports[0]["train_loss"],
            "last": {k: v for k, v in reports[-1].items() if k.startswith("val_")},
            "output_edges": written.counts["edge"],
        }
        last_checkpoint, store = checkpoint, out
    _, evaluation = evaluate_checkpoint(
        last_checkpoint,
        store,
        evaluator="tracks",
        settings={"method": "walkthrough"},
        ids=VAL,
        device=args.device,
        reference=root / "stores" / "sim",
    )
    summary["tracks"] = evaluation.summary
    summary["gnn_step"] = gnn_step_times(device)
    text = json.dumps(summary, indent=1, default=float)
    (root / "gpu_check.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
