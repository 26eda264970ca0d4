"""The ``ci`` regime trains on simulated events: the simulation writes cells as TrackML does."""

from __future__ import annotations

import numpy as np
import torch

from raytrack.config.schema import Experiment
from raytrack.families.tracking.event import CELL_COLUMNS
from raytrack.families.tracking.sim_settings import SimulationSettings
from raytrack.families.tracking.simulate import simulate_events
from raytrack.registry import get_model
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession

SETTINGS = SimulationSettings(realism="trackml", rfactor=0.004)


def test_embedding_with_ci_trains_one_epoch_on_simulated_events(tmp_path):
    events = list(simulate_events(4, seed=31, settings=SETTINGS))
    assert all(set(CELL_COLUMNS) <= set(e.hits) for e in events)
    rows = {"train": [e.to_row() for e in events[:3]], "val": [events[3].to_row()]}
    experiment = Experiment.model_validate(
        {
            "name": "ci-on-simulation",
            "model": {
                "name": "exatrkx_embedding",
                "hparams": {
                    "emb_hidden": 16,
                    "nb_layer": 2,
                    "emb_dim": 4,
                    "cell_channels": 9,
                    "r_train": 0.2,
                    "knn": 10,
                    "regime": ["ci", "rp", "hnm", "norm"],
                },
            },
            "data": {"store": "unused", "options": {"pt_signal_cut": 0.0}},
            "train": {"max_epochs": 1, "batch_size": 1, "seed": 3},
            "tune": {"metric": "val_signal_efficiency", "mode": "max"},
        }
    )
    model, task = get_model("exatrkx_embedding").build(
        experiment.model.hparams, experiment.data.options
    )
    x = task.prepare(rows["train"][0])["x"]
    assert x.shape[1] == 9 + 3 and np.all(np.isfinite(x))
    assert np.std(x[:, 0]) > 0 and np.std(x[:, 1]) > 0  # cell_count, cell_val vary
    # the cell features reach the loss: the first layer's cell columns get a gradient
    torch.manual_seed(0)
    loss = task.training_step(model, task.collate([task.prepare(rows["train"][0])]))
    loss.backward()
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert first.weight.shape[1] == 12 and first.weight.grad[:, :9].abs().sum() > 0
    session = LocalSession(lambda split, epoch: iter(rows[split]), tmp_path)
    run_training(experiment, session)
    assert len(session.reports) == 1 and np.isfinite(session.reports[0]["train_loss"])
