"""The cluster launcher config validates against Ray's own ``ray-schema.json``, passes the
checks ``ray up`` runs, and keeps raytrack's promises (no trials on the head, token
authentication, the image of the installed Ray, shared storage that belongs to the Ray user's
group and nobody else, no world-writable files)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

from tests.cluster.manifests import (
    IMAGE_TAG,
    LAUNCHER_CONFIG,
    pod_templates,
    simple_commands,
    strings_in,
    world_writable_modes,
)


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


def _shared_mount(config: dict) -> str:
    mount = next(o for o in config["docker"]["run_options"] if o.startswith("-v "))
    return mount.split()[1].partition(":")[0]


def test_launcher_commands_make_nothing_world_writable(launcher_config):
    """No command the launcher runs, on the host or in the container, opens a file to all."""
    texts = list(strings_in(launcher_config))
    command_lists = {path.split("[")[0] for path, _ in texts if "commands" in path}
    assert {"initialization_commands", "head_start_ray_commands"} <= command_lists
    found = {path: world_writable_modes(text) for path, text in texts}
    assert {path: modes for path, modes in found.items() if modes} == {}


def test_launcher_shared_volume_belongs_to_the_ray_group(launcher_config):
    """The host directory behind the shared volume ends up uid 1000, group 1000 (the KubeRay
    pods' fsGroup), mode 2770: group-writable, setgid, nothing for others."""
    path = _shared_mount(launcher_config)
    owner, mode = None, None
    for command in launcher_config["initialization_commands"]:
        for name, args in simple_commands(command):
            operands = [a for a in args if not a.startswith("-")]
            if name == "chown" and operands[1:] == [path]:
                owner = operands[0]
            if name == "chmod" and operands[1:] == [path]:
                mode = int(operands[0], 8)
    assert owner is not None and mode is not None, f"{path}: no chown and chmod for it"
    uid, _, gid = owner.partition(":")
    groups = {t["spec"]["securityContext"]["fsGroup"] for _, t in pod_templates()}
    users = {t["spec"]["securityContext"]["runAsUser"] for _, t in pod_templates()}
    assert groups == {int(gid)} and users == {int(uid)}, (owner, groups, users)
    assert mode & 0o070 == 0o070, "the Ray group cannot write"
    assert mode & 0o2000, "no setgid bit: new entries would not get the directory's group"
    assert mode & 0o007 == 0, f"others can use the shared volume: {mode:o}"
