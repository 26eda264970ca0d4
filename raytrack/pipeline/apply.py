"""``raytrack apply PIPELINE_DIR STORE``: run a trained pipeline on other events.

The pipeline directory's ``pipeline.json`` names each stage's best checkpoint. Every stage but
the last writes its output graphs for ``STORE``'s events (``raytrack infer``), and the last
one (the GNN) builds tracks that are evaluated against ``STORE``'s complete events — e.g. the
pipeline trained on simulated events, applied to the real TrackML event.
"""

from __future__ import annotations

import json
from pathlib import Path

from raytrack.store.reader import EventStore
from raytrack.pipeline.infer import infer_store
from raytrack.families.tracking.track_settings import TrackSettings
from raytrack.families.tracking.tracks import TrackEvaluation, evaluate_tracks, write_evaluation


def apply_pipeline(
    pipeline_dir: str | Path,
    store: str | Path,
    out: str | Path,
    *,
    settings: TrackSettings | None = None,
    device: str = "cpu",
) -> TrackEvaluation:
    pipeline_dir, out = Path(pipeline_dir), Path(out)
    record_file = pipeline_dir / "pipeline.json"
    if not record_file.is_file():
        raise FileNotFoundError(f"{pipeline_dir} has no pipeline.json: give a `raytrack pipeline` run directory")
    record = json.loads(record_file.read_text())
    stages = record["stages"]
    if settings is None:
        settings = TrackSettings(**(record["pipeline"].get("tracks") or {}))
    source = Path(EventStore(store).path)
    current = source
    for stage in stages[:-1]:
        current = Path(infer_store(stage["checkpoint"], current, out / "stores" / stage["stage"], device=device).path)
    evaluation = evaluate_tracks(stages[-1]["checkpoint"], current, settings, device=device, truth_store=source)
    write_evaluation(evaluation, out)
    return evaluation
