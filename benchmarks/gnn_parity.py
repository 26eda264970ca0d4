"""acorn's InteractionGNN2 against raytrack's, at equal parameters: step time, peak memory, FLOPs.

    python benchmarks/gnn_parity.py --acorn-src ACORN --json benchmarks/results/gnn_parity.json
    python benchmarks/gnn_parity.py --acorn-src ACORN --quick     # small graphs: a smoke run

``ACORN`` is a local acorn checkout (gitlab.cern.ch/gnn4itkteam/acorn or a mirror); acorn's
``InteractionGNN2`` class is imported from it unchanged (benchmarks/acorn_ignn2.py says which of
its dependencies are stood in for). Both models run acorn's CTD 2023 configuration (12 hit and
6 edge features, hidden 128, 8 iterations, separate networks per iteration, ``concat``,
``in_out_diff_agg``, BatchNorm, ReLU), raytrack's as :class:`InteractionGNN2` with acorn's weights
copied in; the script first checks that both give the same logits.

A step is forward + backward + ``Adam.step`` on one random directed graph (``y`` 10% positive,
BCE with ``pos_weight`` 2), 2 torch threads. Every case runs in a fresh subprocess, interleaved
with the others, ``--rounds`` times: step time is the fastest timed step over all rounds (other
load only slows a step down); matmul FLOPs per step (forward + backward, recomputation included)
come from ``torch.utils.flop_counter.FlopCounterMode`` on the warm-up step; peak memory from a
separate one-step run with glibc mapping every block over 64 KiB on its own (as in
benchmarks/gnn_step.py): the growth of ``ru_maxrss`` during the step, median over rounds.
``raytrack default`` is raytrack's ``exatrkx_gnn`` model with its default hyperparameters on
``(N, 3)`` hit features (undirected: both directions of every edge), ``raytrack default -ckpt``
the same with ``checkpointing: false`` (the default before this benchmark). Last, the bfloat16 check: the loss of raytrack's model with
``precision="bfloat16"`` against float32, with the same weights, before and after 5 Adam steps (2,000 hits / 16,000 edges).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from acorn_ignn2 import (  # noqa: E402
    CTD_2023,
    RAYTRACK_OF_CTD_2023,
    acorn_batch,
    copy_acorn_weights,
    load_acorn_class,
)
from gnn_step import EXACT_RSS_ENV  # noqa: E402

THREADS = 2
SIZES = ((5_000, 40_000), (20_000, 160_000))
IMPLEMENTATIONS = (
    "acorn+ckpt",
    "acorn",
    "raytrack+ckpt",
    "raytrack",
    "raytrack default",
    "raytrack default -ckpt",
)
BF16_RTOL = 2e-2


def graph(nodes: int, edges: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(nodes, len(CTD_2023["node_features"]), generator=g)
    edge_index = torch.randint(0, nodes, (2, edges), generator=g)
    edge_attr = torch.randn(edges, len(CTD_2023["edge_features"]), generator=g)
    y = (torch.rand(edges, generator=g) < 0.1).float()
    return x, edge_index, edge_attr, y


def build(impl: str, acorn_src: str, **raytrack_overrides):
    """``(model, logits_of(x, edge_index, edge_attr))`` for one implementation."""
    from raytrack.families.exatrkx.interaction_gnn import InteractionGNN
    from raytrack.families.exatrkx.interaction_gnn2 import InteractionGNN2

    ckpt = "+ckpt" in impl
    if impl.startswith("acorn"):
        cls = load_acorn_class(acorn_src)
        hparams = copy.deepcopy(CTD_2023) | {"checkpointing": ckpt}
        model = cls(hparams | raytrack_overrides)
        return model, lambda x, ei, ea: model(acorn_batch(x, ei, ea))
    if impl.startswith("raytrack default"):
        model = InteractionGNN(**({"checkpointing": False} if impl.endswith("-ckpt") else {}))
        return model, lambda x, ei, ea: model(x[:, :3], ei)["edge_logits"]
    precision = "bfloat16" if "+bf16" in impl else "float32"
    hparams = RAYTRACK_OF_CTD_2023 | {"checkpointing": ckpt, "precision": precision}
    model = InteractionGNN2(**(hparams | raytrack_overrides))
    return model, lambda x, ei, ea: model(x, ei, ea)["edge_logits"]


def run_case(impl: str, nodes: int, edges: int, steps: int, warmup: int, acorn_src: str) -> dict:
    """One case, in this (fresh) process."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    warnings.filterwarnings("ignore", message="torch.utils.checkpoint")
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    x, edge_index, edge_attr, y = graph(nodes, edges)
    model, logits_of = build(impl, acorn_src)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pos_weight = torch.tensor(2.0)

    def step() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        logits = logits_of(x, edge_index, edge_attr)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, y, pos_weight=pos_weight
        )
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started, time.process_time() - cpu

    with torch.no_grad():  # initialise the libraries on a tiny graph, outside the measurement
        logits_of(x[:100], edge_index[:, :400] % 100, edge_attr[:400])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flops = None
    for k in range(warmup):
        if k == 0:
            with FlopCounterMode(display=False) as counter:
                step()
            flops = counter.get_total_flops()
        else:
            step()
    wall, cpu = zip(*(step() for _ in range(steps))) if steps else ((), ())
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "impl": impl,
        "nodes": nodes,
        "edges": edges,
        "params": sum(p.numel() for p in model.parameters()),
        "matmul_flops": flops,
        "step_s": min(wall) if wall else None,
        "step_s_all": list(wall),
        "cpu_s": min(cpu) if cpu else None,
        "peak_mib": (rss_after - rss_before) / 1024.0,
    }


def check_equivalence(acorn_src: str) -> dict:
    """Logits and loss of acorn's and raytrack's models with the same weights (small graph)."""
    import torch

    warnings.filterwarnings("ignore", message="torch.utils.checkpoint")
    small = {"hidden": 32, "n_graph_iters": 3}
    torch.manual_seed(0)
    acorn, acorn_logits = build("acorn", acorn_src, **small)
    ours, our_logits = build("raytrack+ckpt", acorn_src, **small)
    copy_acorn_weights(ours, acorn)
    x, edge_index, edge_attr, y = graph(500, 4_000, seed=1)
    with torch.no_grad():
        a, b = acorn_logits(x, edge_index, edge_attr), our_logits(x, edge_index, edge_attr)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    return {
        "max_abs_logit_difference": float((a - b).abs().max()),
        "max_abs_logit": float(a.abs().max()),
        "loss_acorn": float(bce(a, y)),
        "loss_raytrack": float(bce(b, y)),
    }


def check_bfloat16(nodes: int, edges: int, acorn_src: str, steps: int = 5) -> dict:
    """float32 vs bfloat16 losses of raytrack's model from the same weights, step by step."""
    import torch

    torch.set_num_threads(THREADS)
    x, edge_index, edge_attr, y = graph(nodes, edges, seed=2)
    losses = {}
    for precision in ("float32", "bfloat16"):
        torch.manual_seed(0)
        model, logits_of = build("raytrack+ckpt", acorn_src, precision=precision)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        curve = []
        for _ in range(steps + 1):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits_of(x, edge_index, edge_attr), y, pos_weight=torch.tensor(2.0)
            )
            curve.append(float(loss))
            loss.backward()
            optimizer.step()
        losses[precision] = curve
    worst = max(abs(b - a) / abs(a) for a, b in zip(losses["float32"], losses["bfloat16"]))
    return {"nodes": nodes, "edges": edges, "losses": losses, "max_rel_difference": worst,
            "rtol": BF16_RTOL, "equal": worst <= BF16_RTOL}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acorn-src", required=True, help="a local acorn checkout")
    parser.add_argument("--quick", action="store_true", help="small graphs, one round: a smoke run")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per case and round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per case")
    parser.add_argument("--impl", nargs="*", default=list(IMPLEMENTATIONS))
    parser.add_argument("--sizes", nargs="*", metavar="NODES:EDGES",
                        default=[f"{n}:{e}" for n, e in SIZES])  # fmt: skip
    parser.add_argument("--memory-only", action="store_true", help="peak memory and FLOPs only")
    parser.add_argument("--no-bf16-check", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case
    args = parser.parse_args()

    if args.case:
        impl, nodes, edges = args.case.split(":")
        result = run_case(impl, int(nodes), int(edges), args.steps, args.warmup, args.acorn_src)
        print(json.dumps(result))
        return

    equivalence = check_equivalence(args.acorn_src)
    print(f"equivalence: {equivalence}", flush=True)
    if equivalence["max_abs_logit_difference"] > 1e-4 * max(1.0, equivalence["max_abs_logit"]):
        raise SystemExit("raytrack's InteractionGNN2 does not match acorn's")
    sizes = [(1_000, 8_000)] if args.quick else [tuple(map(int, s.split(":"))) for s in args.sizes]
    rounds, steps = (1, 1) if args.quick else (args.rounds, args.steps)
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    loads = [os.getloadavg()[0]]

    def case(impl: str, nodes: int, edges: int, extra_env: dict, steps: int, warmup: int) -> dict:
        command = [sys.executable, __file__, "--acorn-src", str(args.acorn_src), "--case",
                   f"{impl}:{nodes}:{edges}", "--steps", str(steps), "--warmup", str(warmup)]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True,
                             env=dict(env, **extra_env))  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    runs: dict[tuple[str, int], list[dict]] = {}
    for round_ in range(rounds):
        for nodes, edges in sizes:
            for impl in args.impl:
                # memory from a step without the FLOP counter: under it, checkpointing keeps
                # every activation (2,000 / 16,000: 477 MiB with, 151 MiB without)
                memory = case(impl, nodes, edges, EXACT_RSS_ENV, 1, 0)
                result = memory if args.memory_only else case(impl, nodes, edges, {}, steps, 1)
                result["exact_peak_mib"] = memory["peak_mib"]
                result["load"] = os.getloadavg()[0]
                loads.append(result["load"])
                runs.setdefault((impl, nodes), []).append(result)
                print(f"round {round_ + 1}: {nodes:>6} / {edges:>7}  {impl:<18} "
                      f"step {result['step_s'] or float('nan'):7.2f} s  peak +{result['exact_peak_mib']:7.0f} MiB  "
                      f"{(result['matmul_flops'] or 0) / 1e9:8.1f} GFLOP  {result['params']:>9,} params  "
                      f"load {result['load']:.1f}", flush=True)  # fmt: skip

    results = []
    for (impl, nodes), rs in runs.items():
        results.append({
            "impl": impl, "nodes": nodes, "edges": rs[0]["edges"], "params": rs[0]["params"],
            "matmul_gflops": None if args.memory_only else rs[0]["matmul_flops"] / 1e9,
            "step_s": None if args.memory_only else min(r["step_s"] for r in rs),
            "cpu_s": None if args.memory_only else min(r["cpu_s"] for r in rs),
            "peak_mib": statistics.median(r["exact_peak_mib"] for r in rs), "runs": rs,
        })  # fmt: skip
    bf16 = None
    if not args.no_bf16_check:
        size = (1_000, 8_000) if args.quick else (2_000, 16_000)
        bf16 = check_bfloat16(*size, args.acorn_src)
        print(f"bfloat16 vs float32 losses: {bf16}")
    import torch

    machine = {"torch": torch.__version__, "threads": THREADS, "cpus": os.cpu_count(),
               "load_1min": [min(loads), max(loads)], "rounds": rounds, "steps": steps}  # fmt: skip
    print(f"\n{machine}")
    print("| graph (nodes / edges) | implementation | params | matmul GFLOP / step | step (s) "
          "| CPU (s) | peak (MiB) | time / acorn+ckpt | memory / acorn+ckpt |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        base = next(b for b in results if b["nodes"] == r["nodes"] and b["impl"] == "acorn+ckpt")
        timed = r["step_s"] is not None
        print(f"| {r['nodes']:,} / {r['edges']:,} | {r['impl']} | {r['params']:,} | "
              f"{r['matmul_gflops'] if timed else float('nan'):.1f} | "
              f"{r['step_s'] if timed else float('nan'):.2f} | "
              f"{r['cpu_s'] if timed else float('nan'):.2f} | "
              f"{r['peak_mib']:.0f} | "
              f"{r['step_s'] / base['step_s'] if timed else float('nan'):.2f} | "
              f"{r['peak_mib'] / base['peak_mib']:.2f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "equivalence": equivalence,
                                         "bfloat16": bf16, "results": results}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
