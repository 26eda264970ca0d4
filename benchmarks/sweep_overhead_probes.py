"""Timing probes for ``benchmarks/sweep_overhead.py``, patched into raytrack from outside.

They run in the instrumented ``raytrack tune`` process (``--child probed-tune``) and, pickled
by Ray, in its Tune trial and Train worker processes; raytrack itself is not edited. Each probe
appends one JSON line (``time.time()`` stamps, the trial id, the worker rank, the pid) to the
file named by the ``RTB_EVENTS`` environment variable:

- in the driver: a Tune callback (fit, trial start/result/complete/error) and wrappers around
  ``prepare_sweep``, ``init_ray`` and ``build_tuner``;
- in the trial and Train worker processes: wrappers around ``run_trial``, ``_worker_loop``,
  ``run_training``, ``get_model``/``build``, ``build_optimizer``, ``save_checkpoint``, the
  sessions' ``rows``/``report`` and ``TorchTrainer.fit``.

``--direct-rows`` swaps each DDP worker's Ray Data shard for a pyarrow read of its slice of the
store (one of the possible raytrack changes measured). The events are turned into per-trial
breakdowns by ``sweep_overhead_analysis.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

EVENTS_ENV = "RTB_EVENTS"


def log_event(ev: str, **fields: Any) -> None:
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    record = {
        "t": time.time(),
        "ev": ev,
        "trial": os.environ.get("RTB_TRIAL"),
        "rank": int(os.environ.get("RTB_RANK", "0")),
        "pid": os.getpid(),
        **fields,
    }
    with open(path, "a") as out:  # one short line per write: O_APPEND keeps lines whole
        out.write(json.dumps(record) + "\n")


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            log_event(name, start=start, dur=time.time() - start)

    return wrapper


class _TimedEntry:
    """A registry entry whose ``build`` is timed."""

    def __init__(self, entry: Any) -> None:
        self._entry = entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._entry, name)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        return _timed("model_build", self._entry.build)(*args, **kwargs)


def install_loop_probes() -> None:
    """Wrap the loop's setup, data, checkpoint and report steps in this process (once)."""
    from raytrack.train import loop
    from raytrack.train import session as sessions

    if getattr(loop, "_rtb_probed", False):
        return
    loop._rtb_probed = True
    get_model = loop.get_model
    loop.get_model = lambda name, plugins=(): _TimedEntry(
        _timed("get_model", get_model)(name, plugins)
    )
    loop.build_optimizers = _timed("optimizer_build", loop.build_optimizers)
    loop.save_checkpoint = _timed("checkpoint_save", loop.save_checkpoint)
    loop.run_training = _timed("loop", loop.run_training)

    def probe_rows(rows: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, split: str, epoch: int) -> Any:
            start = time.time()
            iterator = rows(self, split, epoch)

            def first_logged() -> Any:
                first = True
                for row in iterator:
                    if first:
                        log_event(
                            "first_row",
                            split=split,
                            epoch=epoch,
                            start=start,
                            dur=time.time() - start,
                        )
                        first = False
                    yield row

            return first_logged()

        return wrapped

    def probe_report(report: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, metrics: dict[str, Any], checkpoint_dir: str | None) -> None:
            start = time.time()
            report(self, metrics, checkpoint_dir)
            log_event("report", epoch=metrics.get("epoch"), start=start, dur=time.time() - start)

        return wrapped

    for cls in (sessions.TrialSession, sessions.WorkerSession):
        cls.rows = probe_rows(cls.rows)
        cls.report = probe_report(cls.report)


def install_fit_probe() -> None:
    import ray.train.torch as train_torch

    if getattr(train_torch, "_rtb_probed", False):
        return
    base = train_torch.TorchTrainer

    class TimedTorchTrainer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if (
                os.environ.get("RTB_DIRECT_ROWS") == "1"
            ):  # variant: workers read the store themselves
                kwargs.pop("datasets", None)
                kwargs.pop("dataset_config", None)
            super().__init__(*args, **kwargs)

        def fit(self) -> Any:
            log_event("trainer_fit_start")
            try:
                return super().fit()
            finally:
                log_event("trainer_fit_end")

    train_torch.TorchTrainer = TimedTorchTrainer
    train_torch._rtb_probed = True


def ray_processes() -> list[tuple[str, float]]:
    """Title and start time of every process the local raylet started (workers, actors)."""
    import psutil

    out = []
    for proc in psutil.Process(os.getppid()).children():
        try:
            out.append((" ".join(proc.cmdline())[:60], proc.create_time()))
        except psutil.Error:
            pass
    return out


def use_direct_rows(store_path: str, splits: dict[str, list[int]]) -> None:
    """Variant: each DDP worker streams its own slice of a split's events with pyarrow (no Ray Data)."""
    from raytrack.store.sample_store import SampleStore
    from raytrack.train.session import WorkerSession

    store = SampleStore(store_path)

    def rows(self: Any, split: str, epoch: int) -> Any:
        return store.iter_rows(ids=splits[split][self.rank :: self.world_size])

    WorkerSession.rows = rows


def make_timed_worker_loop(
    original: Callable[..., Any],
    events: str,
    trial_id: str,
    direct: tuple[str, dict[str, list[int]]] | None,
) -> Callable[..., Any]:
    def worker_loop(config: dict[str, Any]) -> None:
        import psutil
        import ray.train

        rank = ray.train.get_context().get_world_rank()
        os.environ.update({EVENTS_ENV: events, "RTB_TRIAL": trial_id, "RTB_RANK": str(rank)})
        log_event("worker_entry", proc_start=psutil.Process().create_time())
        if rank == 0:
            log_event("ray_processes", processes=ray_processes())
        if direct is not None:
            use_direct_rows(*direct)
        install_loop_probes()
        original(config)
        if rank == 0:
            log_event("ray_processes", processes=ray_processes())

    return worker_loop


def make_timed_run_trial(events: str, direct_rows: bool) -> Callable[..., Any]:
    def run_trial(
        config: dict[str, Any], *, store_path: str, splits: dict[str, list[int]], storage_path: str
    ) -> None:
        import psutil
        from ray import tune

        from raytrack.tune import trainable

        trial_id = tune.get_context().get_trial_id()
        os.environ.update(
            {
                EVENTS_ENV: events,
                "RTB_TRIAL": trial_id,
                "RTB_RANK": "0",
                "RTB_DIRECT_ROWS": "1" if direct_rows else "0",
            }
        )
        log_event("fn_entry", proc_start=psutil.Process().create_time())
        install_loop_probes()
        install_fit_probe()
        original = getattr(trainable, "_rtb_worker_loop", trainable._worker_loop)
        trainable._rtb_worker_loop = original
        direct = (store_path, splits) if direct_rows else None
        trainable._worker_loop = make_timed_worker_loop(original, events, trial_id, direct)
        try:
            trainable.run_trial(
                config, store_path=store_path, splits=splits, storage_path=storage_path
            )
        finally:
            log_event("fn_exit")

    return run_trial


def make_timing_callback() -> Any:
    from ray.tune import Callback

    class TimingCallback(Callback):
        def setup(self, **info: Any) -> None:
            log_event("fit_start")

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            log_event("trial_start", trial=trial.trial_id)

        def on_trial_result(
            self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
        ) -> None:
            keys = ("training_iteration", "epoch_time_s", "time_this_iter_s", "time_total_s")
            log_event("trial_result", trial=trial.trial_id, **{k: result.get(k) for k in keys})

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            log_event("trial_complete", trial=trial.trial_id)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            log_event("trial_error", trial=trial.trial_id)

        def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            log_event("trial_recover", trial=trial.trial_id)

        def on_experiment_end(self, trials: list, **info: Any) -> None:
            log_event("fit_end")

    return TimingCallback()


def child_probed_tune(args: argparse.Namespace) -> int:
    """``raytrack tune FILE`` with the probes above patched in."""
    import psutil

    os.environ[EVENTS_ENV] = args.events
    log_event("driver_start", proc_start=psutil.Process().create_time())
    from raytrack.cli import main
    from raytrack.tune import loggers, tuner

    log_event("driver_imported")
    callbacks = loggers.logger_callbacks
    loggers.logger_callbacks = lambda *a, **k: [*callbacks(*a, **k), make_timing_callback()]
    tuner.run_trial = make_timed_run_trial(args.events, args.direct_rows)
    for name in ("prepare_sweep", "init_ray", "build_tuner"):
        setattr(tuner, name, _timed(name, getattr(tuner, name)))
    code = main(["tune", args.experiment, "--name", args.name, "--verbose", "0"])
    log_event("driver_exit")
    return code
