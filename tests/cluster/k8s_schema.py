"""KubeRay CRD schemas applied the way the Kubernetes API server applies them, for the tests.

:func:`schema_errors` validates a manifest against a CRD's ``openAPIV3Schema`` with strict field
validation: unknown fields are errors (:func:`structural`) and the ``x-kubernetes-*``
extensions (int-or-string, list-map keys, CEL validations, int32/int64 formats) are enforced by
:data:`K8sValidator`, which plain jsonschema would ignore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


# CEL rules of x-kubernetes-validations, as Python predicates over the validated value. Rules
# that compare with oldSelf only apply to updates and are skipped; any other rule found in a CRD
# must be listed here, so that a new KubeRay release with new rules fails loudly, not silently.
CEL_RULES: dict[str, Callable[[Any], bool]] = {
    "self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']": lambda v: (
        v in ("ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue")
    ),
    "!(has(self.jobStatus) && has(self.jobDeploymentStatus))": lambda v: (
        not ("jobStatus" in v and "jobDeploymentStatus" in v)
    ),
    "has(self.jobStatus) || has(self.jobDeploymentStatus)": lambda v: (
        "jobStatus" in v or "jobDeploymentStatus" in v
    ),
    "!((has(self.onSuccess) || has(self.onFailure)) && has(self.deletionRules))": lambda v: (
        not (("onSuccess" in v or "onFailure" in v) and "deletionRules" in v)
    ),
    "((has(self.onSuccess) && has(self.onFailure)) || has(self.deletionRules))": lambda v: (
        ("onSuccess" in v and "onFailure" in v) or "deletionRules" in v
    ),
}


def is_transition_rule(rule: str) -> bool:
    return "oldSelf" in rule


def _cel(
    validator: Any, rules: list[dict], instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    for entry in rules:
        rule = entry["rule"]
        if is_transition_rule(rule):
            continue
        if rule not in CEL_RULES:
            yield jsonschema.ValidationError(
                f"CEL rule not understood by this test, teach CEL_RULES: {rule}"
            )
        elif not CEL_RULES[rule](instance):
            yield jsonschema.ValidationError(entry.get("message", f"failed CEL rule {rule}"))


def _list_map_keys(
    validator: Any, keys: list[str], instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
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
            yield jsonschema.ValidationError(
                f"duplicate list-map key {dict(zip(keys, key))} at item {index}"
            )
        seen.add(tuple(key))


def _int_or_string(
    validator: Any, value: bool, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    if value and not (
        validator.is_type(instance, "integer") or validator.is_type(instance, "string")
    ):
        yield jsonschema.ValidationError(f"{instance!r} is neither an integer nor a string")


def _k8s_format(
    validator: Any, fmt: str, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
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
    out = {
        key: structural(value) if key not in ("enum", "default", "example") else value
        for key, value in schema.items()
    }
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if out.get("x-kubernetes-embedded-resource"):
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})
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


def networkpolicy_schema(raycluster_crd: dict) -> dict:
    """A ``networking.k8s.io/v1`` NetworkPolicy schema built from the RayCluster CRD.

    KubeRay >= 1.7 embeds the API server's own ``NetworkPolicyIngressRule`` and
    ``NetworkPolicyEgressRule`` schemas (and the ``LabelSelector`` within them) in the RayCluster
    CRD, under ``spec.networkPolicy.head``; the spec around them (podSelector, policyTypes,
    ingress, egress) and the object's envelope are written out here, after the Kubernetes API
    reference. Validate with :data:`K8sValidator`, after :func:`structural`.
    """
    version = raycluster_crd["spec"]["versions"][0]
    head = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "networkPolicy"
    ]["properties"]["head"]["properties"]
    ingress_rule = head["ingressRules"]["items"]
    egress_rule = head["egressRules"]["items"]
    label_selector = ingress_rule["properties"]["from"]["items"]["properties"]["podSelector"]
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["networking.k8s.io/v1"]},
            "kind": {"type": "string", "enum": ["NetworkPolicy"]},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
                    "namespace": {"type": "string"},
                    "labels": string_map,
                    "annotations": string_map,
                },
            },
            "spec": {
                "type": "object",
                "required": ["podSelector"],
                "properties": {
                    "podSelector": label_selector,
                    "policyTypes": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["Ingress", "Egress"]},
                    },
                    "ingress": {"type": "array", "items": ingress_rule},
                    "egress": {"type": "array", "items": egress_rule},
                },
            },
        },
    }


def networkpolicy_errors(raycluster_crd: dict, doc: dict) -> list[str]:
    key = (raycluster_crd["metadata"]["name"], "networking.k8s.io/v1 NetworkPolicy")
    if key not in _VALIDATORS:
        schema = structural(networkpolicy_schema(raycluster_crd))
        K8sValidator.check_schema(schema)
        _VALIDATORS[key] = K8sValidator(schema)
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _VALIDATORS[key].iter_errors(doc)
    ]
    # What the API server checks beyond the schema: protocols, port numbers, selector operators.
    spec = doc.get("spec") or {}
    for rule_kind in ("ingress", "egress"):
        for i, rule in enumerate(spec.get(rule_kind) or []):
            for j, port in enumerate(rule.get("ports") or []):
                where = f"spec.{rule_kind}.{i}.ports.{j}"
                if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                    errors.append(f"{where}.protocol: {port['protocol']!r} is not TCP, UDP or SCTP")
                number = port.get("port")
                if isinstance(number, int) and not 1 <= number <= 65535:
                    errors.append(f"{where}.port: {number} is not a port number")
    selectors = [("spec.podSelector", spec.get("podSelector") or {})]
    for rule_kind, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(rule_kind) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                for name in ("podSelector", "namespaceSelector"):
                    if isinstance(peer.get(name), dict):
                        where = f"spec.{rule_kind}.{i}.{peers_key}.{j}.{name}"
                        selectors.append((where, peer[name]))
    for where, selector in selectors:
        for k, expression in enumerate(selector.get("matchExpressions") or []):
            if expression.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist"):
                errors.append(f"{where}.matchExpressions.{k}.operator: {expression}")
    return sorted(errors)
