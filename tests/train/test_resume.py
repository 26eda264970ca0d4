"""Exact resume: a trial killed after epoch k and resumed reports what the uninterrupted one
reports, to the last bit, although its task draws random numbers in ``prepare`` and in
``training_step`` (checkpoints hold the random generators' states)."""

from __future__ import annotations

import pytest
import torch

from raytrack.config.schema import Experiment
from raytrack.train.checkpoint import load_checkpoint, load_rng, rng_file
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from tests.train.helpers import DyingSession, Killed, untimed
from tests.train.tiny_regression import make_rows
from tests.train.tiny_tasks import gan_rows

ROWS = {
    "tiny_noisy": {"train": make_rows(40, seed=1), "val": make_rows(16, seed=2)},
    "tiny_gan": {"train": gan_rows(64, seed=1), "val": gan_rows(16, seed=2)},
}
TRAIN = {
    "tiny_noisy": {"batch_size": 8, "optimizer": {"name": "adamw", "lr": 0.05}, "warmup": 7,
                   "scheduler": {"name": "warmcos", "min_lr": 0.001}},
    "tiny_gan": {"batch_size": 16, "optimizers": {"generator": {"lr": 0.05}, "discriminator": {"name": "sgd", "lr": 0.05}},
                 "stages": [{"epochs": 3, "loss_weights": {"generator": 0.5}}, {"epochs": 2, "lr": 0.02}]},
}  # fmt: skip


def experiment(model: str, max_epochs: int = 5) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "resume-test",
            "model": {"name": model},
            "data": {"store": "unused"},
            "train": {"max_epochs": max_epochs, "seed": 3, **TRAIN[model]},
            "tune": {"metric": "val_loss"},
        }
    )


@pytest.mark.parametrize("model", ["tiny_noisy", "tiny_gan"])
def test_a_killed_and_resumed_trial_reports_exactly_what_an_uninterrupted_one_does(tmp_path, model):
    def source(split: str, epoch: int):
        return iter(ROWS[model][split])

    straight = LocalSession(source, tmp_path / "straight")
    run_training(experiment(model), straight)

    dying = DyingSession(source, tmp_path / "resumed", die_after=2)
    with pytest.raises(Killed):
        run_training(experiment(model), dying)
    resumed = LocalSession(source, tmp_path / "resumed")
    run_training(experiment(model), resumed)

    assert [r["epoch"] for r in resumed.reports] == [3, 4, 5]
    assert untimed(dying.reports + resumed.reports) == untimed(straight.reports)  # ==, not approx
    final = [load_checkpoint(s.checkpoints[-1])["model"] for s in (straight, resumed)]
    assert all(torch.equal(final[0][key], final[1][key]) for key in final[0])


def test_without_the_generators_states_a_resume_draws_differently(tmp_path):
    """The check above is not vacuous: dropping the saved states changes the resumed run."""

    def source(split: str, epoch: int):
        return iter(ROWS["tiny_noisy"][split])

    straight = LocalSession(source, tmp_path / "straight")
    run_training(experiment("tiny_noisy"), straight)
    dying = DyingSession(source, tmp_path / "resumed", die_after=2)
    with pytest.raises(Killed):
        run_training(experiment("tiny_noisy"), dying)
    (dying.checkpoints[-1] / rng_file(0)).unlink()
    resumed = LocalSession(source, tmp_path / "resumed")
    with pytest.warns(UserWarning, match="draws other random numbers"):
        run_training(experiment("tiny_noisy"), resumed)
    assert resumed.reports[0]["train_loss"] != straight.reports[2]["train_loss"]


def test_a_checkpoint_loads_without_running_code(tmp_path):
    session = LocalSession(lambda split, epoch: iter(ROWS["tiny_noisy"][split]), tmp_path)
    run_training(experiment("tiny_noisy"), session)
    directory = session.checkpoints[-1]
    state = torch.load(directory / "state.pt", weights_only=True)  # raises on anything but data
    assert state["epoch"] == 5 and set(state["optimizers"]) == {"model"}
    rng = load_rng(directory, 0)
    assert set(rng) == {"python", "numpy", "torch", "cuda"}


def test_a_checkpoint_written_before_the_optimizer_tables_still_loads(tmp_path):
    """``experiment.yaml`` then held every optimizer and scheduler setting, applicable or not,
    and ``state.pt`` one optimizer and one schedule."""
    import yaml

    from raytrack.train.checkpoint import EXPERIMENT_FILE, STATE_FILE, load_model

    session = LocalSession(lambda split, epoch: iter(ROWS["tiny_noisy"][split]), tmp_path)
    run_training(experiment("tiny_noisy", max_epochs=1), session)
    directory = session.checkpoints[-1]
    raw = yaml.safe_load((directory / EXPERIMENT_FILE).read_text())
    raw["train"]["optimizer"] = {"name": "adamw", "lr": 0.05, "weight_decay": 0.0, "momentum": 0.0,
                                 "betas": [0.9, 0.999], "amsgrad": False}  # fmt: skip
    raw["train"]["scheduler"] = {"name": "none", "patience": 10, "factor": 0.3, "min_lr": 0.0}
    (directory / EXPERIMENT_FILE).write_text(yaml.safe_dump(raw))
    state = torch.load(directory / STATE_FILE, weights_only=True)
    old = {key: state[key] for key in ("model", "epoch", "metrics")}
    old.update(optimizer=state["optimizers"]["model"], schedule=state["schedules"]["model"])
    torch.save(old, directory / STATE_FILE)

    model, _, loaded = load_model(directory)
    assert loaded.train.optimizer.arguments == {
        "lr": 0.05,
        "weight_decay": 0.0,
        "betas": (0.9, 0.999),
        "amsgrad": False,
    }
    assert loaded.train.scheduler.patience is None
    assert set(load_checkpoint(directory)["optimizers"]) == {"model"}
