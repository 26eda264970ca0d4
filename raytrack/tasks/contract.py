"""The contract every registered model must keep with the training loop, as runnable checks.

In the manner of Optuna's sampler test suite: each check takes a registered model (anything
with ``name``, ``task``, ``build(hparams, options)`` and ``spec.example``) and raises
``AssertionError`` saying what is wrong. ``tests/tasks/test_contract.py`` runs every check on
every model the registry knows, raytrack's own and any installed plug-in's; a lab can run
them on its family the same way::

    from raytrack.registry import get_model
    from raytrack.tasks.contract import CHECKS

    for check in CHECKS:
        check(get_model("my_model"))

The checks run the model on its family's :class:`~raytrack.family.ContractExample` (tiny real
rows and hyperparameters): prepare → collate → finite losses, one per declared term → backward
reaches every optimizer's parameters → validation statistics are additive (those of two
halves of a batch sum to those of the whole) → ``summarize`` returns exactly the declared
metric names → a pipeline stage's output rows keep the key and declare their columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from raytrack.family import ContractExample, resolve
from raytrack.tasks.base import Task, move_to


def example_of(entry: Any) -> ContractExample:
    """The model's contract example (every model must declare one)."""
    ref = entry.spec.example
    assert ref is not None, (
        f"model {entry.name!r} declares no contract example (ModelSpec.example): give a function "
        "returning a raytrack.family.ContractExample with tiny hyperparameters and real rows"
    )
    example = resolve(ref, f"example of model {entry.name!r}")()
    assert isinstance(example, ContractExample), f"{ref} must return a ContractExample"
    assert len(example.rows) >= 2, (
        f"the example of {entry.name!r} needs at least 2 rows, has {len(example.rows)}"
    )
    return example


def built(entry: Any) -> tuple[torch.nn.Module, Task, ContractExample]:
    example = example_of(entry)
    torch.manual_seed(0)
    model, task = entry.build(example.hparams, example.options)
    assert isinstance(task, Task), f"the task of {entry.name!r} is not a raytrack Task"
    if example.context is not None:
        task.setup(example.context)
    return model, task, example


def batch_of(task: Task, rows: list[Mapping[str, Any]]) -> Any:
    return task.collate([task.prepare(row) for row in rows])


def _losses(task: Task, output: Any) -> dict[str, torch.Tensor]:
    terms = dict(output) if isinstance(output, Mapping) else {"loss": output}
    assert set(terms) == set(task.loss_terms), (
        f"training_step returned the loss terms {sorted(terms)}, but the task declares "
        f"{sorted(task.loss_terms)} (Task.loss_terms)"
    )
    for name, value in terms.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, (
            f"loss term {name!r} is not a scalar tensor"
        )
        assert torch.isfinite(value), f"loss term {name!r} is {value.item()}"
    return terms


def check_declarations(entry: Any) -> None:
    """Hyperparameters resolve; metrics, loss terms and optimizers are declared and consistent."""
    entry.hyperparameters()  # raises when the builder and the task declare a name differently
    task = entry.task
    assert task.metrics and all(isinstance(m, str) for m in task.metrics), (
        "Task.metrics must name the metrics"
    )
    assert len(set(task.metrics)) == len(task.metrics), (
        f"Task.metrics repeats a name: {task.metrics}"
    )
    assert task.loss_terms, "Task.loss_terms must name at least one loss term"


def check_training_step(entry: Any) -> None:
    """prepare → collate → finite losses → backward gives every optimizer's parameters a gradient."""
    model, task, example = built(entry)
    model.train()
    groups = task.parameter_groups(model)
    assert set(groups) == set(task.optimizer_names()), (
        f"parameter_groups returned {sorted(groups)}, but the loss terms name the optimizers "
        f"{sorted(task.optimizer_names())}"
    )
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    grouped = [id(p) for params in groups.values() for p in params]
    assert len(grouped) == len(set(grouped)), "a parameter is in more than one optimizer's group"
    assert set(grouped) == trainable, "every trainable parameter must be in exactly one group"
    terms = _losses(task, task.training_step(model, move_to(batch_of(task, example.rows), "cpu")))
    sum(terms.values()).backward()
    for optimizer, params in groups.items():
        grads = [p.grad for p in params if p.grad is not None]
        assert grads, f"no parameter of optimizer {optimizer!r} received a gradient"
        assert all(torch.isfinite(g).all() for g in grads), (
            f"non-finite gradient for optimizer {optimizer!r}"
        )


def _validation(
    model: torch.nn.Module, task: Task, rows: list[Mapping[str, Any]]
) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    with torch.no_grad():
        stats = task.validation_step(model, batch_of(task, rows))
    for key, value in stats.items():
        assert isinstance(value, torch.Tensor), f"validation statistic {key!r} is not a tensor"
    return {key: value.detach().double() for key, value in stats.items()}


def check_validation_is_additive(entry: Any) -> None:
    """The statistics of two halves of a batch sum to those of the whole batch."""
    model, task, example = built(entry)
    model.eval()
    rows = example.rows
    half = len(rows) // 2
    whole = _validation(model, task, rows)
    first, second = _validation(model, task, rows[:half]), _validation(model, task, rows[half:])
    assert set(first) == set(second) == set(whole), (
        "validation_step must return the same statistics for every batch"
    )
    for key, total in whole.items():
        summed = first[key] + second[key]
        assert summed.shape == total.shape, f"statistic {key!r} changes shape with the batch"
        assert torch.allclose(summed, total, rtol=1e-6, atol=1e-6), (
            f"statistic {key!r} is not additive: halves sum to {summed.flatten()[:6].tolist()}, "
            f"the whole batch gives {total.flatten()[:6].tolist()}"
        )


def check_summarize(entry: Any) -> None:
    """``summarize`` of the validation totals returns exactly the declared metrics, as floats."""
    model, task, example = built(entry)
    model.eval()
    metrics = task.summarize(_validation(model, task, example.rows))
    assert set(metrics) == set(task.metrics), (
        f"summarize returned {sorted(metrics)}, but the task declares {sorted(task.metrics)}"
    )
    for name, value in metrics.items():
        assert isinstance(value, float), f"metric {name!r} is a {type(value).__name__}, not a float"


def check_stage_output(entry: Any) -> None:
    """A pipeline stage's output row keeps the row's key and declares the columns it adds."""
    model, task, example = built(entry)
    if type(task).infer is Task.infer:
        return  # not a pipeline stage
    model.eval()
    row = example.rows[0]
    with torch.no_grad():
        out = task.infer(model, row, "cpu")
    assert isinstance(out, Mapping), f"infer must return a row mapping, not a {type(out).__name__}"
    shared = [k for k in row if k in out and isinstance(row[k], int)]
    assert shared, "infer's output row must keep the input row's key"
    names = [column.name for column in task.output_columns(out)]
    missing = [n for n in names if n not in out]
    assert not missing, f"output_columns declares {missing}, which infer's row lacks"


CHECKS: tuple[Callable[[Any], None], ...] = (
    check_declarations,
    check_training_step,
    check_validation_is_additive,
    check_summarize,
    check_stage_output,
)
"""Every check, in order."""
