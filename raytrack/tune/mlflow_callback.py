"""An MLflow logger callback: one parent run per sweep, a child run per trial, batched writes.

Ray's ``MLflowLoggerCallback`` logs every key of every result with its own ``log_metric`` call,
the flattened trial config included; on a SQLite store that cost ~1 s per result in the sweep
driver (measured with the quickstart), stalling Tune. This callback logs the trial's resolved
experiment once as parameters (dotted keys, :mod:`raytrack.tune.logged_config`) and each
result's numeric metrics with one ``log_batch``.

Every sweep gets a parent run (tags: the sweep's name and directory, the command that started
it) with its trials as children, so sweeps of one experiment file stay apart in one MLflow
experiment. A resumed sweep continues its parent run and each trial's run (found by tags).

The writes after ``setup`` run in one background thread, in the order Tune's hooks came, so the
driver never waits on the tracking store (it did, ~0.1 s a write on SQLite); the experiment's
end waits for the queue to drain.
Credentials in URIs are masked in the logged parameters, tags and errors; the real tracking
URI is only used to connect.
"""

from __future__ import annotations

import math
import numbers
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ray.tune.logger import LoggerCallback
from ray.tune.utils import flatten_dict

from raytrack.redact import redact_config, redact_text, redact_uri
from raytrack.tune.logged_config import logged_config

MAX_PARAMS_PER_BATCH = 100  # MLflow's limit per log_batch request
MAX_PARAM_LENGTH = 6000


PARENT_RUN_TAG = "mlflow.parentRunId"  # how MLflow nests a run under another
ROLE_TAG = "raytrack.role"  # "sweep" on a sweep's parent run


class MLflowBatchCallback(LoggerCallback):
    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        tags: dict[str, str] | None = None,
        artifact_location: str | None = None,
    ):
        """``tags`` go on the parent run and every trial's run (``sweep`` names the sweep);
        ``artifact_location``: where a newly created MLflow experiment keeps artifacts."""
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.tags = dict(tags or {})
        self.artifact_location = artifact_location
        self._runs: dict[str, str] = {}
        self._parent: str | None = None
        self._queue: queue.Queue | None = None
        self._writer: threading.Thread | None = None

    def __getstate__(self) -> dict:  # Tune pickles its callbacks: no thread or queue
        return {k: v for k, v in vars(self).items() if k not in ("_queue", "_writer", "_client")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _queue=None, _writer=None)

    def _later(self, write: Callable[..., None], *args: Any) -> None:
        """Run ``write(*args)`` in the writer thread (started on first use)."""
        if self._writer is None:
            self._queue = queue.Queue()
            self._writer = threading.Thread(target=self._drain, name="mlflow-writer", daemon=True)
            self._writer.start()
        self._queue.put((write, args))

    def _drain(self) -> None:
        while True:
            write, args = self._queue.get()
            if write is None:
                return
            if getattr(self, "_closed_store", False):
                continue  # the store could not be opened: said once below
            try:
                write(*args)
            except Exception as error:  # a lost metric must not stop the sweep
                self._closed_store = write == self._open_experiment
                print(
                    f"raytrack: warning: MLflow {write.__name__} failed "
                    f"({redact_uri(self.tracking_uri)}): "
                    f"{type(error).__name__}: {redact_text(str(error))}",
                    file=sys.stderr,
                )

    def flush(self) -> None:
        """Wait until every queued write is done (the writer thread then ends)."""
        if self._writer is not None:
            self._queue.put((None, ()))
            self._writer.join()
            self._writer = None

    def setup(self, *args: Any, **kwargs: Any) -> None:
        """Connect, find or create the experiment and the sweep's parent run, all in the writer
        thread: importing MLflow and opening a new SQLite store took 10-25 s on 2 loaded CPUs.
        A store that cannot be opened is reported once (credentials masked); the sweep goes on."""
        self._later(self._open_experiment)

    def _open_experiment(self) -> None:
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=self.tracking_uri)
        found = self._client.get_experiment_by_name(self.experiment_name)
        self._experiment_id = (
            found.experiment_id
            if found
            else self._client.create_experiment(
                self.experiment_name, artifact_location=self.artifact_location
            )
        )
        self._parent = self._parent_run()

    def _parent_run(self) -> str:
        """The sweep's parent run: found again on resume, else created."""
        found = self._client.search_runs(
            [self._experiment_id],
            filter_string=f"tags.sweep = '{self.tags.get('sweep', '')}' "
            f"and tags.`{ROLE_TAG}` = 'sweep'",
            max_results=1,
        )
        if found:
            return found[0].info.run_id
        run = self._client.create_run(
            self._experiment_id,
            run_name=self.tags.get("sweep"),
            tags={**redact_config(self.tags), ROLE_TAG: "sweep"},
        )
        return run.info.run_id

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._later(self._end_parent)
        self.flush()

    def _end_parent(self) -> None:
        if self._parent is not None:
            self._client.set_terminated(self._parent, status="FINISHED")

    def log_trial_start(self, trial: Any) -> None:
        self._later(self._start_run, trial.trial_id, str(trial), dict(trial.config))

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        step = int(result.get("training_iteration", iteration))
        self._later(self._log_result, trial.trial_id, str(trial), dict(trial.config), step, result)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        self._later(self._end_run, trial.trial_id, "FAILED" if failed else "FINISHED")

    def _start_run(self, trial_id: str, name: str, config: dict) -> None:
        if trial_id in self._runs:
            return
        previous = self._client.search_runs(
            [self._experiment_id],
            filter_string=f"tags.trial_id = '{trial_id}'",
            max_results=1,
        )
        if previous:
            self._runs[trial_id] = previous[0].info.run_id
            return
        run = self._client.create_run(
            self._experiment_id,
            run_name=name,
            tags={
                **redact_config(self.tags),
                "trial_id": trial_id,
                **({PARENT_RUN_TAG: self._parent} if self._parent else {}),
            },
        )
        self._runs[trial_id] = run.info.run_id
        self._log_params(run.info.run_id, logged_config(config, trial_id))

    def _log_result(self, trial_id: str, name: str, config: dict, step: int, result: dict) -> None:
        from mlflow.entities import Metric

        self._start_run(trial_id, name, config)
        run_id = self._runs[trial_id]
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), now, step)
            for key, value in flatten_dict(result, delimiter="/").items()
            if not key.startswith("config/")
            and isinstance(value, numbers.Number)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        ]
        if metrics:
            self._client.log_batch(run_id, metrics=metrics)

    def _end_run(self, trial_id: str, status: str) -> None:
        run_id = self._runs.get(trial_id)
        if run_id is not None:
            self._client.set_terminated(run_id, status=status)

    def _log_params(self, run_id: str, config: dict) -> None:
        from mlflow.entities import Param

        params = [Param(key, str(value)[:MAX_PARAM_LENGTH]) for key, value in config.items()]
        for start in range(0, len(params), MAX_PARAMS_PER_BATCH):
            self._client.log_batch(run_id, params=params[start : start + MAX_PARAMS_PER_BATCH])
