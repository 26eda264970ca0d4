"""The markdown tables of ``benchmarks/sweep_overhead.py``: part 1, part 2 and the whole report.

Every figure is a spread over repeats (best / median / max, NaNs left out) and every comparison a
same-run ratio: path (ii) against each other part-1 path, raytrack against bare Optuna.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from sweep_overhead_experiments import SWEEP_CONCURRENCY

BREAKDOWN = [
    ("to_actor_ready_s", "previous trial done → actor ready (`on_trial_start`)"),
    ("ready_to_fn_s", "actor ready → trial function entered"),
    ("fn_to_fit_s", "trial function → `TorchTrainer.fit()` called (datasets built)"),
    ("fit_to_worker_process_s", "`fit()` → first Train worker process exists"),
    (
        "fit_to_all_workers_in_loop_s",
        "`fit()` → both workers in the train function (worker group start)",
    ),
    ("fn_to_loop_s", "trial function → `run_training` entered (rank 0)"),
    ("get_model_s", "  of the setup: `get_model` (family import)"),
    ("model_build_s", "  of the setup: model build"),
    ("optimizer_build_s", "  of the setup: optimizer build"),
    ("loop_setup_s", "`run_training` entered → epoch 1 starts"),
    ("first_read_s", "first data read (inside epoch 1: rows() → first row)"),
    ("first_epoch_excess_s", "epoch 1 − median later epoch (inside the epochs)"),
    ("epochs_s", "Σ `epoch_time_s` (training + validation)"),
    ("checkpoint_save_s", "Σ checkpoint save (rank 0)"),
    ("report_s", "Σ report call (`tune.report` / `ray.train.report`, rank 0)"),
    ("driver_sees_report_after_s", "report returned → driver's `on_trial_result` (mean per epoch)"),
    ("loop_exit_to_fit_return_s", "loop exit → `fit()` returns (worker group shutdown)"),
    ("end_s", "last report returned → driver sees the trial complete"),
    ("other_s", "rest of the slot (between epochs, scheduler, tempdirs)"),
]


def spread(values: list[float]) -> dict[str, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "best": min(values),
        "median": statistics.median(values),
        "max": max(values),
    }


def fmt(stats: dict[str, float], key: str = "median") -> str:
    return f"{stats[key]:.2f}" if stats.get("n") else "–"


def triple(stats: dict[str, float]) -> str:
    return (
        f"{stats['best']:.2f} / {stats['median']:.2f} / {stats['max']:.2f}"
        if stats.get("n")
        else "–"
    )


def overhead_tables(overhead: dict[str, Any]) -> list[str]:
    labels, runs = overhead["labels"], overhead["runs"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key in labels:
        for run in runs.get(key, []):
            for trial in run.get("trials", []):
                if "failed" not in trial:
                    groups.setdefault(
                        (key, "first" if trial["index"] == 0 else "later"), []
                    ).append(trial)
    keys = [(k, g) for k in labels for g in ("first", "later") if (k, g) in groups]
    if not keys:
        return ["part 1: no run finished"]
    lines = [
        (
            "| path | trials | n | slot wall s (best / median / max) | Σ epoch_time_s (median) "
            "| overhead s (best / median / max) | overhead incl. first-epoch excess (median) "
            "| Tune time_total_s (median) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, group in keys:
        stat = {
            k: spread([t[k] for t in groups[(key, group)]])
            for k in ("slot_s", "epochs_s", "overhead_s", "overhead_steady_s", "tune_time_total_s")
        }
        lines.append(
            f"| {labels[key]} | {group} | {stat['slot_s']['n']} | {triple(stat['slot_s'])} "
            f"| {fmt(stat['epochs_s'])} | {triple(stat['overhead_s'])} "
            f"| {fmt(stat['overhead_steady_s'])} | {fmt(stat['tune_time_total_s'])} |"
        )
    failed = [
        (labels[k], r["repeat"], t["trial"], t["failed"])
        for k in labels
        for r in runs.get(k, [])
        for t in r.get("trials", [])
        if "failed" in t
    ]
    failed += [
        (labels[k], r["repeat"], "-", r.get("analysis_error") or f"exit {r['code']}")
        for k in labels
        for r in runs.get(k, [])
        if r["code"] != 0 or "analysis_error" in r
    ]
    if failed:
        lines += [
            "",
            "Left out (failed): "
            + "; ".join(f"{p} repeat {r + 1} trial {t}: {why}" for p, r, t, why in failed),
        ]
    lines += [
        "",
        "Breakdown, median seconds per trial:",
        "",
        "| part | " + " | ".join(f"{labels[k]}, {g}" for k, g in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for field, text in BREAKDOWN:
        cells = [fmt(spread([t.get(field, float("nan")) for t in groups[k]])) for k in keys]
        if any(c != "–" for c in cells):
            lines.append(f"| {text} | " + " | ".join(cells) + " |")
    done = [k for k in labels if any("driver" in r for r in runs.get(k, []))]
    lines += [
        "",
        "| sweep phase (driver process), median s | " + " | ".join(labels[k] for k in done) + " |",
        "|---|" + "---|" * len(done),
    ]
    for phase in next(r["driver"] for r in runs[done[0]] if "driver" in r) if done else {}:
        cells = [fmt(spread([r["driver"][phase] for r in runs[k] if "driver" in r])) for k in done]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines.append(
        "| process wall (spawn → exit) | "
        + " | ".join(fmt(spread([r["wall_s"] for r in runs[k] if r["code"] == 0])) for k in done)
        + " |"
    )

    def median(key: str, group: str, field: str) -> float | None:
        trials = groups.get((key, group))
        return statistics.median(t[field] for t in trials) if trials else None

    lines.append("\nSame-run ratios of medians, path (ii) against each other path:\n")
    for field, name in (("slot_s", "slot wall"), ("overhead_s", "overhead")):
        for group in ("first", "later"):
            base = median("w2", group, field)
            for key in labels:
                other = median(key, group, field)
                if key != "w2" and base and other:
                    lines.append(
                        f"- {group} trials, {name}: {labels['w2']} {base:.2f} s / {labels[key]} "
                        f"{other:.2f} s = {base / other:.2f}×"
                    )
    starts = [r.get("ray_processes", {}) for k in labels if k != "w1" for r in runs.get(k, [])]
    if starts and starts[0]:
        trial, processes = next(iter(starts[0].items()))
        lines += [
            "",
            f"Ray processes started by one DDP trial ({trial}), seconds after its `fit()` call: "
            + ", ".join(f"{title} {start:+.1f}" for title, start in processes),
        ]
    return lines


def sweep_table(sweeps: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        (
            "| sweep | runs ok | wall s (best / median / max) | epochs trained, per run "
            f"| Σ epoch_time_s (median) | wall − Σ epoch_time_s / {SWEEP_CONCURRENCY}, s (best / median / max) "
            "| CPU s, process tree (median) | CPU s, reaped rusage (median) | core utilisation (median) "
            "| trials completed / pruned / failed, per run | best val_auc, per run |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, runs in sweeps.items():
        ok = [r for r in runs if r["code"] == 0]
        counts = "; ".join(f"{r.get('completed')}/{r.get('pruned')}/{r.get('failed')}" for r in ok)
        best = ", ".join(f"{r['best']:.4f}" for r in ok if r.get("best") is not None)
        epochs = ", ".join(str(r.get("epochs", "?")) for r in ok)
        lines.append(
            f"| {method} | {len(ok)}/{len(runs)} | {triple(spread([r['wall_s'] for r in ok]))} | {epochs} "
            f"| {fmt(spread([r.get('epoch_time_s', float('nan')) for r in ok]))} "
            f"| {triple(spread([r.get('non_training_s', float('nan')) for r in ok]))} "
            f"| {fmt(spread([r['cpu_s'] for r in ok]))} | {fmt(spread([r['rusage_cpu_s'] for r in ok]))} "
            f"| {fmt(spread([r['utilisation'] for r in ok]))} | {counts} | {best} |"
        )
    pairs = [
        (a, b)
        for a, b in zip(sweeps["raytrack"], sweeps["optuna"])
        if a["code"] == 0 and b["code"] == 0
    ]
    lines.append("")
    for field, name in (
        ("wall_s", "wall time"),
        ("non_training_s", f"wall − Σ epoch_time_s / {SWEEP_CONCURRENCY}"),
        ("cpu_s", "CPU seconds (process tree)"),
    ):
        ratios = [a[field] / b[field] for a, b in pairs if field in a and field in b]
        if ratios:
            best = min(a[field] for a, _ in pairs) / min(b[field] for _, b in pairs)
            lines.append(
                f"- raytrack / bare Optuna, {name}: best-of-N {best:.2f}×; per repeat "
                + ", ".join(f"{r:.2f}×" for r in ratios)
            )
    return lines


def report(results: dict[str, Any]) -> str:
    lines = [
        f"Command: `{results['command']}` ({results['cores']} cores)",
        "",
        f"- load before: `{results['uptime_before']}`",
        f"- load between the parts: `{results.get('uptime_between')}`",
        f"- load after: `{results['uptime_after']}`",
        "",
    ]
    if results["overhead"]:
        lines += overhead_tables(results["overhead"]) + [""]
    if any(results["sweep"].values()):
        lines += sweep_table(results["sweep"])
    return "\n".join(lines)
