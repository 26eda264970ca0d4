"""The cluster manifests are valid for the tools that read them and keep raytrack's promises.

- KubeRay: every RayCluster/RayJob in ``cluster/kuberay/`` validates against the real CRD's
  ``openAPIV3Schema`` (``../shared/schemas/kuberay/``) the way the Kubernetes API server applies
  it with strict field validation: unknown fields are errors and the ``x-kubernetes-*``
  extensions (int-or-string, list types, CEL validations) are enforced, which plain jsonschema
  would ignore.
- The cluster launcher config validates against Ray's own ``ray-schema.json`` and passes the
  checks ``ray up`` runs.
- Project promises: no trials on the head, GPUs on the workers, one Ray version everywhere,
  token authentication on, shared storage mounted at one path on every pod, the RayJob runs an
  experiment file that exists and fits on the GPU workers.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any, Callable, Iterator

import jsonschema
import pytest
import yaml

import ray

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"
KUBERAY = CLUSTER / "kuberay"
LAUNCHER_CONFIG = CLUSTER / "launcher" / "cluster.yaml"
DOCKERFILE = CLUSTER / "Dockerfile"
IMAGE_TAG = re.compile(r":(?P<ray>\d+\.\d+\.\d+)-py(?P<py>\d+)-(?P<platform>gpu|cu\d+)$")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


# -- the CRD schemas, as the API server applies them ------------------------------------------

# CEL rules of x-kubernetes-validations, as Python predicates over the validated value. Rules
# that compare with oldSelf only apply to updates and are skipped; any other rule found in a CRD
# must be listed here, so that a new KubeRay release with new rules fails loudly, not silently.
CEL_RULES: dict[str, Callable[[Any], bool]] = {
    "self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']": lambda v: v
    in ("ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue"),
    "!(has(self.jobStatus) && has(self.jobDeploymentStatus))": lambda v: not (
        "jobStatus" in v and "jobDeploymentStatus" in v
    ),
    "has(self.jobStatus) || has(self.jobDeploymentStatus)": lambda v: "jobStatus" in v
    or "jobDeploymentStatus" in v,
    "!((has(self.onSuccess) || has(self.onFailure)) && has(self.deletionRules))": lambda v: not (
        ("onSuccess" in v or "onFailure" in v) and "deletionRules" in v
    ),
    "((has(self.onSuccess) && has(self.onFailure)) || has(self.deletionRules))": lambda v: (
        "onSuccess" in v and "onFailure" in v
    )
    or "deletionRules" in v,
}


def _is_transition_rule(rule: str) -> bool:
    return "oldSelf" in rule


def _cel(validator: Any, rules: list[dict], instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    for entry in rules:
        rule = entry["rule"]
        if _is_transition_rule(rule):
            continue
        if rule not in CEL_RULES:
            yield jsonschema.ValidationError(f"CEL rule not understood by this test, teach CEL_RULES: {rule}")
        elif not CEL_RULES[rule](instance):
            yield jsonschema.ValidationError(entry.get("message", f"failed CEL rule {rule}"))


def _list_map_keys(validator: Any, keys: list[str], instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    """``x-kubernetes-list-type: map``: items are unique by their key fields."""
    if not validator.is_type(instance, "array") or schema.get("x-kubernetes-list-type") != "map":
        return
    item_props = schema.get("items", {}).get("properties", {})
    seen: set[tuple] = set()
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = []
        for name in keys:
            if name not in item and "default" not in item_props.get(name, {}):
                yield jsonschema.ValidationError(f"item {index} lacks the list-map key {name!r}")
            key.append(item.get(name, item_props.get(name, {}).get("default")))
        if tuple(key) in seen:
            yield jsonschema.ValidationError(f"duplicate list-map key {dict(zip(keys, key))} at item {index}")
        seen.add(tuple(key))


def _int_or_string(validator: Any, value: bool, instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    if value and not (validator.is_type(instance, "integer") or validator.is_type(instance, "string")):
        yield jsonschema.ValidationError(f"{instance!r} is neither an integer nor a string")


def _k8s_format(validator: Any, fmt: str, instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    bounds = {"int32": INT32, "int64": INT64}.get(fmt)
    if bounds and validator.is_type(instance, "integer") and not bounds[0] <= instance <= bounds[1]:
        yield jsonschema.ValidationError(f"{instance} is out of {fmt} range")


K8sValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    {
        "x-kubernetes-validations": _cel,
        "x-kubernetes-list-map-keys": _list_map_keys,
        "x-kubernetes-int-or-string": _int_or_string,
        "format": _k8s_format,
    },
)


def structural(schema: Any) -> Any:
    """The CRD schema with the API server's structural rules made explicit for jsonschema.

    - objects with ``properties`` reject unknown fields (strict field validation, kubectl's
      default), unless ``x-kubernetes-preserve-unknown-fields``;
    - ``nullable: true`` admits null; ``x-kubernetes-list-type: set`` means unique items;
    - ``x-kubernetes-embedded-resource`` requires apiVersion and kind.
    The remaining extensions are checked by :data:`K8sValidator`'s extra keywords.
    """
    if isinstance(schema, list):
        return [structural(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: structural(value) if key not in ("enum", "default", "example") else value for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if out.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if out.get("x-kubernetes-embedded-resource"):
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})
    return out


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


_VALIDATORS: dict[tuple[str, str], Any] = {}


def crd_validator(crd: dict, api_version: str) -> Any:
    key = (crd["metadata"]["name"], api_version)
    if key in _VALIDATORS:
        return _VALIDATORS[key]
    group = crd["spec"]["group"]
    for version in crd["spec"]["versions"]:
        if f"{group}/{version['name']}" == api_version:
            assert version.get("served", True), f"{api_version} is not served by the CRD"
            schema = structural(version["schema"]["openAPIV3Schema"])
            K8sValidator.check_schema(schema)
            _VALIDATORS[key] = K8sValidator(schema)
            return _VALIDATORS[key]
    names = [f"{group}/{v['name']}" for v in crd["spec"]["versions"]]
    raise AssertionError(f"apiVersion {api_version} not in the CRD (has {names})")


def schema_errors(crd: dict, doc: dict) -> list[str]:
    errors = crd_validator(crd, doc["apiVersion"]).iter_errors(doc)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


# -- the manifests -----------------------------------------------------------------------------


def load_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kuberay_docs() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(KUBERAY.glob("*.yaml")):
        for doc in load_docs(path):
            docs.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return docs


def one(kind: str, filename: str) -> dict:
    docs = [doc for doc in load_docs(KUBERAY / filename) if doc["kind"] == kind]
    assert len(docs) == 1, f"{filename}: expected one {kind}, found {len(docs)}"
    return docs[0]


def cluster_specs() -> list[tuple[str, dict]]:
    """Every RayCluster spec in the manifests: the RayCluster's and the RayJob's embedded one."""
    return [
        ("raycluster.yaml", one("RayCluster", "raycluster.yaml")["spec"]),
        ("rayjob.yaml", one("RayJob", "rayjob.yaml")["spec"]["rayClusterSpec"]),
    ]


def ray_container(pod_template: dict) -> dict:
    # KubeRay treats the first container as the Ray container.
    return pod_template["spec"]["containers"][0]


def all_groups(spec: dict) -> list[tuple[str, dict]]:
    return [("head", spec["headGroupSpec"])] + [(g["groupName"], g) for g in spec["workerGroupSpecs"]]


def quantity(value: Any) -> float:
    """A Kubernetes quantity as a number (enough for CPU counts, GPU counts and Gi/Mi)."""
    text = str(value)
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in sorted(suffixes.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def test_manifest_folder_holds_the_expected_objects():
    kinds = sorted(key for key, _ in kuberay_docs())
    assert kinds == [
        "raycluster.yaml:RayCluster/raytrack",
        "rayjob.yaml:RayJob/raytrack-exatrkx-gnn",
        "storage.yaml:PersistentVolumeClaim/raytrack-shared",
    ]


@pytest.mark.parametrize("key", [key for key, doc in kuberay_docs() if doc["apiVersion"].startswith("ray.io/")])
def test_kuberay_manifest_validates_against_crd(crds, key):
    doc = dict(kuberay_docs())[key]
    assert doc["apiVersion"] == "ray.io/v1"
    assert schema_errors(crds[doc["kind"]], doc) == []


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
    ray_container(bad_quantity["spec"]["rayClusterSpec"]["headGroupSpec"]["template"])["resources"]["limits"][
        "cpu"
    ] = ["8"]
    assert any("neither an integer nor a string" in e for e in schema_errors(crds["RayJob"], bad_quantity))

    duplicate_port = copy.deepcopy(good)
    ports = ray_container(duplicate_port["spec"]["rayClusterSpec"]["headGroupSpec"]["template"])["ports"]
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
    unknown = sorted({r for r in rules if not _is_transition_rule(r) and r not in CEL_RULES})
    assert rules and unknown == []


@pytest.mark.parametrize("name,spec", cluster_specs(), ids=[n for n, _ in cluster_specs()])
class TestClusterSpec:
    def test_head_runs_no_ray_work_and_has_no_gpu(self, name, spec):
        head = spec["headGroupSpec"]
        assert head["rayStartParams"].get("num-cpus") == "0"
        resources = ray_container(head["template"]).get("resources", {})
        for section in ("limits", "requests"):
            assert "nvidia.com/gpu" not in resources.get(section, {})
        assert "num-gpus" not in head["rayStartParams"] or head["rayStartParams"]["num-gpus"] == "0"

    def test_workers_request_gpus_and_autoscale(self, name, spec):
        assert spec["enableInTreeAutoscaling"] is True
        assert spec["workerGroupSpecs"], "no worker group"
        for group in spec["workerGroupSpecs"]:
            resources = ray_container(group["template"])["resources"]
            gpus = quantity(resources["limits"]["nvidia.com/gpu"])
            assert gpus >= 1
            # Extended resources must have requests equal to limits, when given.
            assert quantity(resources.get("requests", {}).get("nvidia.com/gpu", gpus)) == gpus
            assert quantity(resources["limits"]["cpu"]) >= 2 * gpus, "fewer than 2 CPUs per GPU"
            assert 0 <= group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"]
            assert group["maxReplicas"] >= 1

    def test_ray_version_is_the_installed_one(self, name, spec):
        assert spec["rayVersion"] == ray.__version__
        images = {ray_container(g["template"])["image"] for _, g in all_groups(spec)}
        assert len(images) == 1, f"head and workers run different images: {images}"
        match = IMAGE_TAG.search(images.pop())
        assert match, "image tag is not <ray version>-py<python>-gpu"
        assert match["ray"] == ray.__version__

    def test_token_authentication_is_on(self, name, spec):
        assert spec["authOptions"] == {"mode": "token"}
        # The operator injects the token; a hand-set RAY_AUTH_* would fight it.
        for _, group in all_groups(spec):
            names = {e["name"] for e in ray_container(group["template"]).get("env", [])}
            assert not names & {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"}

    def test_every_pod_mounts_the_shared_volume_at_one_path(self, name, spec):
        claim = one("PersistentVolumeClaim", "storage.yaml")["metadata"]["name"]
        paths = set()
        for group_name, group in all_groups(spec):
            pod = group["template"]["spec"]
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            shared = [n for n, v in volumes.items() if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
            assert len(shared) == 1, f"{group_name}: no volume from claim {claim}"
            mounts = [m for m in ray_container(group["template"]).get("volumeMounts", []) if m["name"] == shared[0]]
            assert len(mounts) == 1 and not mounts[0].get("readOnly"), f"{group_name}: shared volume not mounted read-write"
            paths.add(mounts[0]["mountPath"])
            # Ray's object store needs more /dev/shm than Kubernetes' 64 MiB default.
            shm = [m for m in ray_container(group["template"])["volumeMounts"] if m["mountPath"] == "/dev/shm"]
            assert shm and volumes[shm[0]["name"]].get("emptyDir", {}).get("medium") == "Memory"
        assert len(paths) == 1, f"shared volume mounted at different paths: {paths}"

    def test_wandb_key_comes_from_an_optional_secret(self, name, spec):
        for group_name, group in all_groups(spec):
            env = {e["name"]: e for e in ray_container(group["template"]).get("env", [])}
            ref = env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]
            assert ref["optional"] is True, f"{group_name}: pods would not start without the W&B secret"
            assert "value" not in env["WANDB_API_KEY"]


def test_storage_claim_is_shared_across_nodes():
    claim = one("PersistentVolumeClaim", "storage.yaml")
    assert claim["apiVersion"] == "v1"
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    assert quantity(claim["spec"]["resources"]["requests"]["storage"]) > 0


def test_rayjob_runs_the_raycluster_spec():
    assert one("RayJob", "rayjob.yaml")["spec"]["rayClusterSpec"] == one("RayCluster", "raycluster.yaml")["spec"]


def test_rayjob_cleans_up_after_itself():
    spec = one("RayJob", "rayjob.yaml")["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] > 0
    runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert isinstance(runtime_env, dict)
    assert all(isinstance(v, str) for v in runtime_env.get("env_vars", {}).values()), "env_vars values must be strings"
    assert "working_dir" not in runtime_env, "the RayJob runs the image's copy of the project"


def _dockerfile() -> tuple[str, str]:
    """(base image, WORKDIR) of cluster/Dockerfile."""
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG RAY_IMAGE=(\S+)$", text, re.M)
    workdir = re.search(r"^WORKDIR (\S+)$", text, re.M)
    assert base and workdir and re.search(r"^FROM \$\{RAY_IMAGE\}$", text, re.M)
    return base[1], workdir[1]


def _rayjob_entrypoint() -> tuple[str, list[str]]:
    """(directory the job runs in, the tune.py command) of the RayJob."""
    entrypoint = one("RayJob", "rayjob.yaml")["spec"]["entrypoint"]
    first, _, second = entrypoint.partition("&&")
    cd = shlex.split(first)
    assert cd[0] == "cd" and len(cd) == 2, f"entrypoint should start in the shared volume: {entrypoint}"
    return cd[1], shlex.split(second)


def test_rayjob_entrypoint_runs_an_existing_experiment_from_the_shared_volume():
    run_dir, command = _rayjob_entrypoint()
    _, workdir = _dockerfile()
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
    _, command = _rayjob_entrypoint()
    _, workdir = _dockerfile()
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
    run_dir, _ = _rayjob_entrypoint()
    for key, path in (("storage", experiment.storage), ("data.store", experiment.data.store)):
        assert not path.startswith(("~", "$")), f"{key}: {path} is not on the shared volume"
        assert not path.startswith("/") or path.startswith(f"{run_dir}/"), f"{key}: {path} is not under {run_dir}"
    # One DDP trial on one pod keeps NCCL traffic inside a node.
    per_pod = max(quantity(ray_container(g["template"])["resources"]["limits"]["nvidia.com/gpu"]) for g in spec["workerGroupSpecs"])
    assert experiment.train.workers * experiment.train.gpus_per_worker <= per_pod


def test_dockerfile_builds_on_the_ray_image_of_the_manifests():
    base, _ = _dockerfile()
    match = IMAGE_TAG.search(base)
    assert base.startswith("rayproject/ray:") and match, base
    assert match["ray"] == ray.__version__
    manifest_image = ray_container(one("RayCluster", "raycluster.yaml")["spec"]["headGroupSpec"]["template"])["image"]
    assert IMAGE_TAG.search(manifest_image)[0] == match[0], "manifest image tag differs from the Dockerfile's base"
    text = DOCKERFILE.read_text()
    for needed in ("tune.py", "raytrack", "search_spaces", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(needed)}\b", text, re.M), f"Dockerfile does not copy {needed}"


# -- the cluster launcher ----------------------------------------------------------------------


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
    workers = [n for n in launcher_config["available_node_types"] if n != launcher_config["head_node_type"]]
    assert workers and all(launcher_config["available_node_types"][n]["max_workers"] >= 1 for n in workers)
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
