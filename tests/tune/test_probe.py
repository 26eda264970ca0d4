"""The probe hook: a sweep hands its timing events to the named callable, in order."""

from __future__ import annotations

import json

import pytest

from raytrack import probe
from raytrack.cli import main
from tests.tune.test_sweep import write_experiment

SEEN: list[dict] = []


def remember(event: dict) -> None:
    SEEN.append(event)


def test_unset_the_hook_is_never_resolved(monkeypatch):
    monkeypatch.delenv(probe.PROBE_ENV, raising=False)
    monkeypatch.setattr(probe, "resolve", lambda setting: pytest.fail("resolved"))
    probe.emit("sweep_start")
    assert probe.probe_settings() is None


def test_a_named_callable_receives_each_event_with_its_fields(monkeypatch):
    monkeypatch.setenv(probe.PROBE_ENV, f"{__name__}:remember")
    SEEN.clear()
    probe.emit("epoch_end", epoch=3)
    (event,) = SEEN
    assert event["event"] == "epoch_end" and event["epoch"] == 3 and event["time"] > 0
    monkeypatch.setenv(probe.PROBE_ENV, "no_module_named_like_this")
    with pytest.raises(ValueError, match="package.module:function"):
        probe.emit("epoch_end")


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sweep_emits_its_events_in_order(ray_session, simulated_store, tmp_path, monkeypatch):
    """Ray runs before the hook is named: the trials get it from the driver, not their env."""
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv(probe.PROBE_ENV, "raytrack.probe:write_jsonl")
    monkeypatch.setenv(probe.PROBE_FILE_ENV, str(events_file))
    file = write_experiment(
        tmp_path / "probed.yaml",
        simulated_store(6, seed=1),
        tmp_path / "results",
        train={"max_epochs": 2},
        search={"train.optimizer.lr": {"grid": [0.001, 0.01]}},
        tune={"searcher": "grid", "scheduler": {"name": "fifo"}, "max_concurrent_trials": 1},
        logging={"mlflow": {"enabled": True}},
    )
    assert main(["tune", str(file), "--name", "probed", "--verbose", "0"]) == 0
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    names = [event["event"] for event in events]
    sweep_steps = ["sweep_start", "preflight_end", "sweep_prepared", "ray_ready", "tuner_built"]
    assert names[: len(sweep_steps)] == sweep_steps
    assert names[-3:] == ["fit_end", "results_written", "sweep_end"]
    times = [event["time"] for event in events if event["pid"] == events[0]["pid"]]
    assert times == sorted(times)  # the driver's own events, in the order they happened

    trials = [e["trial"] for e in events if e["event"] == "trial_start"]
    assert len(trials) == 2
    for trial in trials:
        own = [e for e in events if e.get("trial") == trial or e["event"] != "trial_start"]
        trial_events = [e["event"] for e in own if e.get("trial") == trial]
        assert trial_events[0] == "trial_start" and trial_events[-1] == "trial_end"
        assert trial_events.count("trial_result") == 2
    begun = [e for e in events if e["event"] == "trial_begin"]
    assert {e["trial"] for e in begun} == set(trials)
    assert all(e["pid"] != events[0]["pid"] for e in begun)  # in the trials' processes
    epochs = [
        (e["event"], e["epoch"]) for e in events if e["event"].startswith(("epoch", "report"))
    ]
    per_trial = [("epoch_start", 1), ("epoch_end", 1), ("report_end", 1)]
    per_trial += [("epoch_start", 2), ("epoch_end", 2), ("report_end", 2)]
    assert epochs == per_trial * 2  # one trial at a time
    hooks = {(e["name"], e["hook"]) for e in events if e["event"] == "callback"}
    assert {("mlflow", "on_trial_start"), ("mlflow", "on_trial_result")} <= hooks
    assert all(e["seconds"] >= 0 for e in events if e["event"] == "callback")
