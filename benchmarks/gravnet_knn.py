"""Which exact kNN backend the GravNet layer should use: torch (cdist + topk) or faiss.

    python benchmarks/gravnet_knn.py

Times :func:`raytrack.families.gravnet.knn.select_knn` on batches of 4 events of random
3-D GravNet coordinates, for event sizes around those of ``calo_sim`` (200-2000 hits) and the
neighbour counts of HGCalML's configurations (16-128), both backends in the same process, 1
torch thread, calls alternating between the backends so that both see the same machine load
(the CPUs are shared); the medians of the times and of the per-pair ratios. Writes
``benchmarks/results/gravnet_knn.json``.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = (200, 500, 1000, 2000)
NEIGHBOURS = (16, 64, 128)
EVENTS = 4


def timed_pairs(coords: torch.Tensor, splits: torch.Tensor, k: int, repeats: int) -> list[tuple]:
    """``(torch seconds, faiss seconds)`` of ``repeats`` back-to-back pairs of calls."""
    from raytrack.families.gravnet.knn import select_knn

    pairs = []
    for index in range(repeats + 1):
        times = []
        for backend in ("torch", "faiss"):
            start = time.perf_counter()
            select_knn(coords, splits, k, backend=backend)
            times.append(time.perf_counter() - start)
        if index:  # the first pair warms up
            pairs.append(tuple(times))
    return pairs


def main() -> None:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for size in SIZES:
        coords = torch.randn(EVENTS * size, 3, generator=generator)
        splits = torch.arange(0, EVENTS * size + 1, size)
        for k in NEIGHBOURS:
            pairs = timed_pairs(coords, splits, k, 21 if size <= 500 else 9)
            rows.append({
                "hits_per_event": size, "k": k, "events": EVENTS,
                "torch_ms": 1e3 * statistics.median(t for t, _ in pairs),
                "faiss_ms": 1e3 * statistics.median(f for _, f in pairs),
                "faiss_over_torch": statistics.median(f / t for t, f in pairs),
            })  # fmt: skip
            print(rows[-1], flush=True)
    result = {
        "command": "python benchmarks/gravnet_knn.py",
        "machine": f"{platform.machine()}, 1 torch thread, faiss-cpu",
        "rows": rows,
    }
    out = ROOT / "benchmarks" / "results" / "gravnet_knn.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
