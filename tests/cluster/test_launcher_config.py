"""The cluster launcher config validates against Ray's own ``ray-schema.json``, passes the
checks ``ray up`` runs, and keeps raytrack's promises (no trials on the head, token
authentication, the image of the installed Ray, shared storage)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

from tests.cluster.manifests import IMAGE_TAG, LAUNCHER_CONFIG


@pytest.fixture(scope="module")
def launcher_config() -> dict:
    return yaml.safe_load(LAUNCHER_CONFIG.read_text())


def test_launcher_config_validates_against_rays_schema(launcher_config):
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(launcher_config, schema)

    # What `ray up` does with it before starting anything: merge the provider's defaults, then
    # validate again (with Ray's extra checks).
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(launcher_config))
    validate_config(prepared)


def test_launcher_validation_rejects_a_typo(launcher_config):
    broken = copy.deepcopy(launcher_config)
    broken["available_node_types"]["gpu_worker"]["max_worker"] = 4
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_launcher_head_runs_no_trials_and_auth_is_on(launcher_config):
    head = launcher_config["available_node_types"][launcher_config["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    assert any("--num-cpus=0" in c for c in launcher_config["head_start_ray_commands"])
    workers = [
        n for n in launcher_config["available_node_types"] if n != launcher_config["head_node_type"]
    ]
    assert workers and all(
        launcher_config["available_node_types"][n]["max_workers"] >= 1 for n in workers
    )
    for commands in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in launcher_config[commands] if "ray start" in c]
        assert starts and all("RAY_AUTH_MODE=token" in c for c in starts), commands
    assert "~/.ray/auth_token" in launcher_config["file_mounts"]


def test_launcher_image_and_shared_storage(launcher_config):
    match = IMAGE_TAG.search(launcher_config["docker"]["image"])
    assert match and match["ray"] == ray.__version__
    mounts = [o for o in launcher_config["docker"]["run_options"] if o.startswith("-v ")]
    assert mounts, "no shared filesystem mounted into the containers"
    host, _, container = mounts[0].split()[1].partition(":")
    assert any(host in c and "mount" in c for c in launcher_config["initialization_commands"])
    assert container == "/mnt/raytrack"
