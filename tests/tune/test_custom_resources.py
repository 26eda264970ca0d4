"""``train.resources_per_worker``: Ray custom resources reserved by every worker of a trial."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from raytrack.config.schema import TrainSection
from raytrack.tune.resources import (
    default_concurrency,
    placement_problem,
    trial_footprint,
    trial_resources,
    worker_resources,
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_single_worker_trial_reserves_its_custom_resources_itself():
    from ray.tune.execution.placement_groups import resource_dict_to_pg_factory

    train = TrainSection(cpus_per_worker=1, resources_per_worker={"accel": 1, "unused": 0})
    assert trial_resources(train) == {"cpu": 1, "accel": 1}
    # Tune turns the request into one bundle of the trial's placement group
    bundle = resource_dict_to_pg_factory(trial_resources(train)).bundles[0]
    assert bundle["accel"] == 1 and bundle["CPU"] == 1


def test_a_ddp_trial_asks_each_worker_for_them_and_its_driver_for_none():
    train = TrainSection(workers=3, cpus_per_worker=0.5, gpus_per_worker=1,
                         resources_per_worker={"accel": 2})  # fmt: skip
    assert "accel" not in trial_resources(train)
    assert worker_resources(train) == {"CPU": 0.5, "GPU": 1, "accel": 2}
    assert trial_footprint(train)["accel"] == 6


def test_the_cluster_custom_resources_bound_concurrency_and_placement():
    train = TrainSection(cpus_per_worker=1, resources_per_worker={"accel": 1})
    assert default_concurrency(train, {"CPU": 16, "accel": 4}) == 4
    assert placement_problem(train, {"CPU": 16, "accel": 4}) is None
    problem = placement_problem(train, {"CPU": 16, "GPU": 0})
    assert "train.resources_per_worker.accel=1" in problem and "0 'accel'" in problem


@pytest.mark.parametrize(
    ("resources", "fragment"),
    [
        ({"accel": -1}, "accel=-1"),
        ({"CPU": 1}, "train.cpus_per_worker"),
        ({"gpu": 1}, "train.gpus_per_worker"),
        ({"accel": "many"}, "resources_per_worker.accel"),
    ],
)
def test_bad_amounts_and_reserved_names_are_errors_naming_the_key(resources, fragment):
    with pytest.raises(ValidationError) as error:
        TrainSection(resources_per_worker=resources)
    assert fragment in str(error.value)


SWEEP_ON_A_NODE_WITH_ONE_ACCEL = """
import json, sys
import ray
from raytrack.config import load_experiment
from raytrack.tune.tuner import run_sweep

ray.init(num_cpus=2, resources={"accel": 1}, include_dashboard=False, configure_logging=False)
address = ray.get_runtime_context().gcs_address
sweep, _ = run_sweep(load_experiment(sys.argv[1]), name="accel", address=address, verbose=0)
spans = []
for result in sorted(sweep.path.glob("trial_*/result.json")):
    last = json.loads(result.read_text().splitlines()[-1])
    spans.append([last["timestamp"] - last["time_total_s"], last["timestamp"]])
print("SPANS", json.dumps(sorted(spans)))
"""


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_trials_share_the_one_custom_resource_of_the_cluster(simulated_store, tmp_path):
    """Two trials may run at once by their CPUs, but the node has one ``accel``: one at a time."""
    experiment = {
        "name": "accel",
        "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 8, "n_graph_iters": 1}},
        "data": {"store": str(simulated_store(4, seed=8)), "split": [0.5, 0.5, 0.0]},
        "train": {"max_epochs": 2, "cpus_per_worker": 0.5, "resources_per_worker": {"accel": 1}},
        "search": {"train.optimizer.lr": {"choices": [0.001, 0.01]}},
        "tune": {
            "metric": "val_auc",
            "mode": "max",
            "num_samples": 2,
            "searcher": "random",
            "max_concurrent_trials": 2,
            "scheduler": {"name": "fifo"},
        },
        "storage": str(tmp_path / "results"),
    }
    file = tmp_path / "accel.yaml"
    file.write_text(yaml.safe_dump(experiment))
    script = textwrap.dedent(SWEEP_ON_A_NODE_WITH_ONE_ACCEL)
    done = subprocess.run([sys.executable, "-c", script, str(file)], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("SPANS "))
    (first, second) = json.loads(line.removeprefix("SPANS "))
    # result.json timestamps are whole seconds: the second trial starts when the first ended
    assert second[0] >= first[1] - 1.0, (first, second)


@pytest.mark.ray
@pytest.mark.timeout(120)
def test_a_cluster_without_the_custom_resource_is_refused_before_trials_wait(
    ray_session, simulated_store, tmp_path
):
    from raytrack.config.schema import Experiment
    from raytrack.tune.tuner import build_tuner, prepare_sweep

    experiment = Experiment.model_validate({
        "name": "no-accel",
        "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 8, "n_graph_iters": 1}},
        "data": {"store": str(simulated_store(4, seed=8)), "split": [0.5, 0.5, 0.0]},
        "train": {"max_epochs": 1, "resources_per_worker": {"accel": 1}},
        "tune": {"metric": "val_auc", "mode": "max"},
        "storage": str(tmp_path / "results"),
    })  # fmt: skip
    sweep = prepare_sweep(experiment, name="no-accel")
    with pytest.raises(RuntimeError, match="train.resources_per_worker.accel=1"):
        build_tuner(sweep, verbose=0)


DDP_SWEEP_ON_A_NODE_WITH_TWO_ACCELS = """
import sys
import ray
from raytrack.config import load_experiment
from raytrack.tune.tuner import run_sweep

ray.init(num_cpus=2, resources={"accel": 2}, include_dashboard=False, configure_logging=False)
address = ray.get_runtime_context().gcs_address
sweep, summary = run_sweep(load_experiment(sys.argv[1]), name="ddp", address=address, verbose=0)
print("STATUS", list(summary.trials["status"]), summary.best_value)
"""


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_ddp_trial_places_its_workers_on_the_custom_resource(simulated_store, tmp_path):
    """Ray Train's ``resources_per_worker`` gets ``accel``: two workers take the node's two."""
    experiment = {
        "name": "ddp-accel",
        "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 8, "n_graph_iters": 1}},
        "data": {"store": str(simulated_store(4, seed=8)), "split": [0.5, 0.5, 0.0]},
        "train": {
            "max_epochs": 1,
            "workers": 2,
            "cpus_per_worker": 0.5,
            "resources_per_worker": {"accel": 1},
        },  # fmt: skip
        "tune": {"metric": "val_auc", "mode": "max", "scheduler": {"name": "fifo"}},
        "storage": str(tmp_path / "results"),
    }
    file = tmp_path / "ddp.yaml"
    file.write_text(yaml.safe_dump(experiment))
    script = textwrap.dedent(DDP_SWEEP_ON_A_NODE_WITH_TWO_ACCELS)
    done = subprocess.run([sys.executable, "-c", script, str(file)], cwd=ROOT,
                          capture_output=True, text=True, timeout=380)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("STATUS "))
    assert line.startswith("STATUS ['completed'] 0."), line  # one trial, finished, an AUC
