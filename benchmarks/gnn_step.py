"""Train-step time and peak memory of the Exa.TrkX interaction GNN, raytrack vs. reference style.

    python benchmarks/gnn_step.py --malloc     # the full table (~15 min on 2 cores)
    python benchmarks/gnn_step.py --quick      # small graphs, one step: a smoke run

A train step is forward + backward + ``Adam.step`` on one random graph (uniform random edges used
as given, i.e. directed; node features ``(N, 3)``; 10% positive labels; BCE with pos_weight 2)
with hidden 128, 8 graph iterations, 3-layer node and edge networks, ``sum_max`` aggregation,
LayerNorm and ReLU (the reference's configuration), and 2 torch threads. Every case runs in a
fresh subprocess, ``--rounds`` times, interleaved with the other cases. Step time: the fastest
timed step over all rounds (the machine's other load only ever slows a step down); CPU time:
the same for the process's CPU time. Peak memory, from a separate one-step run of each case in
which glibc maps every block over 64 KiB on its own (``EXACT_RSS_ENV``) so that the resident set
follows the live tensors: the growth of the process's peak resident set size (``ru_maxrss``)
from just before the step (after a tiny forward pass that initialises the libraries) to its
end, i.e. what training the graph adds on top of the model, optimizer and data; the median
over rounds.

The baseline is the reference implementation as written (Exa.TrkX
``LightningModules/GNN/Models/interaction_gnn.py``): ``torch.cat`` of gathered node features and
edge features before every edge MLP, ``torch_geometric.utils.scatter`` aggregations, and, as the
reference does, ``torch.utils.checkpoint`` around every encoder and graph iteration
(``baseline+ckpt``); ``baseline`` is the same code without checkpointing. Before timing, the
script checks that raytrack's model computes the same logits as the baseline with the same
weights. ``--malloc`` adds runs with glibc's malloc told to keep freed memory (``MALLOC_ENV``):
large tensors are otherwise returned to the OS and page-faulted back on every allocation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HIDDEN = 128
N_GRAPH_ITERS = 8
NB_LAYER = 3
THREADS = 2
SIZES = ((5_000, 40_000), (20_000, 160_000))
IMPLEMENTATIONS = ("baseline", "baseline+ckpt", "raytrack", "raytrack+ckpt", "raytrack+bf16")


def reference_make_mlp(
    input_size, sizes, hidden_activation="ReLU", output_activation="ReLU", layer_norm=False
):
    """The reference's ``make_mlp`` (Exa.TrkX ``GNN/utils.py``)."""
    from torch import nn

    hidden_activation = getattr(nn, hidden_activation)
    if output_activation is not None:
        output_activation = getattr(nn, output_activation)
    layers = []
    n_layers = len(sizes)
    sizes = [input_size] + sizes
    for i in range(n_layers - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if layer_norm:
            layers.append(nn.LayerNorm(sizes[i + 1]))
        layers.append(hidden_activation())
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    if output_activation is not None:
        if layer_norm:
            layers.append(nn.LayerNorm(sizes[-1]))
        layers.append(output_activation())
    return nn.Sequential(*layers)


def reference_model(
    hidden=HIDDEN,
    n_graph_iters=N_GRAPH_ITERS,
    nb_layer=NB_LAYER,
    aggregation="sum_max",
    use_checkpoint=True,
):
    """The reference interaction GNN, written as the reference writes it (PyG scatter)."""
    import torch
    from torch import nn
    from torch.utils.checkpoint import checkpoint
    from torch_geometric.utils import scatter

    class ReferenceInteractionGNN(nn.Module):
        def __init__(self):
            super().__init__()
            factor = 3 if aggregation in ("sum_max", "mean_max") else 2
            kw = {"output_activation": None, "hidden_activation": "ReLU", "layer_norm": True}
            self.node_encoder = reference_make_mlp(3, [hidden] * nb_layer, **kw)
            self.edge_encoder = reference_make_mlp(2 * hidden, [hidden] * nb_layer, **kw)
            self.edge_network = reference_make_mlp(3 * hidden, [hidden] * nb_layer, **kw)
            self.node_network = reference_make_mlp(factor * hidden, [hidden] * nb_layer, **kw)
            self.output_edge_classifier = reference_make_mlp(
                3 * hidden, [hidden] * nb_layer + [1], **kw
            )

        def message_step(self, x, start, end, e):
            n = x.shape[0]
            if aggregation == "sum":
                messages = scatter(e, end, dim=0, dim_size=n, reduce="sum")
            elif aggregation == "max":
                messages = scatter(e, end, dim=0, dim_size=n, reduce="max")
            else:
                messages = torch.cat(
                    [
                        scatter(e, end, dim=0, dim_size=n, reduce="max"),
                        scatter(e, end, dim=0, dim_size=n, reduce="sum"),
                    ],
                    dim=-1,
                )
            x_out = self.node_network(torch.cat([x, messages], dim=-1))
            x_out += x
            e_out = self.edge_network(torch.cat([x[start], x[end], e], dim=-1))
            e_out += e
            return x_out, e_out

        def output_step(self, x, start, end, e):
            return self.output_edge_classifier(torch.cat([x[start], x[end], e], dim=1)).squeeze(-1)

        def forward(self, x, edge_index):
            start, end = edge_index
            run = (
                (lambda f, *a: checkpoint(f, *a, use_reentrant=False))
                if use_checkpoint
                else (lambda f, *a: f(*a))
            )
            x = run(self.node_encoder, x)
            e = run(self.edge_encoder, torch.cat([x[start], x[end]], dim=1))
            for _ in range(n_graph_iters):
                x, e = run(self.message_step, x, start, end, e)
            return run(self.output_step, x, start, end, e)

    return ReferenceInteractionGNN()


def raytrack_model(checkpointing=False, directed=True, precision="float32"):
    from raytrack.families.exatrkx.interaction_gnn import InteractionGNN

    return InteractionGNN(
        hidden=HIDDEN,
        n_graph_iters=N_GRAPH_ITERS,
        nb_node_layer=NB_LAYER,
        nb_edge_layer=NB_LAYER,
        aggregation="sum_max",
        layernorm=True,
        hidden_activation="ReLU",
        directed=directed,
        checkpointing=checkpointing,
        precision=precision,
    )


def copy_reference_weights(ours, ref) -> None:
    """Load the reference's weights into raytrack's model (same layout, first layers split)."""
    state = {}
    for name, tensor in ref.state_dict().items():
        module, index, param = name.split(".")
        if module == "node_encoder":
            state[name] = tensor
        elif index == "0":
            state[f"{module}.first.{param}"] = tensor
        else:
            state[f"{module}.rest.{int(index) - 1}.{param}"] = tensor
    ours.load_state_dict(state)


def check_equivalence() -> float:
    """Largest |difference| of logits between raytrack and the baseline with equal weights."""
    import torch

    torch.manual_seed(0)
    ref = reference_model(hidden=32, n_graph_iters=3, use_checkpoint=False)
    ours = raytrack_model(directed=True)
    ours = type(ours)(hidden=32, n_graph_iters=3, directed=True)
    copy_reference_weights(ours, ref)
    x = torch.randn(300, 3)
    edge_index = torch.randint(0, 300, (2, 2000))
    with torch.no_grad():
        a = ref(x, edge_index)
        b = ours(x, edge_index)["edge_logits"]
    return float((a - b).abs().max())


MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**34), "MALLOC_TRIM_THRESHOLD_": str(2**34)}
"""glibc malloc kept from returning large freed blocks to the OS (see --malloc)."""

EXACT_RSS_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}
"""For the memory runs: every block over 64 KiB is its own mapping, returned to the OS when
freed, so that the resident set follows the live tensors (no allocator high-water marks)."""


def run_case(impl: str, nodes: int, edges: int, steps: int, warmup: int) -> dict:
    """One case, in this (fresh) process."""
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    x = torch.randn(nodes, 3)
    edge_index = torch.randint(0, nodes, (2, edges))
    y = (torch.rand(edges) < 0.1).float()
    name = impl.split()[0]
    if name.startswith("baseline"):
        model = reference_model(use_checkpoint=name.endswith("ckpt"))
        logits_of = lambda: model(x, edge_index)
    else:
        precision = "bfloat16" if name.endswith("bf16") else "float32"
        model = raytrack_model(checkpointing=name.endswith("ckpt"), precision=precision)
        logits_of = lambda: model(x, edge_index)["edge_logits"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pos_weight = torch.tensor(2.0)

    def step() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits_of(), y, pos_weight=pos_weight
        )
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started, time.process_time() - cpu

    # initialise the libraries (threads, BLAS buffers) on a tiny graph, outside the measurement
    tiny = torch.randint(0, 100, (2, 400))
    with torch.no_grad():
        out = model(x[:100], tiny)
    del out
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(warmup):
        step()
    wall, cpu = zip(*(step() for _ in range(steps)))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "impl": impl,
        "nodes": nodes,
        "edges": edges,
        "step_s": min(wall),
        "step_s_all": list(wall),
        "cpu_s": min(cpu),
        "peak_mib": (rss_after - rss_before) / 1024.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small graphs, one round: a smoke run")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case and round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per case")
    parser.add_argument("--impl", nargs="*", default=list(IMPLEMENTATIONS))
    parser.add_argument(
        "--sizes",
        nargs="*",
        metavar="NODES:EDGES",
        default=[f"{n}:{e}" for n, e in SIZES],
        help="graph sizes (default: %(default)s)",
    )
    parser.add_argument(
        "--malloc",
        action="store_true",
        help="also run baseline, raytrack and raytrack+bf16 with glibc malloc tuned (MALLOC_ENV)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case
    args = parser.parse_args()

    if args.case:
        impl, nodes, edges = args.case.split(":")
        print(json.dumps(run_case(impl, int(nodes), int(edges), args.steps, args.warmup)))
        return

    diff = check_equivalence()
    print(f"equivalence check: max |logit difference| vs baseline = {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("raytrack's model does not match the reference implementation")
    sizes = ((1_000, 8_000),) if args.quick else [tuple(map(int, s.split(":"))) for s in args.sizes]
    rounds = 1 if args.quick else args.rounds
    steps = 1 if args.quick else args.steps
    cases = [(impl, {}) for impl in args.impl]
    if args.malloc:
        cases += [
            (f"{impl} [malloc]", MALLOC_ENV) for impl in ("baseline", "raytrack", "raytrack+bf16")
        ]
    base_env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    runs: dict[tuple[str, int], list[dict]] = {}
    memory: dict[tuple[str, int], list[float]] = {}
    loads = [os.getloadavg()[0]]

    def case(impl: str, nodes: int, edges: int, env: dict, steps: int, warmup: int) -> dict:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--case",
                f"{impl}:{nodes}:{edges}",
                "--steps",
                str(steps),
                "--warmup",
                str(warmup),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=dict(base_env, **env),
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    for round_ in range(rounds):
        for nodes, edges in sizes:
            for impl, extra_env in cases:
                result = case(impl, nodes, edges, extra_env, steps, args.warmup)
                result["load"] = os.getloadavg()[0]
                loads.append(result["load"])
                runs.setdefault((impl, nodes), []).append(result)
                if not extra_env:  # the memory of an implementation, measured exactly
                    peak = case(impl, nodes, edges, EXACT_RSS_ENV, 1, 0)["peak_mib"]
                    memory.setdefault((impl, nodes), []).append(peak)
                    result["exact_peak_mib"] = peak
                print(
                    f"round {round_ + 1}: {nodes:>6} nodes {edges:>7} edges  {impl:<24} "
                    f"step {result['step_s']:7.3f} s (cpu {result['cpu_s']:6.2f} s)  "
                    f"peak +{result.get('exact_peak_mib', result['peak_mib']):8.1f} MiB  "
                    f"load {result['load']:.1f}",
                    flush=True,
                )

    results = []
    for (impl, nodes), rs in runs.items():
        exact = memory.get((impl, nodes))
        results.append(
            {
                "impl": impl,
                "nodes": nodes,
                "edges": rs[0]["edges"],
                "step_s": min(r["step_s"] for r in rs),
                "cpu_s": min(r["cpu_s"] for r in rs),
                "peak_mib": statistics.median(exact) if exact else None,
                "runs": rs,
            }
        )
    print()
    print(
        f"torch {__import__('torch').__version__}, {THREADS} threads, hidden {HIDDEN}, "
        f"{N_GRAPH_ITERS} graph iterations, {NB_LAYER}-layer networks, sum_max, LayerNorm, "
        f"directed edges; {rounds} round(s) x {steps} timed step(s); "
        f"1-min load average {min(loads):.1f}-{max(loads):.1f}"
    )
    print(
        "| graph (nodes / edges) | implementation | step time (s) | CPU time (s) | peak memory (MiB) "
        "| time / baseline | memory / baseline |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        base = next(b for b in results if b["nodes"] == r["nodes"] and b["impl"] == "baseline")
        memory_cells = (
            f"{r['peak_mib']:.0f} | {r['peak_mib'] / base['peak_mib']:.2f}"
            if r["peak_mib"] is not None
            else "— | —"
        )
        mem, mem_ratio = memory_cells.split(" | ")
        print(
            f"| {r['nodes']:,} / {r['edges']:,} | {r['impl']} | {r['step_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{mem} | {r['step_s'] / base['step_s']:.2f} | {mem_ratio} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
