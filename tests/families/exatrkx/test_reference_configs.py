"""The shipped Exa.TrkX spaces hold the reference's settings, and say where they deviate.

Reference values transcribed from HSF Tracking-ML-Exa.TrkX, Pipelines/TrackML_Example/
LightningModules/{Embedding,Filter,GNN}/train_quickstart_*.yaml and their base classes
(``configure_optimizers``: AdamW with amsgrad and torch's default weight decay 0.01, StepLR with
step_size = patience and gamma = factor; ``optimizer_step``: linear warmup per epoch for the
embedding and the GNN, per global step for the filter), in raytrack's names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from raytrack.config import load_experiment
from raytrack.train.schedules import LearningRateSchedule

ROOT = Path(__file__).resolve().parents[3]
ADAMW = {"train.optimizer.name": "adamw", "train.optimizer.amsgrad": True,
         "train.optimizer.weight_decay": 0.01}  # fmt: skip

EMBEDDING = {
    **ADAMW,
    "data.options.true_edges": "modulewise", "data.options.noise": False,
    "data.options.pt_signal_cut": 1.0, "data.options.pt_background_cut": 1.0,
    "model.hparams.spatial_channels": 3, "model.hparams.cell_channels": 8,
    "model.hparams.regime": ["rp", "ci", "hnm", "norm"], "model.hparams.emb_hidden": 1024,
    "model.hparams.nb_layer": 4, "model.hparams.emb_dim": 12, "model.hparams.activation": "Tanh",
    "model.hparams.weight": 2, "model.hparams.randomisation": 2,
    "model.hparams.points_per_batch": 100000, "model.hparams.r_train": 0.1,
    "model.hparams.r_val": 0.1, "model.hparams.r_test": 0.1, "model.hparams.knn": 100,
    "model.hparams.knn_val": 150, "model.hparams.knn_test": 1000, "model.hparams.margin": 0.1,
    "train.optimizer.lr": 0.0001, "train.warmup": 3, "train.warmup_interval": "epoch",
    "train.scheduler.name": "step", "train.scheduler.patience": 10, "train.scheduler.factor": 0.3,
    "train.max_epochs": 30,
}  # fmt: skip
FILTER = {
    **ADAMW,
    "data.options.true_edges": "modulewise", "data.options.noise": False,
    "data.options.pt_signal_cut": 0.0, "data.options.pt_background_cut": 0.0,
    "model.hparams.in_channels": 12, "model.hparams.hidden": 512, "model.hparams.nb_layer": 3,
    "model.hparams.emb_channels": 0, "model.hparams.layernorm": True,
    "model.hparams.batchnorm": False, "model.hparams.hidden_activation": "Tanh",
    "model.hparams.ratio": 2, "model.hparams.weight": 1, "model.hparams.filter_cut": 0.15,
    "model.hparams.regime": ["weighting", "ci"],
    "train.optimizer.lr": 0.01, "train.warmup": 400, "train.warmup_interval": "step",
    "train.scheduler.name": "step", "train.scheduler.patience": 8, "train.scheduler.factor": 0.3,
    "train.max_epochs": 100,
}  # fmt: skip
GNN = {
    **ADAMW,
    "data.options.noise": False,
    "data.options.pt_signal_cut": 1.0, "data.options.pt_background_cut": 1.0,
    "model.hparams.spatial_channels": 3, "model.hparams.cell_channels": 8,
    "model.hparams.hidden": 128, "model.hparams.n_graph_iters": 8,
    "model.hparams.nb_node_layer": 3, "model.hparams.nb_edge_layer": 3,
    "model.hparams.layernorm": True, "model.hparams.aggregation": "sum_max",
    "model.hparams.hidden_activation": "ReLU", "model.hparams.weight": 2,
    "model.hparams.edge_cut": 0.5, "model.hparams.regime": ["pid"],
    "train.optimizer.lr": 0.001, "train.warmup": 200, "train.warmup_interval": "epoch",
    "train.max_epochs": 30,
}  # fmt: skip
SPACES = {
    "exatrkx_embedding.yaml": (EMBEDDING, {"cell_channels", "regime", "r_test"}),
    "exatrkx_filter.yaml": (FILTER, {"in_channels", "regime"}),
    "exatrkx_gnn.yaml": (GNN, {"cell_channels"}),
    "exatrkx_gnn_filtered.yaml": (GNN, {"cell_channels"}),
}
"""file → (the reference's values, the settings its header lists as deviations)."""


def value_at(experiment, dotted: str):
    value = experiment.model_dump(mode="json")
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def header(path: Path) -> str:
    text = path.read_text()
    return text[: text.index("\nname: ")]


@pytest.mark.parametrize("name", sorted(SPACES))
def test_the_space_holds_the_reference_values_or_lists_the_deviation(name):
    path = ROOT / "search_spaces" / name
    experiment = load_experiment(path)
    reference, deviations = SPACES[name]
    comment = header(path)
    assert "Deviations:" in comment and "this file" in comment  # the table
    for key, expected in reference.items():
        setting = key.rsplit(".", 1)[1]
        if setting in deviations:
            assert setting in comment, f"{name}: deviation of {setting} not listed"
        else:
            assert value_at(experiment, key) == expected, f"{name}: {key}"


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_reference_value_lies_in_the_search(name):
    experiment = load_experiment(ROOT / "search_spaces" / name)
    reference, _ = SPACES[name]
    for key, param in experiment.search.items():
        full = (
            key if "." in key and key.split(".")[0] in ("train", "data") else f"model.hparams.{key}"
        )
        # the reference's value; the file's own where it deviates (regime without ci) or has none
        wanted = value_at(experiment, full)
        if full in reference and not full.endswith("regime"):
            wanted = reference[full]
        if param.choices is not None:
            assert wanted in param.choices, f"{name}: {key} {wanted} not in {param.choices}"
        elif param.low is not None:
            assert param.low <= wanted <= param.high, f"{name}: {key} {wanted}"


def epoch_rates(path: Path) -> list[float]:
    """The rate of each epoch's first and last step under the file's train section."""
    train = load_experiment(path).train
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=train.optimizer.lr)
    schedule = LearningRateSchedule(optimizer, lr=train.optimizer.lr, warmup=train.warmup,
                                    warmup_interval=train.warmup_interval,
                                    scheduler=train.scheduler, length=train.max_epochs)  # fmt: skip
    seen = []
    for _ in range(train.max_epochs):
        first = schedule.lr
        for _ in range(5):
            schedule.step()
        seen.append((first, schedule.lr))
        schedule.end_epoch(None)
    return seen


def test_the_embedding_rate_is_the_reference_epoch_warmup_then_steplr():
    seen = epoch_rates(ROOT / "search_spaces/exatrkx_embedding.yaml")
    expected = [1e-4 * min(1.0, (e + 1) / 3) * 0.3 ** (e // 10) for e in range(30)]
    assert seen == [pytest.approx((r, r)) for r in expected]


@pytest.mark.parametrize("name", ["exatrkx_gnn.yaml", "exatrkx_gnn_filtered.yaml"])
def test_the_gnn_rate_is_the_reference_warmup_that_outlasts_the_run(name):
    # GNNBase sets lr * (current_epoch + 1) / 200 in every step of its 30 epochs (StepLR overwritten)
    seen = epoch_rates(ROOT / "search_spaces" / name)
    assert seen == [pytest.approx((1e-3 * (e + 1) / 200,) * 2) for e in range(30)]


def test_the_pipeline_chains_the_reference_spaces_and_their_track_evaluation():
    spec = yaml.safe_load((ROOT / "pipelines/exatrkx.yaml").read_text())
    assert [Path(s).name for s in spec["stages"]] == [
        "exatrkx_embedding.yaml", "exatrkx_filter.yaml", "exatrkx_gnn_filtered.yaml"
    ]  # fmt: skip
    assert spec["evaluate"]["settings"] == {"method": "cc", "edge_cut": 0.5, "pt_min": 1.0,
                                            "min_hits": 3, "matching_style": "ATLAS"}  # fmt: skip


@pytest.mark.parametrize(
    "path", sorted((ROOT / "search_spaces").glob("exatrkx_*smoke*.yaml"))
    + sorted((ROOT / "pipelines").glob("exatrkx_smoke*.yaml")), ids=lambda p: p.name,
)  # fmt: skip
def test_smoke_files_say_they_are_not_the_reference(path):
    assert "Not the reference's configuration" in header(path)
