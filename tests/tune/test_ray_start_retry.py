"""A local Ray whose raylet misses Ray's fixed 30 s registration window (heavy load) is started
again; any other failure is raised at once. Ray's ``init`` is replaced by one that fails as Ray
does (fault injection), so no Ray starts here."""

from __future__ import annotations

import pytest

from raytrack.tune import ray_session

SLOW = Exception(
    "The current node timed out during startup. This could happen because some of the raylet "
    "failed to startup or the GCS has become overloaded."
)


def _failing(errors: list[Exception], calls: list[str], monkeypatch) -> None:
    import ray

    def init(**kwargs):
        calls.append("init")
        if errors:
            raise errors.pop(0)

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))


def test_a_slow_raylet_is_started_again(monkeypatch, capsys) -> None:
    calls: list[str] = []
    _failing([SLOW], calls, monkeypatch)
    ray_session._start_local_ray()
    assert calls == ["init", "shutdown", "init"]
    assert "slow to start" in capsys.readouterr().err


def test_other_failures_and_the_last_attempt_raise(monkeypatch) -> None:
    calls: list[str] = []
    _failing([RuntimeError("no space left")], calls, monkeypatch)
    with pytest.raises(RuntimeError, match="no space"):
        ray_session._start_local_ray()
    assert calls == ["init"]
    _failing([SLOW, SLOW, SLOW], calls, monkeypatch)
    with pytest.raises(Exception, match="timed out during startup"):
        ray_session._start_local_ray(attempts=3)
