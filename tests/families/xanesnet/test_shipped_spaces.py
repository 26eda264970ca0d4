"""Every shipped xanesnet experiment file validates and trains one epoch on the real Fe store,
with the first value of each searched setting (the platform's 'run every shipped config')."""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.config import apply_trial_config, load_experiment
from raytrack.data.build import splits_of
from raytrack.store.sample_store import SampleStore
from raytrack.tasks.base import TaskContext
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "search_spaces").glob("xanesnet*.yaml"))


def first_values(experiment) -> dict:
    values = {}
    for key, param in experiment.search.items():
        listed = param.choices if param.choices is not None else param.grid
        values[key] = listed[0] if listed is not None else param.low
    return values


def test_every_mode_has_a_shipped_space():
    models = {load_experiment(path).model.name for path in SHIPPED}
    assert models == {"mlp", "cnn", "lstm", "ae_mlp", "ae_cnn", "aegan_mlp"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_space_trains_one_epoch_on_the_fe_store(path, fe_stores, tmp_path):
    experiment = load_experiment(path)
    experiment = apply_trial_config(experiment, first_values(experiment))
    data = experiment.data.model_copy(update={"store": str(fe_stores["train"]), "generate": None})
    train = experiment.train.model_copy(update={"max_epochs": 1})
    experiment = experiment.model_copy(update={"data": data, "train": train})
    store = SampleStore(fe_stores["train"])
    splits = splits_of(experiment.data, store).as_dict()
    session = LocalSession(
        store_row_source(str(store.path), splits), tmp_path,
        context=TaskContext(str(store.path), splits, str(tmp_path / "artifacts")),
    )  # fmt: skip
    metrics = run_training(experiment, session)
    assert metrics["train_items"] == len(splits["train"])
    assert experiment.tune.metric in metrics
