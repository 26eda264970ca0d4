"""``raytrack pipeline FILE``: sweep each stage, pass its best model's graphs on, build tracks.

A pipeline file names stage experiments in order (for Exa.TrkX: embedding, filter, GNN)::

    name: exatrkx_smoke
    stages:
      - search_spaces/exatrkx_embedding_smoke.yaml
      - search_spaces/exatrkx_filter_smoke.yaml
      - search_spaces/exatrkx_gnn_smoke.yaml
    split: [0.6, 0.2, 0.2]
    tracks: {method: walkthrough, pt_min: 1.0, min_hits: 5}
    evaluate: test

For every stage: its sweep runs (``raytrack tune``), then its best checkpoint turns every event
of the stage's store into the next stage's input store (``raytrack infer``), under
``<storage>/<pipeline>-<timestamp>/stores/``. The first stage reads (or simulates) its own
``data.store``; later stages read the previous stage's output, with the first stage's event
split, so test events stay unseen by every stage. At the end the last stage's best model builds
tracks on the ``evaluate`` events (``raytrack tracks``). ``pipeline.json`` records every stage's
sweep, best value, checkpoint and output store, and the track metrics.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from raytrack.config import experiment_to_dict, load_experiment, validate_experiment
from raytrack.config.schema import Experiment
from raytrack.tune.data import event_splits, open_event_store, resolve_path
from raytrack.families.tracking.track_settings import TrackSettings


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    stages: list[str] = Field(min_length=1)
    """Experiment files, relative to the pipeline file."""
    tracks: TrackSettings | None = Field(default_factory=TrackSettings)
    """Build and evaluate tracks with the last stage (a GNN); null to skip."""
    evaluate: Literal["test", "val", "all"] = "test"
    split: tuple[float, float, float] | None = None
    """Train/val/test fractions for every stage (default: the first stage's ``data.split``)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the first stage's ``data`` section (``store``, ``generate``, ...): the same
    stage files on other events, e.g. at a higher pile-up."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Dataset options set for every stage (e.g. ``pt_background_cut``), so that the stages
    select the same hits; each stage file's own ``data.options`` fill in the rest."""
    storage: str | None = None
    """Default: the first stage's ``storage``."""
    device: str = "auto"
    """Torch device of the driver's ``infer`` and track building between stages: ``auto`` takes
    ``cuda`` when the driver sees a GPU, else ``cpu``; or e.g. ``cuda:1``."""


def driver_device(device: str) -> str:
    """``auto`` → ``cuda`` if this process sees a GPU, else ``cpu``; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_pipeline(path: str | Path) -> tuple[PipelineSpec, list[Experiment]]:
    """The pipeline file and its stage experiments, all validated before anything runs."""
    path = Path(path)
    spec = PipelineSpec.model_validate(yaml.safe_load(path.read_text()))
    experiments = [load_experiment(path.parent / stage) for stage in spec.stages]
    if spec.data:
        raw = experiment_to_dict(experiments[0])
        raw["data"] = {**raw["data"], **spec.data}
        experiments[0] = validate_experiment(raw, source=f"{path} (data) + {spec.stages[0]}")
    if spec.options:
        experiments = [
            validate_experiment(
                {
                    **experiment_to_dict(e),
                    "data": {**experiment_to_dict(e)["data"], "options": {**e.data.options, **spec.options}},
                },
                source=f"{path} (options) + {stage}",
            )
            for e, stage in zip(experiments, spec.stages)
        ]
    if spec.split is not None:
        first = experiments[0]
        data = first.data.model_validate({**first.data.model_dump(), "split": spec.split})
        experiments[0] = first.model_copy(update={"data": data})
    return spec, experiments


def run_pipeline(path: str | Path, *, address: str | None = None, verbose: int = 1) -> dict:
    from raytrack.pipeline.infer import infer_store
    from raytrack.families.tracking.tracks import evaluate_tracks, write_evaluation
    from raytrack.tune.tuner import run_sweep

    spec, experiments = load_pipeline(path)
    device = driver_device(spec.device)
    first = experiments[0]
    root = resolve_path(spec.storage or first.storage) / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    root.mkdir(parents=True)
    store = open_event_store(first.data)  # simulated here if the first stage asks for it
    record: dict = {"pipeline": spec.model_dump(), "directory": str(root), "stages": []}
    input_store = Path(store.path)
    checkpoint = None
    for index, experiment in enumerate(experiments):
        if index > 0:  # later stages read the previous stage's output with the first stage's split
            data = experiment.data.model_copy(
                update={
                    "store": str(input_store),
                    "generate": None,
                    "split": first.data.split,
                    "split_seed": first.data.split_seed,
                    "max_events": first.data.max_events,
                }
            )
            experiment = experiment.model_copy(update={"data": data, "storage": str(root)})
        else:
            experiment = experiment.model_copy(update={"storage": str(root)})
        name = f"{index + 1}-{experiment.name}"
        sweep, summary = run_sweep(experiment, name=name, address=address, verbose=verbose)
        if summary.best_checkpoint is None:
            raise RuntimeError(f"stage {name}: no trial finished an epoch; see {sweep.path}")
        checkpoint = summary.best_checkpoint
        stage = {
            "stage": name,
            "sweep": str(sweep.path),
            "metric": experiment.tune.metric,
            "best_value": summary.best_value,
            "checkpoint": checkpoint,
        }
        if index + 1 < len(experiments):
            output = infer_store(checkpoint, input_store, root / "stores" / name, device=device)
            stage["output_store"] = str(output.path)
            stage["output_edges_per_event"] = output.metadata["counts"]["edges"] / max(len(output), 1)
            input_store = Path(output.path)
        record["stages"].append(stage)
        print(f"raytrack pipeline: stage {name} best {experiment.tune.metric} = {summary.best_value:.4g}")
    if spec.tracks is not None and checkpoint is not None:
        splits = event_splits(first.data, store)  # every stage shares the first stage's split
        ids = None if spec.evaluate == "all" else getattr(splits, spec.evaluate)
        if ids == []:
            raise ValueError(f"evaluate: {spec.evaluate} but the split gives it no events")
        evaluation = evaluate_tracks(
            checkpoint,
            input_store,
            spec.tracks,
            event_ids=ids,
            truth_store=store.path,  # judged on the complete events, every hit and particle
            device=device,
        )
        write_evaluation(evaluation, root)
        record["tracks"] = evaluation.summary()
    (root / "pipeline.json").write_text(json.dumps(record, indent=1, default=str))
    return record
