"""raytrack: train and tune tracking and reconstruction models on Ray from one YAML file.

The documented entry points (imported on first use, so ``import raytrack`` stays cheap):

- experiments: :func:`load_experiment`, :func:`validate_experiment`, :class:`Experiment`;
- running them: :func:`tune_experiment` (a sweep), :func:`train_experiment` (one fixed run),
  :func:`evaluate_checkpoint`, :func:`infer_store`;
- data: :class:`SampleStore` (alias :class:`EventStore`), :func:`write_store`, :class:`Column`,
  :class:`StoreSchema`;
- families: :class:`Family`, :class:`ModelSpec`, :class:`DataSource`, :class:`Evaluator`,
  :class:`ContractExample`, :class:`Task`, :func:`register_family`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "load_experiment": "raytrack.config.loader",
    "validate_experiment": "raytrack.config.validate",
    "Experiment": "raytrack.config.schema",
    "tune_experiment": "raytrack.api",
    "train_experiment": "raytrack.api",
    "SweepResult": "raytrack.api",
    "evaluate_checkpoint": "raytrack.pipeline.evaluate",
    "infer_store": "raytrack.pipeline.infer",
    "SampleStore": "raytrack.store.sample_store",
    "write_store": "raytrack.store.writing",
    "Column": "raytrack.store.columns",
    "StoreSchema": "raytrack.store.columns",
    "Family": "raytrack.family",
    "ModelSpec": "raytrack.family",
    "DataSource": "raytrack.family",
    "Evaluator": "raytrack.family",
    "Evaluation": "raytrack.family",
    "ContractExample": "raytrack.family",
    "SourceOutput": "raytrack.family",
    "Task": "raytrack.tasks.base",
    "register_family": "raytrack.registry",
}
__all__ = sorted([*_EXPORTS, "EventStore", "__version__"])


def __getattr__(name: str) -> Any:
    if name == "EventStore":  # events are what most stores hold
        name = "SampleStore"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'raytrack' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
