"""Two Ray Train workers (gloo): a two-optimizer task averages its gradients itself and keeps
both workers' parameters equal over uneven shards; a single-optimizer task's DDP wrapper is
rebuilt when a stage freezes a submodule; every worker's random generators are in the merged
checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from raytrack.config.schema import Experiment
from raytrack.train.session import WorkerSession
from tests.train.tiny_regression import make_rows
from tests.train.tiny_tasks import gan_rows

pytestmark = [pytest.mark.ray, pytest.mark.slow]


class RecordingSession(WorkerSession):
    """A worker session that saves this worker's parameters (and how many training rows it
    had) with every report."""

    def __init__(self, out: str) -> None:
        super().__init__(lambda shard, epoch: shard.iter_rows())
        self.out = Path(out)
        self.model: torch.nn.Module | None = None
        self.train_rows = 0

    def rows(self, split: str, epoch: int):
        for row in super().rows(split, epoch):
            self.train_rows += split == "train"
            yield row

    def wrap_model(
        self, model: torch.nn.Module, find_unused_parameters: bool = False
    ) -> torch.nn.Module:
        self.model = super().wrap_model(model, find_unused_parameters)
        return self.model

    def place_model(self, model: torch.nn.Module) -> torch.nn.Module:
        self.model = super().place_model(model)
        return self.model

    def report(self, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
        module = getattr(self.model, "module", self.model)
        state = {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}
        state["train_rows"] = torch.tensor(self.train_rows)
        self.train_rows = 0
        torch.save(state, self.out / f"rank{self.rank}_epoch{metrics['epoch']}.pt")
        super().report(metrics, checkpoint_dir)


def worker_loop(config: dict[str, Any]) -> None:
    import tests.train.tiny_tasks  # noqa: F401  (registers the tiny models in this worker)
    from raytrack.train.loop import run_training

    run_training(Experiment.model_validate(config["experiment"]), RecordingSession(config["out"]))


def fit(tmp_path: Path, name: str, experiment: dict, rows: dict[str, list]) -> tuple[Any, Path]:
    import ray.data
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer

    from raytrack.store.stream import shard_data_config

    out = tmp_path / f"{name}-params"
    out.mkdir()
    trainer = TorchTrainer(
        train_loop_per_worker=worker_loop,
        train_loop_config={
            "experiment": Experiment.model_validate(experiment).model_dump(mode="json"),
            "out": str(out),
        },
        torch_config=TorchConfig(backend="gloo"),
        scaling_config=ray.train.ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        datasets={
            split: ray.data.from_items(items, override_num_blocks=len(items))
            for split, items in rows.items()
        },
        dataset_config=shard_data_config(),
        run_config=ray.train.RunConfig(name=name, storage_path=str(tmp_path / "ray")),
    )
    return trainer.fit(), out


def params(out: Path, rank: int, epoch: int) -> dict[str, torch.Tensor]:
    return torch.load(out / f"rank{rank}_epoch{epoch}.pt", weights_only=True)


@pytest.mark.timeout(600)
def test_two_optimizers_keep_both_workers_equal_and_every_worker_checkpoints_its_generators(
    ray_session, tmp_path
):
    experiment = {
        "name": "ddp-gan",
        "model": {"name": "tiny_gan"},
        "data": {"store": "unused"},
        "train": {"max_epochs": 2, "batch_size": 1, "workers": 2, "cpus_per_worker": 0.5,
                  "optimizers": {"generator": {"lr": 0.05}, "discriminator": {"name": "sgd", "lr": 0.1}}},
        "tune": {"metric": "val_loss"},
    }  # fmt: skip
    # 5 training rows of one item per step: the workers take 3 and 2 steps (or so) per epoch
    result, out = fit(
        tmp_path, "gan", experiment, {"train": gan_rows(5, seed=1), "val": gan_rows(4, seed=2)}
    )

    assert result.error is None
    assert result.metrics["epoch"] == 2 and result.metrics["train_items"] == 5
    for epoch in (1, 2):
        zero, one = params(out, 0, epoch), params(out, 1, epoch)
        assert int(zero["train_rows"]) + int(one["train_rows"]) == 5  # so one worker had more steps
        assert all(torch.equal(zero[key], one[key]) for key in zero if key != "train_rows"), (
            f"workers differ after epoch {epoch}"
        )
    assert not torch.equal(
        params(out, 0, 1)["generator.weight"], params(out, 0, 2)["generator.weight"]
    )
    files = {path.name for path in Path(result.checkpoint.path).iterdir()}
    assert {"state.pt", "experiment.yaml", "rng_rank0.pt", "rng_rank1.pt"} <= files


@pytest.mark.timeout(600)
def test_a_stage_that_freezes_a_submodule_rewraps_the_ddp_model(ray_session, tmp_path):
    experiment = {
        "name": "ddp-stages",
        "model": {"name": "tiny_staged"},
        "data": {"store": "unused"},
        "train": {"batch_size": 2, "workers": 2, "cpus_per_worker": 0.5, "optimizer": {"lr": 0.05},
                  "stages": [{"epochs": 1, "freeze": ["encoder"], "loss_weights": {"l1": 0.0}}, {"epochs": 1}]},
        "tune": {"metric": "val_loss"},
    }  # fmt: skip
    result, out = fit(
        tmp_path, "stages", experiment, {"train": make_rows(9, seed=1), "val": make_rows(4, seed=2)}
    )

    assert (
        result.error is None and result.metrics["stage"] == 1 and result.metrics["train_items"] == 9
    )
    for epoch in (1, 2):
        zero, one = params(out, 0, epoch), params(out, 1, epoch)
        assert all(torch.equal(zero[key], one[key]) for key in zero if key != "train_rows"), (
            f"workers differ after epoch {epoch}"
        )
    from raytrack.registry import get_model
    from raytrack.train.rng import seed_everything

    seed_everything(0)  # as the loop does before it builds the model: its initial weights
    initial, _ = get_model("tiny_staged").build({})
    assert torch.equal(
        params(out, 0, 1)["encoder.weight"], initial.encoder.weight.detach()
    )  # frozen
    assert not torch.equal(params(out, 0, 1)["head.weight"], initial.head.weight.detach())
    assert not torch.equal(params(out, 0, 2)["encoder.weight"], initial.encoder.weight.detach())
