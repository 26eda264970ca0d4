"""Speed of two tracking components, each against a straightforward reference in the same run.

    python benchmarks/component_speed.py [--repeat 5]

The tests used to assert wall-clock limits here ("under 1 s", "under 50 ms"); such limits belong
in benchmarks, as ratios against a baseline measured in the same run:

- **Track matching** (:func:`raytrack.families.tracking.matching.tracking_metrics`) on a
  full-size event of 100k hits and 10k particles, against the pandas group-by matching a user
  would write (candidate × particle hit counts, double majority), checked to give the same
  efficiency and fake rate.
- **Geometric candidate graph** (:func:`raytrack.families.exatrkx.geometric_graph.build_edges`)
  on simulated events, against the brute-force double loop over hit pairs on the paired layers
  (the definition the unit tests check it against), checked to give the same edges.

Results: ``benchmarks/results/component_speed.json`` (best of ``--repeat`` runs each).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "component_speed.json"


def best_of(repeat: int, run) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return best, out


def pandas_matching(pid: np.ndarray, label: np.ndarray, pt: np.ndarray) -> tuple[float, float]:
    """Double-majority efficiency (pT > 1 GeV, ≥ 5 hits) and fake rate, the group-by way."""
    hits = pd.DataFrame({"pid": pid, "label": label, "pt": pt})
    hits = hits[hits.label >= 0]
    counts = hits.groupby(["label", "pid"]).size().rename("shared").reset_index()
    track_size = hits.groupby("label").size().rename("track_hits")
    particle = (
        pd.DataFrame({"pid": pid, "pt": pt})
        .groupby("pid")
        .agg(hits=("pt", "size"), pt=("pt", "first"))
    )
    counts = counts.join(track_size, on="label").join(particle, on="pid")
    counts = counts[counts.track_hits >= 5]
    matched = counts[
        (counts.pid != 0)
        & (counts.shared > 0.5 * counts.track_hits)
        & (counts.shared > 0.5 * counts.hits)
    ]
    wanted = particle[(particle.index != 0) & (particle.hits >= 5) & (particle.pt > 1.0)]
    efficiency = wanted.index.isin(matched.pid).mean()
    tracks = counts.label.unique()
    fake_rate = 1.0 - np.isin(tracks, matched.label).mean()
    return float(efficiency), float(fake_rate)


def matching(repeat: int) -> dict:
    from raytrack.families.tracking.matching import tracking_metrics

    rng = np.random.default_rng(0)
    n = 100_000
    pid = rng.integers(0, 10_000, n)
    label = np.where(rng.random(n) < 0.9, pid, rng.integers(0, 10_000, n))
    pt = (rng.random(10_000) * 3)[pid]
    ours_s, ours = best_of(repeat, lambda: tracking_metrics(pid, label, pt=pt, pt_min=1.0))
    ref_s, (efficiency, fake_rate) = best_of(repeat, lambda: pandas_matching(pid, label, pt))
    assert abs(ours.efficiency - efficiency) < 1e-12 and abs(ours.fake_rate - fake_rate) < 1e-12
    return {"hits": n, "raytrack_s": ours_s, "pandas_groupby_s": ref_s, "ratio": ours_s / ref_s}


def graph(repeat: int) -> dict:
    from raytrack.families.exatrkx.geometric_graph import TRACKML_LAYER_PAIRS, build_edges
    from raytrack.families.tracking.sim_settings import SimulationSettings
    from raytrack.families.tracking.simulate import simulate_events
    from tests.families.exatrkx.test_geometric_graph import brute_force  # the tests' reference

    events = list(simulate_events(3, seed=5, settings=SimulationSettings(rfactor=0.005)))
    cuts = {"phi_slope_max": 0.0008, "z0_max": 250.0}

    ours_s, ours = best_of(
        repeat, lambda: [build_edges(e, TRACKML_LAYER_PAIRS, **cuts) for e in events]
    )
    ref_s, ref = best_of(1, lambda: [brute_force(e, TRACKML_LAYER_PAIRS, **cuts) for e in events])
    for edges, expected in zip(ours, ref):
        assert {tuple(e) for e in edges.T.tolist()} == expected
    hits = sum(e.num_hits for e in events)
    return {"events": len(events), "hits_per_event": hits / len(events), "raytrack_s": ours_s,
            "brute_force_s": ref_s, "ratio": ours_s / ref_s}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "matching": matching(args.repeat),
        "graph": graph(args.repeat),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=1) + "\n")
    for name, row in (
        ("track matching, 100k hits", record["matching"]),
        ("geometric graph, 3 events", record["graph"]),
    ):
        print(f"{name}: raytrack {row['raytrack_s'] * 1000:.1f} ms, reference "
              f"{(row.get('pandas_groupby_s') or row.get('brute_force_s')) * 1000:.1f} ms, ratio {row['ratio']:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
