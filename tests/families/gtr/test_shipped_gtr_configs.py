"""Every shipped GTR experiment file validates and trains one epoch on a tiny store of its own
data source (4 clips: simulated, or cut from the real SLEAP video it names).

The platform's ``tests/test_shipped_configs.py`` trains every file on a store of simulated
TrackML hits, which a family whose rows are clips of detections cannot read; this is the same
check on the data each file is written for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from raytrack.config import apply_trial_config, load_experiment
from raytrack.data.build import build_store, settings_of, source_of
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from raytrack.tune.trainable import store_row_source
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "search_spaces").glob("gtr*.yaml"))
CLIPS = 4


def first_values(experiment) -> dict:
    """One concrete value per searched setting: the first choice/grid value or the low bound."""
    values = {}
    for key, param in experiment.search.items():
        listed = param.choices if param.choices is not None else param.grid
        values[key] = listed[0] if listed is not None else param.low
    return values


def tiny_store(experiment, shared_data: Path, path: Path) -> Path:
    """``CLIPS`` clips of the experiment's own source; a reader's files are taken from
    ``shared_data`` (the shipped files name them relative to the repository)."""
    source = source_of(experiment)
    settings = settings_of(source, experiment.data)
    if source.kind == "simulator":
        build_store(source, path, settings, count=CLIPS, seed=0)
        return path
    pytest.importorskip("sleap_io")
    pytest.importorskip("av")
    update = {"n_chunks": CLIPS}
    for key in ("slp_files", "video_files"):
        if getattr(settings, key, None):
            update[key] = [
                str(shared_data / "sleap" / Path(f).name) for f in getattr(settings, key)
            ]
    settings = settings.model_validate({**settings.model_dump(), **update})
    build_store(source, path, settings)
    return path


def test_every_gtr_experiment_file_is_shipped() -> None:
    assert {p.name for p in SHIPPED} >= {"gtr_smoke.yaml", "gtr_flies.yaml", "gtr_zfish.yaml"}


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
@pytest.mark.timeout(300)
def test_shipped_gtr_experiment_trains_one_epoch(path, shared_data, tmp_path) -> None:
    experiment = load_experiment(path)
    experiment = apply_trial_config(experiment, first_values(experiment))
    store = tiny_store(experiment, shared_data, tmp_path / "store")
    data = experiment.data.model_copy(
        update={"store": str(store), "generate": None, "split": (0.5, 0.5, 0.0)}
    )
    train = experiment.train.model_copy(
        update={"max_epochs": 1, "workers": 1, "gpus_per_worker": 0.0}
    )
    experiment = experiment.model_copy(update={"data": data, "train": train})
    splits = {"train": [0, 1], "val": [2, 3]}
    session = LocalSession(store_row_source(str(store), splits), tmp_path / "run")
    metrics = run_training(experiment, session)
    assert metrics["train_items"] == 2
    assert experiment.tune.metric in metrics
    assert metrics["train_loss"] > 0
