"""From the probes' JSON-lines events to per-trial figures, for ``benchmarks/sweep_overhead.py``.

Trials run back to back, so trial *k* occupies the slot from the end of trial *k-1* (for the
first: from the start of ``Tuner.fit``) to its own end as the driver sees it; overhead = slot -
sum of the loop's ``epoch_time_s``. :func:`trial_breakdowns` splits each slot into its parts,
:func:`driver_phases` times the sweep driver's phases, and :func:`ray_process_starts` lists the
Ray processes a DDP trial started after its ``fit()`` call.
"""

from __future__ import annotations

import functools
import statistics
from collections import defaultdict
from typing import Any


def _first_event(
    evs: list[dict[str, Any]], name: str, rank: int | None = 0, **match: Any
) -> dict[str, Any]:
    """The earliest event ``name`` (of ``rank``; any rank if None) whose fields match ``match``."""
    found = [
        e
        for e in evs
        if e["ev"] == name
        and (rank is None or e["rank"] == rank)
        and all(e.get(k) == v for k, v in match.items())
    ]
    return min(found, key=lambda e: e["t"]) if found else {}


def _total_duration(evs: list[dict[str, Any]], name: str) -> float:
    return sum(e["dur"] for e in evs if e["ev"] == name and e["rank"] == 0)


def trial_breakdowns(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trial, in completion order (trials ran one at a time): its slot and parts."""
    fit_start = min(e["t"] for e in events if e["ev"] == "fit_start")
    by_trial: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event.get("trial"):
            by_trial[event["trial"]].append(event)
    ends = {e["trial"]: e["t"] for e in events if e["ev"] in ("trial_complete", "trial_error")}
    rows, previous_end = [], fit_start
    for index, trial in enumerate(sorted(ends, key=ends.get)):
        evs = by_trial[trial]
        failed = {e["ev"] for e in evs} & {"trial_error", "trial_recover"}
        if failed or not any(
            e["ev"] == "trial_result" for e in evs
        ):  # no clean breakdown: count it only
            rows.append({"index": index, "trial": trial, "failed": sorted(failed) or ["no result"]})
            previous_end = ends[trial]
            continue

        first = functools.partial(_first_event, evs)
        total = functools.partial(_total_duration, evs)
        results = sorted(
            (e for e in evs if e["ev"] == "trial_result"), key=lambda e: e["training_iteration"]
        )
        epoch_times = [r["epoch_time_s"] for r in results]
        steady = statistics.median(epoch_times[1:]) if len(epoch_times) > 1 else epoch_times[0]
        fn, loop = first("fn_entry"), first("loop")
        first_read = first("first_row", split="train", epoch=0)
        slot = ends[trial] - previous_end
        row = {
            "index": index,
            "trial": trial,
            "epochs_run": len(results),
            "new_actor_process": fn["proc_start"] > previous_end - 0.5,
            "slot_s": slot,
            "epochs_s": sum(epoch_times),
            "overhead_s": slot - sum(epoch_times),
            "overhead_steady_s": slot - len(epoch_times) * steady,
            "first_epoch_excess_s": epoch_times[0] - steady,
            "tune_time_total_s": results[-1]["time_total_s"] if results else float("nan"),
            "to_actor_ready_s": first("trial_start", rank=None)["t"] - previous_end,
            "ready_to_fn_s": fn["t"] - first("trial_start", rank=None)["t"],
            "fn_to_loop_s": loop["start"] - fn["t"],
            "get_model_s": first("get_model")["dur"],
            "model_build_s": first("model_build")["dur"],
            "optimizer_build_s": first("optimizer_build")["dur"],
            "loop_setup_s": first_read["start"] - loop["start"],
            "first_read_s": first_read["dur"],
            "checkpoint_save_s": total("checkpoint_save"),
            "report_s": total("report"),
            "end_s": ends[trial] - (loop["start"] + loop["dur"]),
        }
        workers = [e for e in evs if e["ev"] == "worker_entry"]
        if workers:  # the DDP path: where the time from the trial function to the loop went
            fit = first("trainer_fit_start")
            row.update(
                {
                    "fn_to_fit_s": fit["t"] - fn["t"],
                    "fit_to_worker_process_s": min(e["proc_start"] for e in workers) - fit["t"],
                    "fit_to_all_workers_in_loop_s": max(e["t"] for e in workers) - fit["t"],
                    "worker_entry_to_loop_s": loop["start"] - first("worker_entry")["t"],
                    "loop_exit_to_fit_return_s": first("trainer_fit_end")["t"]
                    - (loop["start"] + loop["dur"]),
                }
            )
        reports = {
            e["epoch"]: e["start"] + e["dur"] for e in evs if e["ev"] == "report" and e["rank"] == 0
        }
        lags = [
            r["t"] - reports[r["training_iteration"]]
            for r in results
            if r["training_iteration"] in reports
        ]
        row["driver_sees_report_after_s"] = statistics.mean(lags) if lags else float("nan")
        parts = (
            "to_actor_ready_s",
            "ready_to_fn_s",
            "fn_to_loop_s",
            "loop_setup_s",
            "epochs_s",
            "checkpoint_save_s",
            "report_s",
            "end_s",
        )
        row["other_s"] = slot - sum(row[p] for p in parts)
        rows.append(row)
        previous_end = ends[trial]
    return rows


def driver_phases(events: list[dict[str, Any]]) -> dict[str, float]:
    one = {e["ev"]: e for e in events if not e.get("trial")}
    return {
        "driver_imports_s": one["driver_imported"]["t"] - one["driver_start"]["proc_start"],
        "prepare_sweep_s": one["prepare_sweep"]["dur"],
        "init_ray_s": one["init_ray"]["dur"],
        "build_tuner_s": one["build_tuner"]["dur"],
        "fit_s": one["fit_end"]["t"] - one["fit_start"]["t"],
        "fit_end_to_exit_s": one["driver_exit"]["t"] - one["fit_end"]["t"],
    }


def ray_process_starts(events: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Per DDP trial: the Ray processes started after its ``fit()`` call, seconds after it."""
    out = {}
    for fit in (e for e in events if e["ev"] == "trainer_fit_start"):
        seen: dict[float, str] = {}  # start → the latest title (a process starts as IDLE)
        for snapshot in (
            e for e in events if e["ev"] == "ray_processes" and e["trial"] == fit["trial"]
        ):
            for title, start in snapshot["processes"]:
                if start >= fit["t"] - 1.0 and (title.startswith("ray::") or start not in seen):
                    seen[round(start - fit["t"], 2)] = (
                        title.split()[0].split(".")[0].removeprefix("ray::")
                    )
        out[fit["trial"]] = sorted(
            ((title, start) for start, title in seen.items()), key=lambda item: item[1]
        )
    return out
