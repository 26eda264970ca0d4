"""The cluster files keep the security promises of cluster/README.md ("Security").

- Every pod template in every manifest (each Ray group of the RayCluster and of the RayJob, the
  RayJob's submitter) runs as uid/gid 1000, non-root, with fsGroup 1000 and the runtime's
  seccomp profile; every container (the autoscaler KubeRay adds included) drops all
  capabilities, cannot escalate privileges and has a read-only root filesystem with a writable
  emptyDir at /tmp.
- Every memory-backed emptyDir has a sizeLimit, and Ray's object store fits in /dev/shm.
- The NetworkPolicies, evaluated with Kubernetes' semantics over the labels KubeRay gives the
  pods, let a Ray cluster's own pods reach all of its ports, the operator, the RayJob's
  submitter and the labelled operators' pods only the dashboard, and nobody else anything.
- Nothing in the manifests or the Dockerfile makes a file world-writable (the launcher's
  commands: ``test_launcher_config.py``).
"""

from __future__ import annotations

import functools

import pytest

from tests.cluster.manifests import (
    IMAGE_TAG,
    Pod,
    all_groups,
    cluster_specs,
    containers,
    dockerfile_run_commands,
    file_modes_in,
    ingress_allowed,
    kuberay_docs,
    kuberay_pod_labels,
    mode_is_world_writable,
    network_policies,
    one,
    pod_templates,
    quantity,
    ray_container,
    selector_matches,
    strings_in,
    world_writable_modes,
)

RAY_UID = 1000  # `ray` in the rayproject images, the user the Ray processes run as
RAY_GID = 1000  # the group the shared volume belongs to (fsGroup; launcher: chown 1000:1000)

TEMPLATES = pod_templates()
CONTAINERS = containers()
POLICIES = network_policies()


# -- pods and containers -------------------------------------------------------------------------


def test_every_manifest_pod_template_is_checked():
    names = [name for name, _ in TEMPLATES]
    assert names == [
        "raycluster.yaml:head",
        "raycluster.yaml:gpu",
        "rayjob.yaml:head",
        "rayjob.yaml:gpu",
        "rayjob.yaml:k8s-job",
    ]
    assert [name for name, _ in CONTAINERS if name.endswith(":autoscaler")] == [
        "raycluster.yaml:autoscaler",
        "rayjob.yaml:autoscaler",
    ]


@pytest.mark.parametrize("name,template", TEMPLATES, ids=[n for n, _ in TEMPLATES])
def test_pod_runs_as_the_ray_user_never_root(name, template):
    context = template["spec"].get("securityContext", {})
    assert context.get("runAsNonRoot") is True
    assert context.get("runAsUser") == RAY_UID
    assert context.get("runAsGroup") == RAY_GID
    assert context.get("fsGroup") == RAY_GID
    assert context.get("fsGroupChangePolicy") == "OnRootMismatch"
    assert context.get("seccompProfile") == {"type": "RuntimeDefault"}
    for container in template["spec"]["containers"] + template["spec"].get("initContainers", []):
        container_context = container.get("securityContext", {})
        # A container may only narrow the pod's settings, never run as root or another user.
        assert container_context.get("runAsUser", RAY_UID) == RAY_UID, container["name"]
        assert container_context.get("runAsNonRoot", True) is True, container["name"]
        assert "privileged" not in container_context or not container_context["privileged"]
    assert not template["spec"].get("hostNetwork") and not template["spec"].get("hostPID")
    assert not template["spec"].get("hostIPC")


@pytest.mark.parametrize("name,container", CONTAINERS, ids=[n for n, _ in CONTAINERS])
def test_container_drops_all_capabilities_and_cannot_escalate(name, container):
    context = container.get("securityContext", {})
    assert context.get("allowPrivilegeEscalation") is False
    assert context.get("capabilities", {}).get("drop") == ["ALL"]
    assert not context.get("capabilities", {}).get("add"), "capabilities added back"
    assert context.get("privileged", False) is False


def _volumes_of(name: str) -> dict[str, dict]:
    """The volumes of the pod a container (named as in :func:`containers`) runs in."""
    manifest, *_, container = name.split(":")
    # KubeRay puts the autoscaler into the head pod.
    pod = f"{manifest}:head" if container == "autoscaler" else name.rsplit(":", 1)[0]
    template = dict(TEMPLATES)[pod]
    return {v["name"]: v for v in template["spec"].get("volumes", [])}


@pytest.mark.parametrize("name,container", CONTAINERS, ids=[n for n, _ in CONTAINERS])
def test_container_root_filesystem_is_read_only_with_a_writable_tmp(name, container):
    assert container.get("securityContext", {}).get("readOnlyRootFilesystem") is True
    volumes = _volumes_of(name)
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    for mount in mounts.values():
        assert mount["name"] in volumes, f"{name} mounts {mount['name']}, not a volume of its pod"
    # Ray's session directory, `ray job submit`'s and Python's temporary files.
    assert "/tmp" in mounts, f"{name}: nothing writable at /tmp"
    tmp = volumes[mounts["/tmp"]["name"]]
    assert "emptyDir" in tmp and not mounts["/tmp"].get("readOnly")
    assert tmp["emptyDir"].get("medium", "") != "Memory", "/tmp in RAM would eat the object store"


@pytest.mark.parametrize("name,spec", cluster_specs(), ids=[n for n, _ in cluster_specs()])
def test_ray_containers_can_write_where_ray_and_the_sweep_write(name, spec):
    for group_name, group in all_groups(spec):
        container = ray_container(group["template"])
        volumes = {v["name"]: v for v in group["template"]["spec"]["volumes"]}
        writable = {
            m["mountPath"]
            for m in container["volumeMounts"]
            if not m.get("readOnly")
            and ("emptyDir" in volumes[m["name"]] or "persistentVolumeClaim" in volumes[m["name"]])
        }
        # /tmp/ray (sessions, logs, spilled objects), the object store, the sweep, the caches.
        for path in ("/tmp", "/dev/shm", "/mnt/raytrack", "/home/ray/.cache"):
            assert path in writable, f"{group_name}: {path} is not writable"


# -- /dev/shm and the object store ----------------------------------------------------------------


@pytest.mark.parametrize("name,template", TEMPLATES, ids=[n for n, _ in TEMPLATES])
def test_every_memory_emptydir_has_a_size_limit(name, template):
    limits = [
        quantity(c.get("resources", {}).get("limits", {}).get("memory", 0))
        for c in template["spec"]["containers"]
    ]
    for volume in template["spec"].get("volumes", []):
        empty_dir = volume.get("emptyDir")
        if empty_dir is None or empty_dir.get("medium") != "Memory":
            continue
        assert "sizeLimit" in empty_dir, f"{name}: emptyDir {volume['name']} in RAM, unbounded"
        # A memory-backed emptyDir is charged to the pod's memory: a limit above it never bites.
        assert 0 < quantity(empty_dir["sizeLimit"]) < max(limits), volume["name"]


@pytest.mark.parametrize("name,spec", cluster_specs(), ids=[n for n, _ in cluster_specs()])
def test_object_store_fits_in_dev_shm(name, spec):
    """Ray puts its object store in /dev/shm only when it fits (else disk, or above 10 GB no
    start at all); by default it takes 30% of the container's memory."""
    for group_name, group in all_groups(spec):
        container = ray_container(group["template"])
        volumes = {v["name"]: v for v in group["template"]["spec"]["volumes"]}
        shm = next(m for m in container["volumeMounts"] if m["mountPath"] == "/dev/shm")
        size_limit = quantity(volumes[shm["name"]]["emptyDir"]["sizeLimit"])
        memory = quantity(container["resources"]["limits"]["memory"])
        param = group["rayStartParams"].get("object-store-memory")
        object_store = int(param) if param is not None else 0.3 * memory
        assert object_store < size_limit < memory, (
            f"{group_name}: object store {object_store / 2**30:.1f} GiB, /dev/shm "
            f"{size_limit / 2**30:.1f} GiB, memory {memory / 2**30:.1f} GiB"
        )


# -- NetworkPolicies -----------------------------------------------------------------------------

NAMESPACE = "physics"  # where the manifests are applied; they name none themselves
RAY_PORTS = {
    "gcs": 6379,
    "dashboard": 8265,
    "client": 10001,
    "metrics": 8080,
    "dashboard-agent": 52365,
    "a worker": 12345,
    "object manager": 40123,
}


@functools.cache
def _clusters() -> list[tuple[str, str, dict, dict | None]]:
    """(object name, the name KubeRay gives the RayCluster, cluster spec, submitter template)."""
    raycluster = one("RayCluster", "raycluster.yaml")
    rayjob = one("RayJob", "rayjob.yaml")
    return [
        (raycluster["metadata"]["name"], raycluster["metadata"]["name"], raycluster["spec"], None),
        (
            rayjob["metadata"]["name"],
            f"{rayjob['metadata']['name']}-x7k2q",  # KubeRay adds 5 random characters
            rayjob["spec"]["rayClusterSpec"],
            rayjob["spec"]["submitterPodTemplate"],
        ),
    ]


def _ray_pods(cluster: str, spec: dict) -> dict[str, Pod]:
    pods = {}
    for group_name, group in all_groups(spec):
        node_type = "head" if group_name == "head" else "worker"
        labels = kuberay_pod_labels(
            cluster,
            node_type,
            "headgroup" if node_type == "head" else group_name,
            group["template"]["metadata"]["labels"],
        )
        ports = {
            p["name"]: p["containerPort"] for p in ray_container(group["template"]).get("ports", [])
        }
        pods[group_name] = Pod(NAMESPACE, labels, ports=ports)
    return pods


def _outsiders() -> dict[str, Pod]:
    return {
        "a pod of the namespace": Pod(NAMESPACE, {"app": "notebook"}),
        "a pod elsewhere": Pod("web", {"app": "frontend"}),
        "a kuberay-operator lookalike in the namespace": Pod(
            NAMESPACE, {"app.kubernetes.io/name": "kuberay-operator"}
        ),
    }


def _operator() -> Pod:
    # The Helm chart's pod labels, in the namespace the policies name for it.
    policy = next(p for p in POLICIES if p["metadata"]["name"] == "raytrack-dashboard")
    peer = next(
        peer
        for peer in policy["spec"]["ingress"][0]["from"]
        if peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        == "kuberay-operator"
    )
    namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    return Pod(
        namespace,
        {
            "app.kubernetes.io/name": "kuberay-operator",
            "app.kubernetes.io/instance": "kuberay-operator",
        },
    )


def _allowed(target: Pod, source: Pod, port: int) -> bool:
    return ingress_allowed(POLICIES, NAMESPACE, target, source, port)


def test_every_ray_pod_is_isolated_by_a_policy():
    """Without a policy that selects it, a pod accepts everything: every Ray pod is selected."""
    for _, cluster, spec, _ in _clusters():
        for group_name, pod in _ray_pods(cluster, spec).items():
            selecting = [
                p["metadata"]["name"]
                for p in POLICIES
                if selector_matches(p["spec"]["podSelector"], pod.labels)
                and "Ingress" in p["spec"]["policyTypes"]
            ]
            assert selecting, f"{cluster} {group_name}: no NetworkPolicy selects it"


@pytest.mark.parametrize("name", [c[0] for c in _clusters()])
def test_a_ray_cluster_reaches_all_of_its_own_ports(name):
    _, cluster, spec, _ = next(c for c in _clusters() if c[0] == name)
    pods = _ray_pods(cluster, spec)
    head, worker = pods["head"], pods["gpu"]
    for port_name, port in RAY_PORTS.items():
        assert _allowed(head, worker, port), f"worker -> head {port_name} ({port}) refused"
        assert _allowed(worker, head, port), f"head -> worker {port_name} ({port}) refused"
        assert _allowed(worker, worker, port), f"worker -> worker {port_name} ({port}) refused"


def test_the_two_clusters_do_not_reach_each_other():
    (_, a, spec_a, _), (_, b, spec_b, _) = _clusters()
    pods_a, pods_b = _ray_pods(a, spec_a), _ray_pods(b, spec_b)
    for port in RAY_PORTS.values():
        for source in pods_b.values():
            for target in pods_a.values():
                assert not _allowed(target, source, port)
        for source in pods_a.values():
            for target in pods_b.values():
                assert not _allowed(target, source, port)


@pytest.mark.parametrize("name", [c[0] for c in _clusters()])
def test_outsiders_reach_nothing(name):
    _, cluster, spec, _ = next(c for c in _clusters() if c[0] == name)
    for who, outsider in _outsiders().items():
        for group_name, pod in _ray_pods(cluster, spec).items():
            for port_name, port in RAY_PORTS.items():
                assert not _allowed(pod, outsider, port), (
                    f"{who} reaches {cluster} {group_name} on {port_name} ({port})"
                )


@pytest.mark.parametrize("name", [c[0] for c in _clusters()])
def test_operator_and_labelled_pods_reach_only_the_dashboard(name):
    _, cluster, spec, _ = next(c for c in _clusters() if c[0] == name)
    pods = _ray_pods(cluster, spec)
    admitted = {
        "the KubeRay operator": _operator(),
        "a pod labelled for the dashboard": Pod(NAMESPACE, {"raytrack/dashboard-access": "true"}),
        "a pod of a namespace labelled for it": Pod(
            "monitoring", {"app": "grafana"}, {"raytrack/dashboard-access": "true"}
        ),
    }
    for who, source in admitted.items():
        assert _allowed(pods["head"], source, RAY_PORTS["dashboard"]), f"{who}: no dashboard"
        for port_name, port in RAY_PORTS.items():
            if port_name != "dashboard":
                assert not _allowed(pods["head"], source, port), f"{who} reaches {port_name}"
            assert not _allowed(pods["gpu"], source, port), f"{who} reaches a worker"
    # The label on a pod of another namespace is not enough.
    assert not _allowed(
        pods["head"], Pod("web", {"raytrack/dashboard-access": "true"}), RAY_PORTS["dashboard"]
    )


def test_the_rayjobs_k8s_job_pod_reaches_its_dashboard_and_nothing_else():
    """The pod KubeRay runs `ray job submit` in (its submitterPodTemplate)."""
    (_, rc_cluster, rc_spec, _), (_, job_cluster, job_spec, submitter_template) = _clusters()
    submitter = Pod(
        NAMESPACE,
        {
            **submitter_template["metadata"]["labels"],
            # what the Job controller adds to the pods of the Job KubeRay names after the RayJob
            "batch.kubernetes.io/job-name": one("RayJob", "rayjob.yaml")["metadata"]["name"],
        },
    )
    job_pods = _ray_pods(job_cluster, job_spec)
    assert _allowed(job_pods["head"], submitter, RAY_PORTS["dashboard"])
    for port_name, port in RAY_PORTS.items():
        if port_name != "dashboard":
            assert not _allowed(job_pods["head"], submitter, port), port_name
        assert not _allowed(job_pods["gpu"], submitter, port), port_name
        for pod in _ray_pods(rc_cluster, rc_spec).values():
            assert not _allowed(pod, submitter, port), "the submitter reaches the other cluster"


def test_the_evaluator_follows_kubernetes_semantics():
    """Guards the guard: the evaluator above against hand-made policies."""
    web = Pod("ns", {"app": "web"}, ports={"http": 80})
    db = Pod("ns", {"app": "db"})
    other_ns = Pod("other", {"app": "web"})
    deny_all = {
        "metadata": {"name": "deny"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    assert ingress_allowed([], "ns", db, web, 5432)  # no policy: not isolated
    assert not ingress_allowed([deny_all], "ns", db, web, 5432)
    allow_web = {
        "metadata": {"name": "allow"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                    "ports": [{"port": 5432}],
                }
            ],
        },
    }
    assert ingress_allowed([deny_all, allow_web], "ns", db, web, 5432)  # policies add up
    assert not ingress_allowed([deny_all, allow_web], "ns", db, web, 5433)
    assert not ingress_allowed([allow_web], "ns", db, other_ns, 5432)  # podSelector: own namespace
    assert not ingress_allowed([allow_web], "ns", db, web, 5432, protocol="UDP")
    named = {
        "metadata": {"name": "named"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"ports": [{"port": "http"}]}],  # no policyTypes: Ingress; no from: all
        },
    }
    assert ingress_allowed([named], "ns", web, other_ns, 80)
    assert not ingress_allowed([named], "ns", web, other_ns, 81)
    expressions = {
        "metadata": {"name": "expr"},
        "spec": {
            "podSelector": {
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]
            },
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "other"}
                            },
                            "podSelector": {
                                "matchExpressions": [{"key": "app", "operator": "Exists"}]
                            },
                        }
                    ]
                }
            ],
        },
    }
    assert ingress_allowed([expressions], "ns", db, other_ns, 1)
    assert not ingress_allowed([expressions], "ns", db, web, 1)


# -- no world-writable files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command,flagged",
    [
        ("sudo chmod 1777 /mnt/raytrack", True),
        ("mkdir -p /x && chmod -R a+w /x", True),
        ("chmod o=rwx /x", True),
        ("chmod +w /x", True),
        ("chmod o=u /x", True),
        ("mkdir -m 0777 /x", True),
        ("install -m 666 a /x", True),
        ("umask 000; ray start", True),
        ("docker run --tmpfs /x:rw,mode=1777 img", True),
        ("sudo chown 1000:1000 /mnt/raytrack && sudo chmod 2770 /mnt/raytrack", False),
        ("chmod 0755 /x; chmod u+w,g+w /x; chmod -w /x; chmod o-w /x", False),
        ("mkdir -p -m0770 /x && umask 022", False),
        ("echo chmod is not run here, 'chmod 777' neither", False),
        ("sudo -u root chmod 777 /x", True),
        ("FOO=1 bash -c 'cd /x && chmod 1777 .'", True),
        ("ulimit -n 65536; RAY_AUTH_MODE=token ray start --head", False),
    ],
)
def test_world_writable_finder(command, flagged):
    assert bool(world_writable_modes(command)) is flagged, world_writable_modes(command)


def test_mode_parser():
    assert mode_is_world_writable("1777") and mode_is_world_writable("0002")
    assert not mode_is_world_writable("2770") and not mode_is_world_writable("0775")
    assert mode_is_world_writable("a=rwx") and not mode_is_world_writable("ug=rwx,o=rx")


def test_manifests_make_nothing_world_writable():
    for key, doc in kuberay_docs():
        found = {path: world_writable_modes(text) for path, text in strings_in(doc)}
        assert {path: modes for path, modes in found.items() if modes} == {}, key
        for path, mode in file_modes_in(doc):
            assert not mode & 0o002, f"{key} {path}: mode {mode:o} is world-writable"


def test_dockerfile_makes_nothing_world_writable():
    commands = dockerfile_run_commands()
    assert commands, "no RUN instruction found in cluster/Dockerfile"
    assert {c: world_writable_modes(c) for c in commands if world_writable_modes(c)} == {}


# -- images --------------------------------------------------------------------------------------


def test_a_digest_pinned_image_passes_the_image_checks():
    """cluster/README.md says to pin images as `REGISTRY/raytrack:<tag>@sha256:<digest>`: the
    checks that read the Ray version from the tag must accept that form, and only a whole
    sha256 digest."""
    digest = "sha256:" + "0123456789abcdef" * 4
    pinned = IMAGE_TAG.search(f"registry.example/raytrack:2.60.0-py311-gpu@{digest}")
    assert pinned and pinned["ray"] == "2.60.0" and pinned["digest"] == digest
    assert not IMAGE_TAG.search("registry.example/raytrack:2.60.0-py311-gpu@sha256:0123")
    assert not IMAGE_TAG.search(f"registry.example/raytrack@{digest}")  # the tag must stay
