"""What a task prepares before training (``Task.setup``), keeps in checkpoints (``Task.state_dict``),
and where a run starts from (``train.init_from``: another run's weights, for transfer learning)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from raytrack.config.schema import Experiment
from raytrack.registry import register_model
from raytrack.tasks.base import TaskContext
from raytrack.train.checkpoint import load_checkpoint, load_model
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from tests.train.helpers import DyingSession, Killed
from tests.train.tiny_regression import RegressionTask, build_tiny_regression, make_rows

ROWS = {"train": make_rows(32, seed=1), "val": make_rows(16, seed=2)}


def source(split: str, epoch: int):
    return iter(ROWS[split])


class ScaledTask(RegressionTask):
    """Fits ``y / scale``, the scale measured on the training split in :meth:`setup` (as a
    family would fit a normalisation, or build a graph constructor, from its training samples)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = 1.0
        self.setups = 0

    def setup(self, context: TaskContext) -> None:
        self.setups += 1
        ys = torch.tensor(
            [float(r["y"]) for r in ROWS["train"] if r["event_id"] in context.splits["train"]]
        )
        self.scale = float(ys.abs().mean())
        Path(context.artifact_dir, "scale.json").write_text(json.dumps(self.scale))

    def state_dict(self) -> dict:
        return {"scale": self.scale}

    def load_state_dict(self, state) -> None:
        self.scale = float(state["scale"])

    def prepare(self, row):
        sample = super().prepare(row)
        return {**sample, "y": sample["y"] / self.scale}


register_model("tiny_scaled", family="tests", task=ScaledTask)(build_tiny_regression)


def experiment(model: str = "tiny_regression", **train) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "init-test",
            "model": {"name": model},
            "data": {"store": "unused"},
            "train": {"max_epochs": 3, "batch_size": 8, "optimizer": {"lr": 0.1}, **train},
            "tune": {"metric": "val_loss"},
        }
    )


def test_setup_sees_the_context_and_the_task_state_travels_with_checkpoints(tmp_path):
    splits = {"train": [r["event_id"] for r in ROWS["train"]], "val": []}
    context = TaskContext(splits=splits, artifact_dir=str(tmp_path))
    session = LocalSession(source, tmp_path / "run", context=context)
    run_training(experiment("tiny_scaled"), session)
    written = json.loads((tmp_path / "scale.json").read_text())
    assert written > 0.5 and load_checkpoint(session.checkpoints[-1])["task"] == {"scale": written}
    _, task, _ = load_model(session.checkpoints[-1])  # infer and evaluate get the task's state
    assert task.scale == written

    dying = DyingSession(source, tmp_path / "resumed", die_after=1, context=context)
    with pytest.raises(Killed):
        run_training(experiment("tiny_scaled"), dying)
    resumed = LocalSession(source, tmp_path / "resumed")  # no context: the state comes back
    run_training(experiment("tiny_scaled"), resumed)
    assert [r["epoch"] for r in resumed.reports] == [2, 3]
    assert resumed.reports[-1]["val_loss"] == session.reports[-1]["val_loss"]


def test_init_from_starts_from_another_runs_weights_not_its_optimizer(tmp_path):
    first = LocalSession(source, tmp_path / "first")
    run_training(experiment(), first)
    trained = load_checkpoint(first.checkpoints[-1])["model"]

    scratch, started = (
        LocalSession(source, tmp_path / "scratch"),
        LocalSession(source, tmp_path / "second"),
    )
    run_training(experiment(max_epochs=1, optimizer={"lr": 1e-12}), scratch)
    run_training(
        experiment(max_epochs=1, optimizer={"lr": 1e-12}, init_from=str(first.checkpoints[-1])),
        started,
    )
    after = load_checkpoint(started.checkpoints[-1])["model"]
    assert all(
        torch.allclose(after[k], trained[k]) for k in trained
    )  # lr ~0: still the first run's
    assert started.reports[0]["val_loss"] == pytest.approx(first.reports[-1]["val_loss"], rel=1e-6)
    assert started.reports[0]["val_loss"] < scratch.reports[0]["val_loss"] / 3

    sweep_dir = tmp_path / "sweep"  # a finished sweep stands for its best checkpoint
    shutil.copytree(first.checkpoints[-1], sweep_dir / "trial_0" / "checkpoint_000000")
    (sweep_dir / "best.json").write_text(
        json.dumps({"checkpoint": str(sweep_dir / "trial_0" / "checkpoint_000000")})
    )
    again = LocalSession(source, tmp_path / "again")
    run_training(experiment(max_epochs=1, optimizer={"lr": 1e-12}, init_from=str(sweep_dir)), again)
    assert again.reports[0]["val_loss"] == started.reports[0]["val_loss"]


def test_init_from_errors_name_the_setting(tmp_path):
    with pytest.raises(
        ValueError,
        match="train.init_from: previous names the best checkpoint of the previous stage",
    ):
        run_training(experiment(init_from="previous"), LocalSession(source, tmp_path / "a"))
    with pytest.raises(FileNotFoundError, match="neither a checkpoint directory"):
        run_training(experiment(init_from=str(tmp_path)), LocalSession(source, tmp_path / "b"))
    other = LocalSession(source, tmp_path / "other")
    run_training(
        Experiment.model_validate(
            {
                **experiment().model_dump(),
                "model": {"name": "tiny_regression", "hparams": {"in_features": 3}},
            }
        ),
        other,
    )
    wider = experiment(init_from=str(other.checkpoints[-1]))
    wider = wider.model_copy(
        update={"model": wider.model.model_copy(update={"hparams": {"in_features": 5}})}
    )
    with pytest.raises(ValueError, match="holds another model than this one"):
        run_training(wider, LocalSession(source, tmp_path / "c"))


def test_the_task_hears_each_epoch_start_across_stages(tmp_path):
    heard: list[tuple[int, int]] = []

    class Listening(RegressionTask):
        def start_epoch(self, epoch: int, max_epochs: int) -> None:
            heard.append((epoch, max_epochs))

    register_model("tiny_listening", family="tests", task=Listening)(build_tiny_regression)
    stages = [{"epochs": 2}, {"epochs": 2, "lr": 0.01}]
    session = LocalSession(source, tmp_path / "run")
    run_training(experiment("tiny_listening", max_epochs=4, stages=stages), session)
    assert heard == [(0, 4), (1, 4), (2, 4), (3, 4)]
