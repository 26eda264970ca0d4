"""The KubeRay manifests are valid for the API server and the RayJob keeps raytrack's promises.

- KubeRay: every RayCluster/RayJob in ``cluster/kuberay/`` validates against the real CRD's
  ``openAPIV3Schema`` (``../shared/schemas/kuberay/``) the way the Kubernetes API server applies
  it with strict field validation: unknown fields are errors and the ``x-kubernetes-*``
  extensions (int-or-string, list types, CEL validations) are enforced, which plain jsonschema
  would ignore (the validator: ``k8s_schema.py``).
- NetworkPolicies: their rules validate against the ``networking.k8s.io/v1`` rule schemas that
  the RayCluster CRD embeds (KubeRay >= 1.7), the rest against the API reference, as strictly.
- The RayJob runs the RayCluster's spec, cleans up after itself and runs an experiment file that
  exists, validates and fits on the GPU workers; its submitter pod runs the head's image and
  lets KubeRay supply the command; the image is the Dockerfile's; the storage claim is shared
  across nodes.

The promises every RayCluster spec keeps (no trials on the head, GPUs on the workers, one Ray
version, token authentication, one shared mount path) are in ``test_cluster_spec.py``; the
security settings and what the NetworkPolicies admit in ``test_security.py``; the cluster
launcher config is checked in ``test_launcher_config.py``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml

from tests.cluster.k8s_schema import (
    CEL_RULES,
    is_transition_rule,
    networkpolicy_errors,
    schema_errors,
)
from tests.cluster.manifests import (
    DOCKERFILE,
    IMAGE_TAG,
    ROOT,
    all_groups,
    dockerfile,
    kuberay_docs,
    one,
    quantity,
    ray_container,
    rayjob_entrypoint,
)


@pytest.fixture(scope="module")
def crds(shared_data: Path) -> dict[str, dict]:
    """``kind`` → the CRD document, from ``../shared/schemas/kuberay``."""
    folder = shared_data.parent / "schemas" / "kuberay"
    if not folder.is_dir():
        pytest.skip(f"KubeRay CRD schemas not found at {folder}")
    out = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are 40k lines
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                out[doc["spec"]["names"]["kind"]] = doc
    assert {"RayCluster", "RayJob"} <= set(out), f"CRDs found: {sorted(out)}"
    return out


def test_manifest_folder_holds_the_expected_objects():
    kinds = sorted(key for key, _ in kuberay_docs())
    assert kinds == [
        "networkpolicy.yaml:NetworkPolicy/raytrack-dashboard",
        "networkpolicy.yaml:NetworkPolicy/raytrack-exatrkx-gnn-dashboard",
        "networkpolicy.yaml:NetworkPolicy/raytrack-exatrkx-gnn-ray-internal",
        "networkpolicy.yaml:NetworkPolicy/raytrack-ray-internal",
        "raycluster.yaml:RayCluster/raytrack",
        "rayjob.yaml:RayJob/raytrack-exatrkx-gnn",
        "storage.yaml:PersistentVolumeClaim/raytrack-shared",
    ]


@pytest.mark.parametrize(
    "key", [key for key, doc in kuberay_docs() if doc["apiVersion"].startswith("ray.io/")]
)
def test_kuberay_manifest_validates_against_crd(crds, key):
    doc = dict(kuberay_docs())[key]
    assert doc["apiVersion"] == "ray.io/v1"
    assert schema_errors(crds[doc["kind"]], doc) == []


@pytest.mark.parametrize(
    "key", [key for key, doc in kuberay_docs() if doc["kind"] == "NetworkPolicy"]
)
def test_networkpolicy_validates(crds, key):
    assert networkpolicy_errors(crds["RayCluster"], dict(kuberay_docs())[key]) == []


def test_networkpolicy_validation_is_strict(crds):
    good = next(doc for _, doc in kuberay_docs() if doc["kind"] == "NetworkPolicy")
    assert networkpolicy_errors(crds["RayCluster"], good) == []

    typo = copy.deepcopy(good)
    typo["spec"]["ingress"][0]["from"][0]["podSelecter"] = {}
    assert any("podSelecter" in e for e in networkpolicy_errors(crds["RayCluster"], typo))

    bad_type = copy.deepcopy(good)
    bad_type["spec"]["policyTypes"] = ["ingress"]
    assert any("policyTypes" in e for e in networkpolicy_errors(crds["RayCluster"], bad_type))

    bad_port = copy.deepcopy(good)
    bad_port["spec"]["ingress"][0]["ports"] = [{"protocol": "HTTP", "port": 70000}]
    errors = networkpolicy_errors(crds["RayCluster"], bad_port)
    assert any("protocol" in e for e in errors) and any("70000" in e for e in errors)

    no_selector = copy.deepcopy(good)
    del no_selector["spec"]["podSelector"]
    assert any("podSelector" in e for e in networkpolicy_errors(crds["RayCluster"], no_selector))


def test_validation_catches_what_the_api_server_would_reject(crds):
    """The validator is strict where the API server is: a typo, a wrong type, a bad enum, a CEL rule."""
    good = one("RayJob", "rayjob.yaml")
    assert schema_errors(crds["RayJob"], good) == []

    typo = copy.deepcopy(good)
    typo["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["maxReplica"] = 3
    assert any("maxReplica" in e for e in schema_errors(crds["RayJob"], typo))

    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["shutdownAfterJobFinishes"] = "yes"
    assert any("shutdownAfterJobFinishes" in e for e in schema_errors(crds["RayJob"], wrong_type))

    bad_enum = copy.deepcopy(good)
    bad_enum["spec"]["rayClusterSpec"]["authOptions"]["mode"] = "password"
    assert any("authOptions.mode" in e for e in schema_errors(crds["RayJob"], bad_enum))

    bad_quantity = copy.deepcopy(good)
    ray_container(bad_quantity["spec"]["rayClusterSpec"]["headGroupSpec"]["template"])["resources"][
        "limits"
    ]["cpu"] = ["8"]
    assert any(
        "neither an integer nor a string" in e for e in schema_errors(crds["RayJob"], bad_quantity)
    )

    duplicate_port = copy.deepcopy(good)
    ports = ray_container(duplicate_port["spec"]["rayClusterSpec"]["headGroupSpec"]["template"])[
        "ports"
    ]
    ports.append(dict(ports[0]))
    assert any("duplicate list-map key" in e for e in schema_errors(crds["RayJob"], duplicate_port))

    cel = copy.deepcopy(good)
    cel["spec"]["managedBy"] = "someone-else"
    assert any("managedBy" in e for e in schema_errors(crds["RayJob"], cel))

    too_big = copy.deepcopy(good)
    too_big["spec"]["ttlSecondsAfterFinished"] = 2**40
    assert any("int32" in e for e in schema_errors(crds["RayJob"], too_big))


def test_every_cel_rule_in_the_crds_is_understood(crds):
    rules: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            rules.extend(v["rule"] for v in node.get("x-kubernetes-validations", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(crds)
    unknown = sorted({r for r in rules if not is_transition_rule(r) and r not in CEL_RULES})
    assert rules and unknown == []


def test_storage_claim_is_shared_across_nodes():
    claim = one("PersistentVolumeClaim", "storage.yaml")
    assert claim["apiVersion"] == "v1"
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    assert quantity(claim["spec"]["resources"]["requests"]["storage"]) > 0


def test_rayjob_runs_the_raycluster_spec():
    """The same cluster, but for the label that tells the two clusters' pods apart."""
    rayjob = one("RayJob", "rayjob.yaml")
    raycluster = one("RayCluster", "raycluster.yaml")
    specs = {}
    for name, spec in (
        (rayjob["metadata"]["name"], rayjob["spec"]["rayClusterSpec"]),
        (raycluster["metadata"]["name"], raycluster["spec"]),
    ):
        spec = copy.deepcopy(spec)
        for _, group in all_groups(spec):
            labels = group["template"]["metadata"]["labels"]
            assert labels.pop("app.kubernetes.io/instance") == name
        specs[name] = spec
    assert specs[rayjob["metadata"]["name"]] == specs[raycluster["metadata"]["name"]]


def test_rayjob_k8s_job_pod_runs_the_head_image_and_kuberays_command():
    """The pod KubeRay runs `ray job submit` in (K8sJobMode), as submitterPodTemplate gives it."""
    spec = one("RayJob", "rayjob.yaml")["spec"]
    submitter = spec["submitterPodTemplate"]
    # A Job's pods may not restart in place; KubeRay's own default template says Never too.
    assert submitter["spec"]["restartPolicy"] == "Never"
    container = ray_container(submitter)
    # Without a command KubeRay fills in `ray job submit` with the entrypoint, the cluster's
    # address and its token; with one, the entrypoint above would be ignored.
    assert "command" not in container and "args" not in container
    head = ray_container(spec["rayClusterSpec"]["headGroupSpec"]["template"])
    assert container["image"] == head["image"]
    assert spec.get("submissionMode", "K8sJobMode") == "K8sJobMode"


def test_rayjob_cleans_up_after_itself():
    spec = one("RayJob", "rayjob.yaml")["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] > 0
    runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert isinstance(runtime_env, dict)
    assert all(isinstance(v, str) for v in runtime_env.get("env_vars", {}).values()), (
        "env_vars values must be strings"
    )
    assert "working_dir" not in runtime_env, "the RayJob runs the image's copy of the project"


def test_rayjob_entrypoint_runs_an_existing_experiment_from_the_shared_volume():
    run_dir, command = rayjob_entrypoint()
    _, workdir = dockerfile()
    assert command[0] == "python" and command[1] == f"{workdir}/tune.py"
    experiment = command[2]
    assert experiment.startswith(f"{workdir}/search_spaces/") and experiment.endswith(".yaml")
    local = ROOT / experiment.removeprefix(f"{workdir}/")
    assert local.is_file(), f"the RayJob runs {experiment}, but {local} does not exist"
    spec = one("RayCluster", "raycluster.yaml")["spec"]
    mount = next(
        m["mountPath"]
        for m in ray_container(spec["headGroupSpec"]["template"])["volumeMounts"]
        if m["mountPath"] != "/dev/shm"
    )
    assert run_dir == mount


def test_rayjob_experiment_is_valid_and_fits_the_gpu_workers():
    """The sweep the RayJob runs validates, and one of its trials fits on the worker group."""
    _, command = rayjob_entrypoint()
    _, workdir = dockerfile()
    experiment_path = ROOT / command[2].removeprefix(f"{workdir}/")
    if not experiment_path.is_file():
        pytest.fail(f"{experiment_path} does not exist")
    from raytrack.config import load_experiment
    from raytrack.tune.resources import placement_problem

    experiment = load_experiment(str(experiment_path))
    spec = one("RayCluster", "raycluster.yaml")["spec"]
    # The largest cluster the autoscaler may build, as Ray sees it.
    cluster = {"CPU": 0.0, "GPU": 0.0}
    for group in spec["workerGroupSpecs"]:
        limits = ray_container(group["template"])["resources"]["limits"]
        cluster["CPU"] += group["maxReplicas"] * quantity(limits["cpu"])
        cluster["GPU"] += group["maxReplicas"] * quantity(limits["nvidia.com/gpu"])
    assert placement_problem(experiment.train, cluster) is None
    assert experiment.train.gpus_per_worker > 0, "the cluster sweep should train on GPUs"
    # Results and events must land on the shared volume, where every pod reads them: relative
    # paths (the job runs from the volume) or absolute ones below it; not ~ (the head's home).
    run_dir, _ = rayjob_entrypoint()
    for key, path in (("storage", experiment.storage), ("data.store", experiment.data.store)):
        assert not path.startswith(("~", "$")), f"{key}: {path} is not on the shared volume"
        assert not path.startswith("/") or path.startswith(f"{run_dir}/"), (
            f"{key}: {path} is not under {run_dir}"
        )
    # One DDP trial on one pod keeps NCCL traffic inside a node.
    per_pod = max(
        quantity(ray_container(g["template"])["resources"]["limits"]["nvidia.com/gpu"])
        for g in spec["workerGroupSpecs"]
    )
    assert experiment.train.workers * experiment.train.gpus_per_worker <= per_pod


def test_dockerfile_builds_on_the_ray_image_of_the_manifests():
    base, _ = dockerfile()
    match = IMAGE_TAG.search(base)
    assert base.startswith("rayproject/ray:") and match, base
    assert match["ray"] == ray.__version__
    manifest_image = ray_container(
        one("RayCluster", "raycluster.yaml")["spec"]["headGroupSpec"]["template"]
    )["image"]
    manifest_tag = IMAGE_TAG.search(manifest_image)
    assert manifest_tag and manifest_tag.group("ray", "py", "platform") == match.group(
        "ray", "py", "platform"
    ), "manifest image tag differs from the Dockerfile's base"
    text = DOCKERFILE.read_text()
    for needed in ("tune.py", "raytrack", "search_spaces", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(needed)}\b", text, re.MULTILINE), (
            f"Dockerfile does not copy {needed}"
        )
