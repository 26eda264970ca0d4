"""Checks across sections that need the model: the tuned metric, ASHA against the epochs, and
the training section against the task (its optimizers, loss terms and metrics).

Each returns ``(location, message)`` pairs; :mod:`raytrack.config.validate` reports them with
their YAML lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raytrack.config.paths import Loc
from raytrack.suggest import unknown_message

Setting = Callable[[str], Any]
"""The validated value of a dotted setting (its default when absent, ``None`` when invalid)."""


def allowed_metrics(entry: Any) -> list[str]:
    """What a model reports each epoch: ``train_loss`` and ``val_<metric>`` of its task."""
    return ["train_loss", *(f"val_{m}" for m in entry.task.metrics)]


def train_task_problems(entry: Any, setting: Setting) -> list[tuple[Loc, str]]:
    """The ``train`` section against the task: optimizer and loss-term names, stage metrics."""
    from raytrack.config.training import train_problems

    train = setting("train")
    if entry is None or train is None:
        return []
    return [
        (("train", *loc), message)
        for loc, message in train_problems(
            train, entry.task, allowed_metrics(entry), entry.hyperparameters()
        )
    ]


def tune_problems(
    entry: Any, setting: Setting, searched_epochs: list[int] | None
) -> list[tuple[Loc, str]]:
    """The tuned metric is one the model reports; ASHA's rungs fit in the trials' epochs.

    ``searched_epochs``: the values a search over ``train.max_epochs`` may take (``None`` when
    it is not searched).
    """
    found: list[tuple[Loc, str]] = []
    metric = setting("tune.metric")
    if entry is not None and metric is not None and metric not in allowed_metrics(entry):
        allowed = allowed_metrics(entry)
        found.append(
            (
                ("tune", "metric"),
                unknown_message("metric", metric, allowed, f" of model {entry.name!r}"),
            )
        )
    train = setting("train")  # its max_epochs may come from its stages; if invalid, the key alone
    epochs = train.max_epochs if train is not None else setting("train.max_epochs")
    what = "train.max_epochs"
    if searched_epochs:
        epochs, what = max(searched_epochs), "the largest searched train.max_epochs"
    max_t, grace = setting("tune.scheduler.max_t"), setting("tune.scheduler.grace_period")
    if setting("tune.scheduler.name") != "asha" or epochs is None:
        return found
    if max_t is not None and max_t > epochs:
        found.append(
            (
                ("tune", "scheduler", "max_t"),
                f"max_t ({max_t}) exceeds {what} ({epochs}): no trial runs that long",
            )
        )
    top = f"{max_t}" if max_t is not None else f"{epochs} = {what}"
    if grace is not None and grace > (max_t if max_t is not None else epochs):
        found.append(
            (
                ("tune", "scheduler", "grace_period"),
                f"grace_period ({grace}) exceeds ASHA's max_t ({top})",
            )
        )
    return found


def frozen_module_problems(entry: Any, setting: Setting) -> list[tuple[Loc, str]]:
    """Every stage's ``freeze`` names a submodule of the model, checked before anything runs.

    The model is built on torch's ``meta`` device (no memory, no weights); a builder that cannot
    build there is checked when the trial starts instead.
    """
    train, hparams = setting("train"), setting("model.hparams")
    if entry is None or train is None or hparams is None or not any(s.freeze for s in train.stages):
        return []
    import torch

    try:
        model_kwargs, _ = entry.split(hparams)
        with torch.device("meta"):
            model = entry.builder(**model_kwargs)
    except Exception:  # noqa: BLE001 - any failure here is reported by the trial itself
        return []
    modules = {name for name, _ in model.named_modules() if name}
    top = [name for name, _ in model.named_children()]  # the choices shown; any dotted path is fine
    found: list[tuple[Loc, str]] = []
    for index, stage in enumerate(train.stages):
        for position, name in enumerate(stage.freeze):
            if name not in modules:
                owner = f" of model {entry.name!r} to freeze"
                found.append(
                    (
                        ("train", "stages", index, "freeze", position),
                        unknown_message("submodule", name, top, owner),
                    )
                )
    return found
