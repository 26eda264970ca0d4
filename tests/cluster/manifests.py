"""The cluster files under ``cluster/`` as the cluster tests read them: loaders and parsers,
the pod labels KubeRay gives Ray pods, a NetworkPolicy evaluator and a finder of shell commands
that make files world-writable."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"
KUBERAY = CLUSTER / "kuberay"
LAUNCHER_CONFIG = CLUSTER / "launcher" / "cluster.yaml"
DOCKERFILE = CLUSTER / "Dockerfile"
# `<ray version>-py<python>-<gpu|cuXXX>`, optionally pinned by digest (`...-gpu@sha256:<64 hex>`:
# the registry pulls by the digest, the tag stays for people and for these tests).
IMAGE_TAG = re.compile(
    r":(?P<ray>\d+\.\d+\.\d+)-py(?P<py>\d+)-(?P<platform>gpu|cu\d+)"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


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


# -- pods as KubeRay creates them ----------------------------------------------------------------


def pod_templates() -> list[tuple[str, dict]]:
    """Every pod template in the manifests: each Ray group of each cluster spec, and the RayJob's
    submitter pod."""
    out = []
    for name, spec in cluster_specs():
        out += [(f"{name}:{group}", g["template"]) for group, g in all_groups(spec)]
    rayjob = one("RayJob", "rayjob.yaml")["spec"]
    if "submitterPodTemplate" in rayjob:
        # KubeRay runs `ray job submit` in the pod of a Kubernetes Job (K8sJobMode).
        out.append(("rayjob.yaml:k8s-job", rayjob["submitterPodTemplate"]))
    return out


def containers() -> list[tuple[str, dict]]:
    """Every container the manifests configure: the pod templates' (init containers included)
    and the autoscaler that KubeRay adds to each head pod from ``autoscalerOptions``."""
    out = []
    for name, template in pod_templates():
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            out.append((f"{name}:{container['name']}", container))
    for name, spec in cluster_specs():
        if spec.get("enableInTreeAutoscaling"):
            out.append((f"{name}:autoscaler", spec.get("autoscalerOptions", {})))
    return out


def kuberay_pod_labels(
    cluster: str, node_type: str, group: str, template_labels: dict[str, str]
) -> dict[str, str]:
    """The labels KubeRay puts on a Ray pod: its own, then the template's, which may not
    override ray.io/node-type, ray.io/group or ray.io/cluster (``labelPod`` in KubeRay's
    ray-operator/controllers/ray/common/pod.go, v1.5.1 to v1.7.0)."""
    labels = {
        "ray.io/is-ray-node": "yes",
        "ray.io/cluster": cluster,
        "ray.io/node-type": node_type,
        "ray.io/group": group,
        "ray.io/identifier": f"{cluster}-{node_type}",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }
    fixed = {"ray.io/node-type", "ray.io/group", "ray.io/cluster"}
    labels.update({k: v for k, v in template_labels.items() if k not in fixed})
    return labels


# -- NetworkPolicy semantics ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """A pod as a NetworkPolicy sees it: its namespace (with the namespace's labels), its labels
    and its named container ports."""

    namespace: str
    labels: dict[str, str]
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The API server labels every namespace with its name.
        self.namespace_labels.setdefault("kubernetes.io/metadata.name", self.namespace)


def selector_matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions, all of them; ``{}`` matches all."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict, policy_namespace: str, source: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # pod identities only; no manifest here uses address ranges
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], source.namespace_labels):
            return False
    elif source.namespace != policy_namespace:
        return False  # a podSelector alone selects pods of the policy's own namespace
    return selector_matches(peer.get("podSelector", {}), source.labels)


def _port_matches(rule_ports: list[dict] | None, target: Pod, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        wanted = entry["port"]
        number = target.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def ingress_allowed(
    policies: list[dict],
    namespace: str,
    target: Pod,
    source: Pod,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether ``source`` may connect to ``target`` on ``port`` under the NetworkPolicies of
    ``namespace`` (the Kubernetes semantics: a pod that no Ingress policy selects accepts
    everything; a selected one only what some rule of a selecting policy admits)."""
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", namespace) == target.namespace
        and selector_matches(p["spec"]["podSelector"], target.labels)
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            if peers and not any(_peer_matches(peer, namespace, source) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), target, port, protocol):
                return True
    return False


def network_policies() -> list[dict]:
    return [doc for _, doc in kuberay_docs() if doc["kind"] == "NetworkPolicy"]


# -- world-writable modes in shell commands ------------------------------------------------------

_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n"}
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=][rwxXstugo]*)+)")


def mode_is_world_writable(mode: str) -> bool:
    """Whether a chmod mode (octal or symbolic, ``1777``, ``a+w``, ``o=rwx``, ``+w``) grants
    others write permission. Symbolic clauses that copy (``o=u``) count as granting it."""
    if re.fullmatch(r"[0-7]{1,5}", mode):
        return bool(int(mode, 8) & 0o002)
    for clause in mode.split(","):
        match = _SYMBOLIC_CLAUSE.fullmatch(clause)
        if not match:
            return True  # not a mode this parser knows: let a human look at it
        who = match[1] or "a"  # no `who` means everybody, less the umask
        if "o" not in who and "a" not in who:
            continue
        for operator, perms in re.findall(r"([-+=])([rwxXstugo]*)", match[2]):
            if operator in "+=" and re.search(r"[wugo]", perms):
                return True
    return False


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        return command.split()


_WRAPPERS = {"sudo", "exec", "env", "nice", "nohup", "time", "command", "doas"}
_WRAPPER_OPTIONS_WITH_ARGUMENT = {"-u", "-g", "-n", "-C", "-h", "-p"}


def _commands(words: list[str]) -> Iterator[tuple[str, list[str]]]:
    """(command name, its arguments) of each simple command in a word list: the first word after
    a separator, past ``VAR=value`` assignments and wrappers such as ``sudo``."""
    index = 0
    while index < len(words):
        while index < len(words) and words[index] in _SEPARATORS:
            index += 1
        while index < len(words):
            word = words[index]
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word):
                index += 1
            elif word.rsplit("/", 1)[-1] in _WRAPPERS:
                index += 1
                while index < len(words) and words[index].startswith("-"):
                    index += 2 if words[index] in _WRAPPER_OPTIONS_WITH_ARGUMENT else 1
            else:
                break
        end = index
        while end < len(words) and words[end] not in _SEPARATORS:
            end += 1
        if index < end:
            yield words[index].rsplit("/", 1)[-1], words[index + 1 : end]
        index = end


def simple_commands(command: str) -> list[tuple[str, list[str]]]:
    """(command name, arguments) of each simple command of a shell command line."""
    return list(_commands(_words(command)))


def world_writable_modes(command: str) -> list[str]:
    """The parts of a shell command line that make a file world-writable: ``chmod`` with such
    a mode, ``mkdir -m``/``install -m`` with one, a ``umask`` that leaves others' write bit
    open, a ``mode=`` mount option (tmpfs, docker --tmpfs) with one; ``sh -c`` scripts too."""
    found = [f"mode={m}" for m in re.findall(r"\bmode=([0-7]{3,5})\b", command) if int(m, 8) & 2]
    for name, args in _commands(_words(command)):
        if name == "chmod":
            modes = [a for a in args if not a.startswith("-") or re.fullmatch(r"-[rwxXst]+", a)]
            if modes and not any(a.startswith("--reference") for a in args):
                if mode_is_world_writable(modes[0]):
                    found.append(f"chmod {modes[0]}")
        elif name in ("mkdir", "install"):
            for position, arg in enumerate(args):
                mode = None
                if arg in ("-m", "--mode") and position + 1 < len(args):
                    mode = args[position + 1]
                elif arg.startswith("--mode="):
                    mode = arg.split("=", 1)[1]
                elif arg.startswith("-m") and len(arg) > 2:
                    mode = arg[2:]
                if mode and mode_is_world_writable(mode):
                    found.append(f"{name} -m {mode}")
        elif name == "umask" and args and re.fullmatch(r"[0-7]{1,4}", args[0]):
            if not int(args[0], 8) & 0o002:
                found.append(f"umask {args[0]}")
        elif name in ("sh", "bash", "dash", "zsh") and "-c" in args:
            script = args.index("-c") + 1
            if script < len(args):
                found += [
                    m for m in world_writable_modes(args[script]) if not m.startswith("mode=")
                ]
    return found


def strings_in(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string value in a YAML document, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings_in(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings_in(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def file_modes_in(node: Any, path: str = "") -> Iterator[tuple[str, int]]:
    """Every ``defaultMode``/``mode`` number in a manifest (secret, configMap, projected and
    downward-API volumes), with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key in ("defaultMode", "mode") and isinstance(value, int):
                yield where, value
            else:
                yield from file_modes_in(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from file_modes_in(value, f"{path}[{index}]")


def dockerfile_run_commands() -> list[str]:
    """The shell commands of cluster/Dockerfile's RUN instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line[4:] for line in text.splitlines() if line.startswith("RUN ")]
