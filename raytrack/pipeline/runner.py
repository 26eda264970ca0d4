"""``raytrack pipeline FILE``: sweep each stage, pass its best model's output on, evaluate.

A pipeline file names stage experiments in order (e.g. a graph builder, an edge filter, a
GNN; ``pipelines/`` holds the shipped ones)::

    name: my_pipeline
    stages:
      - search_spaces/stage1.yaml
      - search_spaces/stage2.yaml
      - search_spaces/stage3.yaml
    split: [0.6, 0.2, 0.2]
    evaluate:
      evaluator: tracks        # default: the last stage's model's first evaluator
      samples: test            # test, val or all
      settings: {method: walkthrough, pt_min: 1.0, min_hits: 5}

For every stage: its sweep runs (``raytrack tune``), then its best checkpoint turns every sample
of the stage's store into the next stage's input store (``raytrack infer``), under
``<storage>/<pipeline>-<timestamp>/stores/``. The first stage reads (or builds) its own
``data.store``; later stages read the previous stage's output, with the first stage's split, so
test samples stay unseen by every stage. At the end the last stage's best model is judged by the
evaluator on the ``samples`` of the split, against the first store's complete samples. ``pipeline.json``
records every stage's sweep, best value, checkpoint and output store, and the evaluation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from raytrack.config import experiment_to_dict, load_experiment, validate_experiment
from raytrack.config.schema import Experiment
from raytrack.data.build import open_store, resolve_path, splits_of


class EvaluateSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evaluator: str | None = None
    """Default: the first evaluator the last stage's model declares."""
    samples: Literal["test", "val", "all"] = "test"
    """Which samples of the first stage's split are judged."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """The evaluator's settings (validated against its settings model before any stage runs)."""


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    stages: list[str] = Field(min_length=1)
    """Experiment files, relative to the pipeline file."""
    chain: Literal["store", "weights"] = "store"
    """How stages hand on: ``store``, each later stage trains on the previous stage's output store
    (``raytrack infer``: embedding → filter → GNN); ``weights``, each stage trains on its own data
    and a stage whose ``train.init_from`` is ``previous`` starts from the previous stage's best
    checkpoint (progressive transfer learning, e.g. over rising pile-up)."""
    evaluate: EvaluateSection | None = Field(default_factory=EvaluateSection)
    """How the last stage is judged; null to skip."""
    split: tuple[float, float, float] | None = None
    """Train/val/test fractions for every stage (default: the first stage's ``data.split``)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the first stage's ``data`` section (``store``, ``generate``, ...): the same
    stage files on other samples, e.g. events at a higher pile-up."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Dataset options set for every stage (e.g. ``pt_background_cut``), so that the stages
    select the same inputs; each stage file's own ``data.options`` fill in the rest."""
    storage: str | None = None
    """Default: the first stage's ``storage``."""
    device: str = "auto"
    """Torch device of the driver's ``infer`` and evaluation between stages: ``auto`` takes
    ``cuda`` when the driver sees a GPU, else ``cpu``; or e.g. ``cuda:1``."""

    @model_validator(mode="before")
    @classmethod
    def _earlier_layout(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("tracks" in data or isinstance(data.get("evaluate"), str)):
            raise ValueError(
                "pipeline files name their evaluation in one section now: replace "
                "`evaluate: test` and `tracks: {...}` with `evaluate: {evaluator: tracks, samples: "
                "test, settings: {...}}`"
            )
        return data


def driver_device(device: str) -> str:
    """``auto`` → ``cuda`` if this process sees a GPU, else ``cpu``; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_pipeline(path: str | Path) -> tuple[PipelineSpec, list[Experiment]]:
    """The pipeline file and its stage experiments, all validated before anything runs."""
    from raytrack.pipeline.evaluate import evaluator_for

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
                    "data": {
                        **experiment_to_dict(e)["data"],
                        "options": {**e.data.options, **spec.options},
                    },
                },
                source=f"{path} (options) + {stage}",
            )
            for e, stage in zip(experiments, spec.stages)
        ]
    if spec.split is not None:
        first = experiments[0]
        data = first.data.model_validate({**first.data.model_dump(), "split": spec.split})
        experiments[0] = first.model_copy(update={"data": data})
    if spec.evaluate is not None:
        last = experiments[-1]
        evaluator = evaluator_for(last.model.name, last.plugins, spec.evaluate.evaluator)
        evaluator.settings_model().model_validate(spec.evaluate.settings)
        spec = spec.model_copy(
            update={"evaluate": spec.evaluate.model_copy(update={"evaluator": evaluator.name})}
        )
    return spec, experiments


def _stage_experiment(
    spec: PipelineSpec,
    experiment: Experiment,
    first: Experiment,
    previous: tuple[Path, str | None],
    root: Path,
    index: int,
) -> Experiment:
    """Stage ``index`` as it runs in the pipeline: its storage, its data, where it starts from."""
    input_store, checkpoint = previous
    train = experiment.train
    if train.init_from == "previous":
        if checkpoint is None:
            raise ValueError(
                f"stage {index + 1}: train.init_from: previous, but it is the first stage"
            )
        train = train.model_copy(update={"init_from": checkpoint})
    update: dict[str, Any] = {"storage": str(root), "train": train}
    if index > 0 and spec.chain == "store":
        update["data"] = experiment.data.model_copy(
            update={
                "store": str(input_store),
                "source": None,
                "generate": None,
                "split": first.data.split,
                "split_seed": first.data.split_seed,
                "max_events": first.data.max_events,
            }
        )
    return experiment.model_copy(update=update)


def run_pipeline(path: str | Path, *, address: str | None = None, verbose: int = 1) -> dict:
    from raytrack.pipeline.evaluate import evaluate_checkpoint
    from raytrack.pipeline.infer import infer_store
    from raytrack.tune.tuner import run_sweep

    spec, experiments = load_pipeline(path)
    device = driver_device(spec.device)
    first = experiments[0]
    root = (
        resolve_path(spec.storage or first.storage)
        / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    root.mkdir(parents=True)
    store = open_store(first)  # built here if the first stage asks for it
    record: dict[str, Any] = {"pipeline": spec.model_dump(), "directory": str(root), "stages": []}
    input_store = Path(store.path)
    checkpoint: str | None = None
    for index, experiment in enumerate(experiments):
        experiment = _stage_experiment(
            spec, experiment, first, (input_store, checkpoint), root, index
        )
        if spec.chain == "weights":
            store = open_store(experiment)  # each stage its own data; the last one is evaluated
            input_store = Path(store.path)
        name = f"{index + 1}-{experiment.name}"
        sweep, summary = run_sweep(experiment, name=name, address=address, verbose=verbose)
        if summary.best_checkpoint is None:
            raise RuntimeError(f"stage {name}: no trial finished an epoch; see {sweep.path}")
        checkpoint = summary.best_checkpoint
        stage: dict[str, Any] = {
            "stage": name,
            "sweep": str(sweep.path),
            "metric": experiment.tune.metric,
            "best_value": summary.best_value,
            "checkpoint": checkpoint,
        }
        if index + 1 < len(experiments) and spec.chain == "store":
            output = infer_store(checkpoint, input_store, root / "stores" / name, device=device)
            stage["output_store"] = str(output.path)
            stage["output_counts"] = output.counts
            stage["inference_settings"] = output.provenance.get("inference_settings", [])
            input_store = Path(output.path)
        record["stages"].append(stage)
        print(
            f"raytrack pipeline: stage {name} best {experiment.tune.metric} = {summary.best_value:.4g}"
        )
    if spec.evaluate is not None and checkpoint is not None:
        # chain store: every stage shares the first stage's split; weights: the last stage's own
        data = first.data if spec.chain == "store" else experiments[-1].data
        splits = splits_of(data, store)
        ids = None if spec.evaluate.samples == "all" else getattr(splits, spec.evaluate.samples)
        if ids == []:
            raise ValueError(
                f"evaluate.samples: {spec.evaluate.samples} but the split gives it none"
            )
        name, evaluation = evaluate_checkpoint(
            checkpoint,
            input_store,
            evaluator=spec.evaluate.evaluator,
            settings=spec.evaluate.settings,
            ids=ids,
            reference=store.path if spec.chain == "store" else None,  # the complete samples
            device=device,
        )
        evaluation.write(root, prefix=name)
        record["evaluation"] = {
            "evaluator": name,
            "samples": spec.evaluate.samples,
            "summary": evaluation.summary,
        }
    (root / "pipeline.json").write_text(json.dumps(record, indent=1, default=str))
    return record
