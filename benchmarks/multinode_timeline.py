"""Slot utilisation of a finished sweep, from what Ray Tune already wrote in its trial directories.

Each trial's ``result.json`` (one JSON line per reported epoch, written by the driver) gives its
running time as Tune counts it (``time_total_s`` of the last line: from the trainable's start to
its last report). The trial appends each epoch to raytrack's ``epochs.jsonl`` right before
reporting it, so that file's modification time is the trial's last report (to the millisecond;
Tune's ``timestamp`` is whole seconds, used when the file is missing). A trial occupied its slot
over ``[end - time_total_s, end]``. Start-up of a trial actor and the driver's scheduling between
trials are not in these intervals: they count as idle.

Utilisation = busy slot-seconds / (slots × wall time from the first trial start to the last trial
end), over the whole sweep and per fixed-width time bin.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrialSpan:
    trial: str
    start: float
    end: float
    results: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


def trial_spans(sweep_dir: Path) -> list[TrialSpan]:
    """Every trial of the sweep that reported at least once, earliest start first."""
    spans = []
    for result_file in sorted(Path(sweep_dir).glob("trial_*/result.json")):
        lines = [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]
        if not lines:
            continue
        last = lines[-1]
        epoch_log = result_file.parent / "epochs.jsonl"
        end = epoch_log.stat().st_mtime if epoch_log.is_file() else float(last["timestamp"])
        spans.append(
            TrialSpan(result_file.parent.name, end - last["time_total_s"], end, len(lines))
        )
    return sorted(spans, key=lambda span: span.start)


def overlap(span: TrialSpan, low: float, high: float) -> float:
    return max(0.0, min(span.end, high) - max(span.start, low))


def utilisation(spans: list[TrialSpan], slots: int, bin_s: float = 10.0) -> dict:
    """Busy fraction of ``slots`` from the first start to the last end, in all and per bin."""
    if not spans:
        raise ValueError("no trial reported a result: nothing to measure")
    first = min(span.start for span in spans)
    last = max(span.end for span in spans)
    wall = last - first
    busy = sum(span.seconds for span in spans)
    bins = []
    for index in range(math.ceil(wall / bin_s)):
        low, high = first + index * bin_s, min(first + (index + 1) * bin_s, last)
        used = sum(overlap(span, low, high) for span in spans)
        bins.append(round(used / (slots * (high - low)), 4))
    # FIFO on identical slots: the k-th trial after the first wave takes the slot the k-th end
    # freed; the time between is the hand-over (driver, searcher, actor reuse or start).
    ends = sorted(span.end for span in spans)
    gaps = sorted(later.start - freed for later, freed in zip(spans[slots:], ends, strict=False))
    most = max(sum(1 for s in spans if s.start <= t < s.end) for t in [s.start for s in spans])
    return {
        "trials": len(spans),
        "slots": slots,
        "wall_s": round(wall, 2),
        "busy_slot_s": round(busy, 2),
        "utilisation": round(busy / (slots * wall), 4),
        "bin_s": bin_s,
        "utilisation_per_bin": bins,
        "last_bin_s": round(wall - (len(bins) - 1) * bin_s, 2),
        "most_trials_at_once": most,
        "trial_s_mean": round(busy / len(spans), 2),
        "first_wave_trial_s_mean": round(
            sum(s.seconds for s in spans[:slots]) / min(slots, len(spans)), 2
        ),
        "later_trial_s_mean": round(
            sum(s.seconds for s in spans[slots:]) / max(1, len(spans) - slots), 2
        ),
        "handover_s_median": round(gaps[len(gaps) // 2], 3) if gaps else None,
        "results_per_trial_mean": round(sum(s.results for s in spans) / len(spans), 2),
        "results_per_s": round(sum(s.results for s in spans) / wall, 2),
    }


def checkpoint_bytes(sweep_dir: Path) -> dict:
    """Sizes of the checkpoints left in the sweep's trial directories (the pruner deletes some)."""
    sizes = [
        sum(f.stat().st_size for f in checkpoint.rglob("*") if f.is_file())
        for checkpoint in Path(sweep_dir).glob("trial_*/checkpoint_*")
        if checkpoint.is_dir()
    ]
    if not sizes:
        return {"checkpoints_kept": 0}
    return {"checkpoints_kept": len(sizes), "checkpoint_bytes_mean": round(sum(sizes) / len(sizes))}
