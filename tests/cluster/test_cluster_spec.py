"""Every RayCluster spec in ``cluster/kuberay/`` (the RayCluster's and the RayJob's) keeps
raytrack's promises: no trials on the head, GPUs on the autoscaled workers, one Ray version
everywhere, token authentication on, the shared volume mounted at one path on every pod, the
W&B key from an optional secret."""

from __future__ import annotations

import pytest
import ray

from tests.cluster.manifests import (
    IMAGE_TAG,
    all_groups,
    cluster_specs,
    one,
    quantity,
    ray_container,
)


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
            assert (
                0
                <= group["minReplicas"]
                <= group.get("replicas", group["minReplicas"])
                <= group["maxReplicas"]
            )
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
            shared = [
                n
                for n, v in volumes.items()
                if v.get("persistentVolumeClaim", {}).get("claimName") == claim
            ]
            assert len(shared) == 1, f"{group_name}: no volume from claim {claim}"
            mounts = [
                m
                for m in ray_container(group["template"]).get("volumeMounts", [])
                if m["name"] == shared[0]
            ]
            assert len(mounts) == 1 and not mounts[0].get("readOnly"), (
                f"{group_name}: shared volume not mounted read-write"
            )
            paths.add(mounts[0]["mountPath"])
            # Ray's object store needs more /dev/shm than Kubernetes' 64 MiB default.
            shm = [
                m
                for m in ray_container(group["template"])["volumeMounts"]
                if m["mountPath"] == "/dev/shm"
            ]
            assert shm and volumes[shm[0]["name"]].get("emptyDir", {}).get("medium") == "Memory"
        assert len(paths) == 1, f"shared volume mounted at different paths: {paths}"

    def test_wandb_key_comes_from_an_optional_secret(self, name, spec):
        for group_name, group in all_groups(spec):
            env = {e["name"]: e for e in ray_container(group["template"]).get("env", [])}
            ref = env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]
            assert ref["optional"] is True, (
                f"{group_name}: pods would not start without the W&B secret"
            )
            assert "value" not in env["WANDB_API_KEY"]
