"""Run a trained stage over an event store and write what it passes on as a new store.

``raytrack infer CHECKPOINT SRC_STORE DST_STORE``: every event of ``SRC_STORE`` goes through
the stage's :meth:`~raytrack.tasks.base.Task.infer` (the Exa.TrkX embedding writes its radius
graph, the filter the edges it keeps, the GNN its scored edges); the results stream into
``DST_STORE``, whose provenance names the stage, the checkpoint and the source store. The next
stage's experiment points ``data.store`` at ``DST_STORE``, so a sweep of the next stage never
re-runs this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import torch

from raytrack.families.tracking.event import Event
from raytrack.store.reader import EventStore, write_store
from raytrack.pipeline.checkpoints import resolve_checkpoint
from raytrack.tasks.base import Task
from raytrack.train.checkpoint import load_model


def stage_events(
    model: torch.nn.Module,
    task: Task,
    store: EventStore,
    *,
    event_ids: list[int] | None = None,
    device: str = "cpu",
) -> Iterator[Event]:
    """The stage's output event for every (selected) event of ``store``, streamed."""
    model.to(device).eval()
    with torch.no_grad():
        for row in store.iter_rows(event_ids=event_ids):
            yield task.infer(model, row, device)


def infer_store(
    checkpoint: str | Path,
    source: str | Path,
    destination: str | Path,
    *,
    device: str = "cpu",
    overwrite: bool = False,
) -> EventStore:
    """Write ``destination``: the stage at ``checkpoint`` applied to every event of ``source``."""
    checkpoint = resolve_checkpoint(checkpoint)
    store = EventStore(source)
    model, task, experiment = load_model(checkpoint, map_location=device)
    provenance: dict[str, Any] = {
        "stage": experiment.model.name,
        "checkpoint": str(checkpoint),
        "source_store": str(store.path),
        "source_provenance": store.metadata.get("provenance", {}),
        "data_options": experiment.data.model_dump(mode="json")["options"],
        "model_hparams": experiment.model.model_dump(mode="json")["hparams"],
    }
    return write_store(
        destination,
        stage_events(model, task, store, device=device),
        provenance=provenance,
        overwrite=overwrite,
    )
