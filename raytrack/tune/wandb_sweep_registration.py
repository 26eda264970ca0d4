"""Register a raytrack sweep as a W&B sweep, so that W&B's sweep page shows its runs.

W&B's sweep page (parallel coordinates, parameter importance, runs ranked by the metric's
goal) exists only for runs that carry a ``sweep_id``. raytrack runs its trials itself, without
a W&B agent: it creates the sweep from the experiment's W&B sweep file
(:func:`raytrack.config.wandb_sweep.export_sweep`) and gives its id to every trial's run.
Offline (no API key, ``WANDB_MODE=offline``, ``logging.wandb.mode: offline``) there is nothing
to register with; the runs are grouped per sweep and ``wandb sync`` uploads them later.
"""

from __future__ import annotations

import logging
from typing import Any

from raytrack.config.schema import Experiment

log = logging.getLogger(__name__)


def register_wandb_sweep(experiment: Experiment, project: str, entity: str | None) -> str | None:
    """The id of a new W&B sweep of ``experiment`` in ``entity/project``; ``None`` offline.

    With W&B online this calls ``wandb.sweep`` (one request to the W&B server) with the
    exported sweep file, whose metric goal makes the sweep page rank runs the right way; what
    W&B cannot express of the experiment (e.g. the seed) is logged at INFO level. The trials'
    runs must then be started with ``wandb.init(..., config=...)`` under the returned id (the
    ``sweep_id`` their ``WandbLoggerCallback`` / ``wandb.init`` receive).
    """
    from raytrack.config.wandb_sweep import export_sweep
    from raytrack.tune.loggers import wandb_mode

    if not experiment.logging.wandb.enabled:
        return None
    if wandb_mode(experiment.logging.wandb.mode) != "online":
        return None
    import wandb

    sweep, notes = export_sweep(experiment)
    sweep["project"] = project
    if entity:
        sweep["entity"] = entity
    for note in notes:
        log.info("W&B sweep of %s: not expressible: %s", experiment.name, note.format())
    sweep_id: Any = wandb.sweep(sweep, entity=entity, project=project)
    return str(sweep_id) if sweep_id else None
