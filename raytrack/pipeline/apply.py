"""``raytrack apply PIPELINE_DIR STORE --out DIR``: run a trained pipeline on other samples.

The pipeline directory's ``pipeline.json`` names each stage's best checkpoint. Every stage but
the last writes its output for ``STORE``'s samples (``raytrack infer``), and the last one is
judged by the pipeline's evaluator against ``STORE``'s complete samples — e.g. the Exa.TrkX
pipeline trained on simulated events, applied to the real TrackML event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raytrack.family import Evaluation
from raytrack.pipeline.evaluate import evaluate_checkpoint
from raytrack.pipeline.infer import infer_store
from raytrack.store.sample_store import SampleStore


def pipeline_record(pipeline_dir: str | Path) -> dict[str, Any]:
    record_file = Path(pipeline_dir) / "pipeline.json"
    if not record_file.is_file():
        raise FileNotFoundError(
            f"{pipeline_dir} has no pipeline.json: give a `raytrack pipeline` run directory"
        )
    return json.loads(record_file.read_text())


def apply_pipeline(
    pipeline_dir: str | Path,
    store: str | Path,
    out: str | Path,
    *,
    settings: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> tuple[str, Evaluation]:
    """Infer every stage on ``store`` into ``out/stores``; evaluate the last; write to ``out``."""
    record = pipeline_record(pipeline_dir)
    evaluate = record["pipeline"].get("evaluate") or {}
    if settings is None:
        settings = evaluate.get("settings") or {}
    out = Path(out)
    source = Path(SampleStore(store).path)
    current = source
    for stage in record["stages"][:-1]:
        current = Path(
            infer_store(
                stage["checkpoint"], current, out / "stores" / stage["stage"], device=device
            ).path
        )
    name, evaluation = evaluate_checkpoint(
        record["stages"][-1]["checkpoint"], current, evaluator=evaluate.get("evaluator"),
        settings=settings, device=device, reference=source,
    )  # fmt: skip
    evaluation.write(out, prefix=name)
    return name, evaluation
