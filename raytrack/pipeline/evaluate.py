"""Judge a trained model with an evaluator of its family: ``raytrack evaluate CHECKPOINT STORE``.

The evaluator is named or defaults to the first one the model declares
(:attr:`raytrack.family.ModelSpec.evaluators`); its settings are validated against its own
settings model before anything runs, and nothing falls back silently: a model that declares no
evaluator must be given one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raytrack.family import Evaluation, resolve


def evaluator_for(model: str, plugins: list[str], name: str | None) -> Any:
    """The evaluator ``name``, or the model's first; errors list the choices.

    An evaluator judges what the models that declare it produce: naming one the model does not
    declare (say, track matching on an embedding checkpoint, the wrong pipeline stage) is an
    error rather than a meaningless figure.
    """
    from raytrack.registry import get_evaluator, get_model

    declared = get_model(model, plugins).spec.evaluators
    if not declared:
        raise ValueError(
            f"model {model!r} declares no evaluator, so no evaluator can judge this checkpoint"
        )
    if name is None:
        name = declared[0]
    chosen = get_evaluator(name)
    if chosen.name not in declared:
        raise ValueError(
            f"evaluator {chosen.name!r} does not judge model {model!r}, which this checkpoint "
            f"holds (its evaluators: {', '.join(declared)}); is this the checkpoint of another "
            "stage?"
        )
    return chosen


def evaluate_checkpoint(
    checkpoint: str | Path,
    store: str | Path,
    *,
    evaluator: str | None = None,
    settings: Mapping[str, Any] | None = None,
    ids: list[int] | None = None,
    device: str = "cpu",
    reference: str | Path | None = None,
) -> tuple[str, Evaluation]:
    """``(evaluator name, its Evaluation)`` of the model at ``checkpoint`` on ``store``.

    ``reference``: the store of the complete original samples when ``store`` is a later
    pipeline stage's output.
    """
    from raytrack.pipeline.checkpoints import load_checkpoint
    from raytrack.store.sample_store import SampleStore

    loaded = load_checkpoint(checkpoint, device)
    experiment = loaded.experiment
    chosen = evaluator_for(experiment.model.name, experiment.plugins, evaluator)
    checked = chosen.settings_model().model_validate(dict(settings or {}))
    run = resolve(chosen.evaluate, f"evaluator {chosen.name!r}")
    opened = SampleStore(store)
    truth = SampleStore(reference) if reference is not None else None
    return chosen.name, run(loaded, opened, checked, ids=ids, device=device, reference=truth)


def format_summary(name: str, summary: Mapping[str, Any]) -> str:
    """The summary as aligned ``key  value`` lines under the evaluator's name."""
    width = max((len(k) for k in summary), default=0)
    lines = [f"{name}:"]
    for key, value in summary.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"  {key:<{width}}  {shown}")
    return "\n".join(lines)
