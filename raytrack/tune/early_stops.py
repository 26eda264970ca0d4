"""Which trials ASHA stopped early, kept on disk so that a trial cut short otherwise (Ctrl-C,
a time budget, a driver that died) is told apart from one the scheduler judged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ray.tune.schedulers import ASHAScheduler, TrialScheduler

STOPS_FILE = "early_stops.json"


def early_stopped(sweep_dir: str | Path) -> set[str]:
    """The ids of the trials the scheduler stopped (including at their last epoch)."""
    try:
        return set(json.loads(Path(sweep_dir, STOPS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return set()


class RecordingASHA(ASHAScheduler):
    """Ray Tune's ASHA, writing the id of each trial it stops to ``early_stops.json``."""

    def __init__(self, sweep_dir: str | Path, **kwargs: Any):
        super().__init__(**kwargs)
        self.sweep_dir = str(sweep_dir)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)
        if decision == TrialScheduler.STOP:
            stopped = early_stopped(self.sweep_dir)
            if trial.trial_id not in stopped:
                path = Path(self.sweep_dir, STOPS_FILE)
                temporary = path.with_name(f".{STOPS_FILE}.{os.getpid()}")
                temporary.write_text(json.dumps(sorted(stopped | {trial.trial_id})))
                os.replace(temporary, path)
        return decision
