"""Fixtures of the xanesnet tests: the real Fe K-edge stores, built once per session, and a
local training run (the one loop without Ray)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FE_SIZES = {"n_descriptor": 49, "n_points": 226}
"""The default wACSF (1 + 16 + 32 features) and the Fe files' own 226-point grid."""


def build(destination: Path, **settings) -> Path:
    """An ``xyz_xanes`` store at ``destination`` from ``settings`` (the reader's)."""
    from raytrack.data.build import build_store
    from raytrack.registry import get_source

    source = get_source("xyz_xanes")
    build_store(source, destination, source.settings_model().model_validate(settings))
    return destination


@pytest.fixture(scope="session")
def fe_dir(shared_data) -> Path:
    return shared_data / "xanes" / "fe"


@pytest.fixture(scope="session")
def fe_stores(fe_dir, tmp_path_factory) -> dict[str, Path]:
    """``{"train": ..., "test": ...}``: the Fe training set (99 pairs; the one spectrum without a
    structure dropped) and the 10 held-out test structures, with the default settings."""
    root = tmp_path_factory.mktemp("fe-stores")
    return {
        part: build(
            root / part,
            path=str(fe_dir),
            xyz_path=f"xyz_{part}",
            xanes_path=f"xanes_{part}",
            unpaired="drop",
        )  # fmt: skip
        for part in ("train", "test")
    }


@pytest.fixture(scope="session")
def tiny_fe_store(fe_dir, tmp_path_factory) -> Path:
    """The Fe training set with a small wACSF (9 features) on a 24-point grid: fast models."""
    return build(
        tmp_path_factory.mktemp("fe-tiny") / "store", path=str(fe_dir), xyz_path="xyz_train",
        xanes_path="xanes_train", unpaired="drop", e_min=7100.0, e_max=7160.0, n_points=24,
        descriptor={"type": "wacsf", "params": {"n_g2": 4, "n_g4": 4}},
    )  # fmt: skip


@pytest.fixture(scope="session")
def tiny_fe_test_store(fe_dir, tmp_path_factory) -> Path:
    """The 10 held-out Fe test structures, built like :func:`tiny_fe_store`."""
    return build(
        tmp_path_factory.mktemp("fe-tiny-test") / "store", path=str(fe_dir), xyz_path="xyz_test",
        xanes_path="xanes_test", e_min=7100.0, e_max=7160.0, n_points=24,
        descriptor={"type": "wacsf", "params": {"n_g2": 4, "n_g4": 4}},
    )  # fmt: skip


TINY_SIZES = {"n_descriptor": 9, "n_points": 24}


def train_locally(store: Path, model: str, hparams: dict, directory: Path, *, epochs: int = 1,
                  split=(0.8, 0.2, 0.0), options: dict | None = None, **train) -> tuple:  # fmt: skip
    """Train ``model`` on ``store`` with the one loop and no Ray; ``(metrics, session)``."""
    from raytrack.config import validate_experiment
    from raytrack.data.build import splits_of
    from raytrack.store.sample_store import SampleStore
    from raytrack.tasks.base import TaskContext
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    experiment = validate_experiment({
        "name": "xanesnet-test",
        "model": {"name": model, "hparams": hparams},
        "data": {"store": str(store), "split": list(split), "options": options or {}},
        "train": {"max_epochs": epochs, "batch_size": 16, "seed": 3, **train},
        "tune": {"metric": "val_mse", "mode": "min"},
    }, source="test")  # fmt: skip
    opened = SampleStore(store)
    splits = splits_of(experiment.data, opened).as_dict()
    shutil.rmtree(directory, ignore_errors=True)
    session = LocalSession(
        store_row_source(str(opened.path), splits), directory,
        context=TaskContext(str(opened.path), splits, str(directory / "artifacts")),
    )  # fmt: skip
    return run_training(experiment, session), session
