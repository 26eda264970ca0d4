"""The cluster files under ``cluster/`` as the cluster tests read them: loaders and parsers."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"
KUBERAY = CLUSTER / "kuberay"
LAUNCHER_CONFIG = CLUSTER / "launcher" / "cluster.yaml"
DOCKERFILE = CLUSTER / "Dockerfile"
IMAGE_TAG = re.compile(r":(?P<ray>\d+\.\d+\.\d+)-py(?P<py>\d+)-(?P<platform>gpu|cu\d+)$")


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
    return [("head", spec["headGroupSpec"])] + [
        (g["groupName"], g) for g in spec["workerGroupSpecs"]
    ]


def quantity(value: Any) -> float:
    """A Kubernetes quantity as a number (enough for CPU counts, GPU counts and Gi/Mi)."""
    text = str(value)
    suffixes = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    for suffix, factor in sorted(suffixes.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def dockerfile() -> tuple[str, str]:
    """(base image, WORKDIR) of cluster/Dockerfile."""
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG RAY_IMAGE=(\S+)$", text, re.MULTILINE)
    workdir = re.search(r"^WORKDIR (\S+)$", text, re.MULTILINE)
    assert base and workdir and re.search(r"^FROM \$\{RAY_IMAGE\}$", text, re.MULTILINE)
    return base[1], workdir[1]


def rayjob_entrypoint() -> tuple[str, list[str]]:
    """(directory the job runs in, the tune.py command) of the RayJob."""
    entrypoint = one("RayJob", "rayjob.yaml")["spec"]["entrypoint"]
    first, _, second = entrypoint.partition("&&")
    cd = shlex.split(first)
    assert cd[0] == "cd" and len(cd) == 2, (
        f"entrypoint should start in the shared volume: {entrypoint}"
    )
    return cd[1], shlex.split(second)
