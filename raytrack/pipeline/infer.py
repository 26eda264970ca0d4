"""Run a trained stage over a sample store and write what it passes on as a new store.

``raytrack infer CHECKPOINT SRC_STORE DST_STORE``: every row of ``SRC_STORE`` goes through the
stage's :meth:`~raytrack.tasks.base.Task.infer` (e.g. the Exa.TrkX embedding writes its radius
graph, the filter the edges it keeps, the GNN its scored edges); the output rows stream into
``DST_STORE``, whose schema is the source store's with the columns the task declares
(:meth:`~raytrack.tasks.base.Task.output_columns`), and whose provenance names the stage, the
checkpoint, the source store and the settings the stage took from its checkpoint's metrics
(printed too, e.g. the Exa.TrkX embedding's ``r_test``). The next stage's experiment points ``data.store`` at
``DST_STORE``, so a sweep of the next stage never re-runs this one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from raytrack.pipeline.checkpoints import LoadedCheckpoint, load_checkpoint
from raytrack.store.columns import StoreSchema
from raytrack.store.sample_store import SampleStore
from raytrack.store.writing import write_store


def stage_rows(
    checkpoint: LoadedCheckpoint,
    store: SampleStore,
    *,
    ids: list[int] | None = None,
    device: str = "cpu",
) -> Iterator[Mapping[str, Any]]:
    """The stage's output row for every (selected) row of ``store``, streamed."""
    checkpoint.model.to(device).eval()
    with torch.no_grad():
        for row in store.iter_rows(ids=ids):
            yield checkpoint.task.infer(checkpoint.model, row, device)


def output_schema(task: Any, source: SampleStore):
    """The schema of a stage's output store, from its first output row."""

    def schema(row: Mapping[str, Any]) -> StoreSchema:
        declared = {c.name: c for c in source.schema.columns}
        declared.update({c.name: c for c in task.output_columns(row)})
        kept = [declared[name] for name in row if name in declared and name != source.key]
        return StoreSchema.infer(row, key=source.key, declared=kept)

    return schema


def infer_store(
    checkpoint: str | Path,
    source: str | Path,
    destination: str | Path,
    *,
    device: str = "cpu",
    overwrite: bool = False,
) -> SampleStore:
    """Write ``destination``: the stage at ``checkpoint`` applied to every row of ``source``."""
    loaded = load_checkpoint(checkpoint, device)
    store = SampleStore(source)
    experiment = loaded.experiment
    provenance: dict[str, Any] = {
        "stage": experiment.model.name,
        "checkpoint": str(loaded.path),
        "source_store": str(store.path),
        "source_provenance": store.provenance,
        "data_options": experiment.data.model_dump(mode="json")["options"],
        "model_hparams": experiment.model.model_dump(mode="json")["hparams"],
        "inference_settings": list(loaded.settings),
    }
    for line in loaded.settings:
        print(f"raytrack infer: {experiment.model.name}: {line}", flush=True)
    return write_store(
        destination,
        stage_rows(loaded, store, device=device),
        schema=output_schema(loaded.task, store),
        provenance=provenance,
        overwrite=overwrite,
    )
