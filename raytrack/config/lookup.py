"""Looking up what an experiment names: its plug-ins, its model and its data source.

:func:`lookup` is the part of validation that needs the registry (and so torch, through the
model's builder): it loads the experiment's ``plugins``, finds the model and the data source,
and returns the :class:`~raytrack.config.paths.Namespaces` every later check uses, with the
problems found on the way, each at its YAML location.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from raytrack.config.paths import Loc, Namespaces

Issue = tuple[Loc, str]


def lookup(
    name: str | None,
    plugins: Sequence[str] | None,
    source: str | None,
    generate: Mapping[str, Any] | None,
) -> tuple[Namespaces, Any, list[Issue]]:
    """The namespaces and registry entry of model ``name``, and what is wrong on the way.

    ``source`` is ``data.source`` as written (``None``: the model's first source) and
    ``generate`` the raw ``data.generate`` section (``None`` when absent).
    """
    from raytrack.registry import get_model, get_source

    issues: list[Issue] = []
    unknown = Namespaces(name or "", None, None, None, None)
    if name is None:
        return unknown, None, issues
    try:
        entry = get_model(name, plugins or ())
        hparams = {n: hp.annotation for n, hp in entry.hyperparameters().items()}
    except ImportError as err:
        return unknown, None, [(("plugins",), str(err))]
    except KeyError as err:
        return unknown, None, [(("model", "name"), err.args[0])]
    except TypeError as err:  # the builder and the task declare a shared name differently
        return unknown, None, [(("model", "name"), str(err))]
    declared = entry.spec.sources
    chosen = source or (declared[0] if declared else None)
    settings = None
    if chosen is not None:
        try:
            data_source = get_source(chosen)
        except KeyError as err:
            issues.append((("data", "source"), err.args[0]))
        else:
            settings = data_source.settings_model()
            if source is not None and declared and source not in declared:
                issues.append(
                    (("data", "source"), f"model {name!r} does not read data source {source!r} "
                     f"(it reads: {', '.join(declared)})")
                )  # fmt: skip
            issues += _generate_issues(data_source, generate)
    elif generate is not None:
        issues.append(
            (("data", "generate"), f"model {name!r} trains on a previous stage's output (written "
             "by `raytrack infer`) and has no data source to build a store from: remove "
             "data.generate, or name one with data.source")
        )  # fmt: skip
    ns = Namespaces(name, hparams, entry.task.Options, settings, chosen)
    return ns, entry, issues


def _generate_issues(source: Any, generate: Mapping[str, Any] | None) -> list[Issue]:
    if not isinstance(generate, Mapping):
        return []
    where = ("data", "generate")
    if source.kind == "simulator" and generate.get("events") is None:
        return [(where + ("events",), f"missing required key: the simulator {source.name!r} needs "
                 "the number of samples to generate")]  # fmt: skip
    if source.kind == "reader":
        given = [key for key in ("events", "seed") if generate.get(key) is not None]
        return [
            (where + (key,), f"the reader {source.name!r} reads every sample of its files: it takes "
             f"no {key} (its settings: {', '.join(source.settings_model().model_fields)})")
            for key in given
        ]  # fmt: skip
    return []
