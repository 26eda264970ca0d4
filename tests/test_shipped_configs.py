"""Every shipped experiment file validates and trains one epoch on a tiny real store;
the README's example validates (gnn_tracking's 'run every shipped config' discipline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.config import apply_trial_config, load_experiment, validate_experiment
from raytrack.tasks.base import TaskContext
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "search_spaces").glob("*.yaml")) + sorted(
    (ROOT / "tests").glob("**/files/smoke.yaml")
)


@pytest.fixture(scope="module")
def tiny_store(simulated_store) -> Path:
    """4 simulated events with a stored candidate graph, so stages that read a previous stage's
    graph (filter, GNN with input_graph: stored) train too; the others ignore it."""
    return simulated_store(4, seed=1, graph=True)


def first_values(experiment) -> dict:
    """One concrete value per searched setting: the first choice/grid value or the low bound."""
    values = {}
    for key, param in experiment.search.items():
        listed = param.choices if param.choices is not None else param.grid
        values[key] = listed[0] if listed is not None else param.low
    return values


def store_for(experiment, tiny_store: Path, path: Path) -> Path:
    """The shared tracking store for a model that reads it (unless the experiment's simulator
    writes cell features, which it lacks); else 4 samples of the experiment's own simulator. A reader's real files are its family's own tests' business."""
    from raytrack.data.build import build_store, settings_of, source_of
    from raytrack.registry import get_model
    from raytrack.store.sample_store import SampleStore

    sources = get_model(experiment.model.name, experiment.plugins).spec.sources
    source = source_of(experiment)
    # a simulator asked for cell features writes columns the tiny store lacks: its own 4 events
    writes_cells = source is not None and getattr(
        settings_of(source, experiment.data), "cells", False
    )
    # (a stage with no source of its own reads the previous stage's graphs: the tiny store's)
    if source is None or (SampleStore(tiny_store).source in sources and not writes_cells):
        return tiny_store
    if source.kind != "simulator":
        pytest.skip(f"{source.name} reads real files: its family's tests train this file")
    build_store(source, path, settings_of(source, experiment.data), count=4, seed=0)
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
@pytest.mark.timeout(300)
def test_shipped_experiment_trains_one_epoch(path, tiny_store, tmp_path):
    experiment = apply_trial_config(load_experiment(path), first_values(load_experiment(path)))
    store = store_for(experiment, tiny_store, tmp_path / "store")
    data = experiment.data.model_copy(
        update={"store": str(store), "generate": None, "split": (0.5, 0.5, 0.0)}
    )
    train = experiment.train.model_copy(
        update={"max_epochs": 1, "workers": 1, "gpus_per_worker": 0.0}
    )
    experiment = experiment.model_copy(update={"data": data, "train": train})
    splits = {"train": [0, 1], "val": [2, 3]}
    # as in a sweep: a task may prepare itself in setup (e.g. fit a graph constructor)
    context = TaskContext(str(store), splits, artifact_dir=str(tmp_path / "artifacts"))
    session = LocalSession(store_row_source(str(store), splits), tmp_path / "run", context=context)
    metrics = run_training(experiment, session)
    assert metrics["train_items"] == 2
    assert experiment.tune.metric in metrics


def test_readme_example_validates():
    text = (ROOT / "README.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    import yaml

    validate_experiment(yaml.safe_load(block), source="README.md")


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipeline_and_its_stages_validate(path):
    from raytrack.pipeline.runner import load_pipeline

    spec, experiments = load_pipeline(path)
    assert len(experiments) == len(spec.stages) >= 2
    if spec.options:  # pipeline options reach every stage
        assert all(spec.options.items() <= dict(e.data.options).items() for e in experiments)
