"""The detector simulation beside the real TrackML event: hits, layers, cells, pT.

Reads the real event in ``../shared/data/trackml`` (a 5% particle-wise subsample of a TrackML
event: all hits of 548 particles and 15% noise) and simulates events with ``realism: trackml`` at
a pile-up of similar size (``rfactor`` 0.042: about 420 primaries and 130 secondaries, as the
real event's 548 particles), plus the same events with ``realism: basic`` for reference. For each
it reports, simulation beside real:

- hits per particle (quantiles over the particle table, particles without hits included) and the
  fraction of a particle's layers that hold two or more of its hits (module overlaps, loopers);
- hits per layer in each volume (mean over the volume's layers, per event) and each volume's share
  of all hits; the noise fraction;
- cell features per volume: ``cell_count`` and ``cell_val`` quantiles;
- particle pT quantiles and the share of particles produced more than 10 mm from the beam line.

Run: ``python benchmarks/simulation_vs_real.py [--quick]`` (``--quick``: 3 simulated events, else
10); writes ``benchmarks/results/simulation_vs_real[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.result_files import machine, write_result  # noqa: E402
from raytrack.families.tracking.simulate import (  # noqa: E402
    SimulationSettings,
    simulate_events,
)
from raytrack.families.tracking.trackml import read_trackml_event  # noqa: E402

REAL_DIR = ROOT.parent / "shared" / "data" / "trackml"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
VOLUMES = (7, 8, 9, 12, 13, 14, 16, 17, 18)
RFACTOR = 0.042
SEED = 2026


def _q(values) -> list[float]:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return [round(float(v), 4) for v in np.quantile(values, QUANTILES)] if values.size else []


def statistics(events: list) -> dict:
    """The compared distributions of a list of events (pooled)."""
    hits = pd.concat(
        [pd.DataFrame(dict(e.hits)).assign(event=e.event_id) for e in events], ignore_index=True
    )
    parts = pd.concat([pd.DataFrame(dict(e.particles)) for e in events], ignore_index=True)
    signal = hits[hits["particle_id"] != 0]
    per_layer = signal.groupby(["event", "particle_id", "volume_id", "layer_id"]).size()
    layers = hits.groupby(["event", "volume_id", "layer_id"]).size()
    n_events = len(events)
    out = {
        "events": n_events,
        "hits_per_event": round(len(hits) / n_events, 1),
        "particles_per_event": round(len(parts) / n_events, 1),
        "noise_fraction": round(float((hits["particle_id"] == 0).mean()), 4),
        "hits_per_particle": _q(parts["nhits"]),
        "hits_per_particle_mean": round(float(parts["nhits"].mean()), 3),
        "particle_layers_with_2_or_more_hits": round(float((per_layer > 1).mean()), 4),
        "pt": _q(parts["pt"]),
        "displaced_fraction": round(float((np.hypot(parts["vx"], parts["vy"]) > 10).mean()), 4),
        "volumes": {},
    }
    for v in VOLUMES:
        in_v = hits[hits["volume_id"] == v]
        n_layers = int(layers.loc[:, v].index.get_level_values(-1).nunique()) if len(in_v) else 0
        row = {
            "hit_share": round(len(in_v) / len(hits), 4),
            "hits_per_layer": round(len(in_v) / max(n_layers, 1) / n_events, 1),
        }
        if "cell_count" in hits:
            row["cell_count"] = _q(in_v["cell_count"])
            row["cell_val"] = _q(in_v["cell_val"])
        out["volumes"][str(v)] = row
    return out


def _fmt(q: list[float]) -> str:
    return " / ".join(f"{x:g}" for x in q) if q else "–"


def markdown(result: dict) -> str:
    real, sim, basic = result["real"], result["trackml"], result["basic"]
    lines = [
        "# Simulation beside the real TrackML event",
        "",
        f"Command: `{result['command']}`. Simulated: {sim['events']} events, seed {SEED}, "
        f"rfactor {RFACTOR}, `realism: trackml` (and `basic` for reference). Quantiles are "
        "5% / 25% / 50% / 75% / 95%.",
        "",
        "| quantity | real event | simulation (trackml) | simulation (basic) |",
        "|---|---|---|---|",
    ]
    for key, name in (
        ("hits_per_event", "hits per event"),
        ("particles_per_event", "particles per event"),
        ("noise_fraction", "noise fraction"),
        ("hits_per_particle_mean", "hits per particle, mean"),
        ("particle_layers_with_2_or_more_hits", "particle layers with >= 2 hits"),
        ("displaced_fraction", "particles from > 10 mm off the beam line"),
    ):
        lines.append(f"| {name} | {real[key]} | {sim[key]} | {basic[key]} |")
    for key, name in (("hits_per_particle", "hits per particle"), ("pt", "particle pT (GeV)")):
        lines.append(f"| {name} | {_fmt(real[key])} | {_fmt(sim[key])} | {_fmt(basic[key])} |")
    lines += [
        "",
        "Per volume (hits per layer per event; share of all hits; cell features, real vs "
        "trackml simulation):",
        "",
        "| volume | hits/layer real | sim | basic | share real | sim | "
        "cell_count real | sim | cell_val real | sim |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in map(str, VOLUMES):
        r, s, b = real["volumes"][v], sim["volumes"][v], basic["volumes"][v]
        lines.append(
            f"| {v} | {r['hits_per_layer']} | {s['hits_per_layer']} | {b['hits_per_layer']} | "
            f"{r['hit_share']} | {s['hit_share']} | {_fmt(r['cell_count'])} | "
            f"{_fmt(s['cell_count'])} | {_fmt(r['cell_val'])} | {_fmt(s['cell_val'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 simulated events instead of 10")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    n_events = 3 if args.quick else 10
    start = time.perf_counter()
    real = read_trackml_event(REAL_DIR, "event000000001")
    result = {
        "command": "python benchmarks/simulation_vs_real.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "seed": SEED,
        "rfactor": RFACTOR,
        "real_event": str(REAL_DIR / "event000000001"),
        "real": statistics([real]),
    }
    for realism in ("trackml", "basic"):
        settings = SimulationSettings(realism=realism, rfactor=RFACTOR)
        result[realism] = statistics(list(simulate_events(n_events, SEED, settings)))
        result[f"{realism}_settings"] = settings.model_dump(mode="json")
    result["wall_s"] = round(time.perf_counter() - start, 1)
    stem = "simulation_vs_real_quick" if args.quick else "simulation_vs_real"
    write_result(args.out, stem, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
