"""HyperTrack's clustering algorithms on synthetic edge-probability graphs: time and quality.

    python benchmarks/hypertrack_clustering.py     # ~2 min on the 2-CPU box

Each graph has ``N`` hits in tracks of 10 (hits of one track linked in a chain, both
directions, probability uniform in [0.7, 1]) and 4 N random fake edges (probability uniform in
[0, 0.5]); a fraction ``merge`` of all edges is set to probability 0.9 to join tracks into larger
components above ``edge_threshold`` 0.55, as a GNN's confident mistakes would. Every algorithm
runs with the reference's parameters on one thread. The transformer is untrained (reference
sizes, seed 0), so its clusters say nothing about quality: its row measures the cost of the
pivot rounds (``trials``: transformer calls), which grows with the largest component
(``merge`` 0.02 makes one component of most hits). Writes
``benchmarks/results/hypertrack_clustering.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from raytrack.families.hypertrack.clustering import sparsify, weak_components  # noqa: E402
from raytrack.families.hypertrack.measures import majority_match  # noqa: E402
from raytrack.families.hypertrack.model import cluster_hits  # noqa: E402
from raytrack.families.hypertrack.set_transformer import ClusterTransformer  # noqa: E402

HITS_PER_TRACK = 10


def graph(n: int, merge: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    truth = torch.arange(n) // HITS_PER_TRACK
    i = torch.arange(n - 1)
    chain = i[truth[i] == truth[i + 1]]
    true = torch.cat([torch.stack([chain, chain + 1]), torch.stack([chain + 1, chain])], 1)
    fake = torch.randint(0, n, (2, 4 * n), generator=g)
    ei = torch.cat([true, fake], 1)
    same = truth[ei[0]] == truth[ei[1]]
    u = torch.rand(ei.shape[1], generator=g)
    prob = torch.where(same, 0.7 + 0.3 * u, 0.5 * u)
    prob[torch.rand(ei.shape[1], generator=g) < merge] = 0.9
    return truth, ei, prob


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    transformer = ClusterTransformer().eval()
    rows = []
    for n in (500, 2000):
        for merge in (0.0, 0.002, 0.02):
            truth, ei, prob = graph(n, merge)
            comps = weak_components(ei[:, sparsify(ei, prob, 0.55)], n, 4)
            x = torch.randn(n, 3, generator=torch.Generator().manual_seed(1))
            z = torch.randn(n, 61, generator=torch.Generator().manual_seed(2))
            for algo in ("cut", "dbscan", "hdbscan", "transformer"):
                t0 = time.perf_counter()
                with torch.no_grad():
                    res = cluster_hits(algo, x, ei, prob, edge_threshold=0.55, z=z,
                                       transformer=transformer,
                                       generator=torch.Generator().manual_seed(0))  # fmt: skip
                seconds = time.perf_counter() - t0
                mm = majority_match(res.labels, truth)
                rows.append({
                    "hits": n, "merge": merge, "components": len(comps),
                    "largest_component": max(len(c) for c in comps), "algorithm": algo,
                    "seconds": round(seconds, 3), "trials": res.trials,
                    "efficiency": round(mm["efficiency"], 4), "purity": round(mm["purity"], 4),
                })  # fmt: skip
                print(rows[-1], flush=True)
    out = {
        "command": "python benchmarks/hypertrack_clustering.py",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch threads 1",
        "note": "transformer untrained: its efficiency/purity are not a quality figure",
        "rows": rows,
    }
    path = ROOT / "benchmarks" / "results" / "hypertrack_clustering.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
