"""Dormant hyperparameters: values set or searched where they change nothing.

A task declares, in :attr:`raytrack.tasks.base.Task.needs`, the hyperparameters that act only
under a setting of another one (a regime keyword such as ``rp``, a mode such as ``input_graph:
geometric``). Here each such hyperparameter is checked against every value its setting can
take in the experiment: the fixed one (or the default), each value a search of the setting
gives, and each on/off of a searched regime keyword (``regime.rp: {choices: [true, false]}``).

- A value set in ``model.hparams`` where the setting never lets it act is a **warning** naming
  what it needs (it is dormant under this regime; another regime would use it).
- A **search** that varies the hyperparameter while some value of the setting leaves it dormant
  is an **error**: those trials would differ in nothing but a value that changes nothing.

Each finding is ``(kind, location, message)``, ``kind`` ``"warning"`` or ``"error"``;
:mod:`raytrack.config.validate` reports them with their YAML lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raytrack.config.paths import Loc, Target, keyword_list
from raytrack.config.search import Spec

Finding = tuple[str, Loc, str]
Candidate = tuple[Any, str]
"""A value the controlling setting can take, and where it comes from (for messages)."""


def dormant_findings(
    entry: Any,
    fixed: Mapping[str, Any],
    specs: Mapping[str, tuple[Target, Spec]],
    search_keys: Mapping[str, str],
) -> list[Finding]:
    """Warnings and errors for the dormant hyperparameters of ``entry``'s task.

    ``fixed``: ``model.hparams`` as written; ``specs``: the valid search entries by canonical
    path; ``search_keys``: the search key of each canonical path.
    """
    needs = getattr(entry.task, "needs", None) or {}
    if not needs:
        return []
    hyperparameters = entry.hyperparameters()
    found: list[Finding] = []
    for name, need in needs.items():
        canonical = f"model.hparams.{name}"
        searched = canonical in specs and specs[canonical][0].kind == "hparam"
        if not searched and name not in fixed:
            continue
        candidates = _candidates(need.setting, hyperparameters, fixed, specs, search_keys)
        dormant = [(value, origin) for value, origin in candidates if not need.acts(value)]
        if not dormant:
            continue
        listed = keyword_list(hyperparameters[need.setting].annotation) is not None
        value, origin = dormant[0]
        what = _requirement(need, listed)
        where = f"{need.setting} is {_show(value)} ({origin})"
        if searched:
            message = (
                f"the search varies {name}, but {name} acts only with {what} and {where}: "
                f"there every value of {name} trains the same; search {name} only where "
                f"{need.setting} lets it act ({_fix(need, listed)} in every trial), or fix it"
            )
            found.append(("error", ("search", search_keys[canonical]), message))
        elif len(dormant) == len(candidates) and fixed[name] not in need.inert:
            message = (
                f"{name} is dormant: it acts only with {what}, but {where}, so this value "
                f"changes nothing (remove {name}, or {_fix(need, listed)})"
            )
            found.append(("warning", ("model", "hparams", name), message))
    return found


def _candidates(
    setting: str,
    hyperparameters: Mapping[str, Any],
    fixed: Mapping[str, Any],
    specs: Mapping[str, tuple[Target, Spec]],
    search_keys: Mapping[str, str],
) -> list[Candidate]:
    """Every value ``setting`` can take in this experiment, with its origin."""
    canonical = f"model.hparams.{setting}"
    if canonical in specs and specs[canonical][0].kind == "hparam":
        key = search_keys[canonical]
        base = [
            (value, f"search.{key}{_index(loc)}") for loc, value in specs[canonical][1].samples()
        ]
    elif setting in fixed:
        base = [(fixed[setting], f"model.hparams.{setting}")]
    elif setting in hyperparameters and not hyperparameters[setting].required:
        base = [(hyperparameters[setting].default, "its default")]
    else:
        return []
    for path, (target, spec) in specs.items():
        if target.kind != "toggle" or target.name != setting:
            continue
        expanded = []
        for value, origin in base:
            for _, flag in spec.samples():
                keywords = [k for k in (value or ()) if k != target.keyword]
                if flag:
                    keywords.append(target.keyword)
                expanded.append((keywords, f"{origin} with search.{search_keys[path]}: {flag}"))
        base = expanded
    return base


def _index(loc: Loc) -> str:
    field, *rest = loc
    return f".{field}" + "".join(f"[{i}]" for i in rest)


def _requirement(need: Any, listed: bool) -> str:
    if not listed:
        return f"{need.setting}: {need.value}"
    unless = f" and none of {', '.join(map(str, need.unless))}" if need.unless else ""
    return f"the {need.setting} keyword {need.value}{unless}"


def _fix(need: Any, listed: bool) -> str:
    if not listed:
        return f"set {need.setting}: {need.value}"
    unless = f" without {', '.join(map(str, need.unless))}" if need.unless else ""
    return f"put {need.value} in {need.setting}{unless}"


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
