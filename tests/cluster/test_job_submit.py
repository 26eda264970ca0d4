"""``ray job submit`` and ``cluster/submit.sh`` against a real Ray head with token authentication.

The head is started with ``ray start --head --block`` in its own process session, temp dir and
ports, so that it never meets the in-process Ray of the ``ray_session`` fixture; nothing here
calls ``ray.init`` in the pytest process. Token authentication is on, as on a real cluster
(``RAY_AUTH_MODE=token`` with a token file on the head, and the same token on the client).

Teardown stops exactly the processes this head started: SIGTERM to ``ray start --block``
(which shuts its node down), then SIGKILL to whatever of its session is left. ``ray stop`` is
deliberately not used: it kills every Ray process on the machine by name, including the test
session's own Ray and anybody else's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = ROOT / "cluster" / "submit.sh"
SMOKE = ROOT / "tests" / "tune" / "files" / "smoke.yaml"
BIN = Path(sys.executable).parent


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Ray setting (address, auth, session), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env.update(extra)
    return env


# -- submit.sh's own checks, before it contacts any cluster -----------------------------------


def run_submit(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SUBMIT), *args],
        cwd=ROOT,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_submit_script_is_valid_bash():
    assert (
        subprocess.run(["bash", "-n", str(SUBMIT)], capture_output=True, text=True).returncode == 0
    )
    assert os.access(SUBMIT, os.X_OK), "cluster/submit.sh is not executable"


@pytest.mark.parametrize(
    "args,message",
    [
        ((), "cluster/submit.sh ADDRESS SPACE.yaml"),
        (("http://127.0.0.1:9", "no/such/space.yaml"), "no experiment file at no/such/space.yaml"),
        (
            ("http://127.0.0.1:9", "cluster/kuberay/rayjob.yaml", "--run-dir", "relative/dir"),
            "must be an absolute path",
        ),
    ],
)
def test_submit_refuses_bad_arguments(args, message):
    result = run_submit(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_submit_refuses_an_experiment_outside_the_project(tmp_path):
    outside = tmp_path / "space.yaml"
    outside.write_text("name: x\n")
    result = run_submit("http://127.0.0.1:9", str(outside))
    assert result.returncode == 2
    assert "outside the project directory" in result.stderr


# -- a real head ---------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free now, outside the ranges Ray picks from itself.

    Ray gives its workers ports 10002-19999 and lets the OS choose other ports from the ephemeral
    range (32768+ on Linux); a fixed port taken from either can be grabbed by another Ray in the
    meantime (the test session's own, or this head's). Ports in between are only ever ours.
    """
    import random

    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    candidates = random.sample(range(20000, max(ephemeral_low, 20000 + 10 * count)), k=10 * count)
    chosen: list[int] = []
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"found only {len(chosen)} free ports of {count} in 20000-{ephemeral_low}")


@dataclass
class Head:
    address: str  # the dashboard / Jobs API
    token: str
    env: dict[str, str]  # a client environment that holds the token
    tmp: Path
    log: Path

    def api(self, path: str) -> dict:
        request = urllib.request.Request(
            f"{self.address}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def job(self, submission_id: str) -> dict:
        return self.api(f"/api/jobs/{submission_id}")

    def logs(self, submission_id: str) -> str:
        return self.api(f"/api/jobs/{submission_id}/logs")["logs"]


def _session_members(leader: int) -> list[int]:
    import psutil

    members = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and os.getsid(process.pid) == leader:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            pass
    return members


def _stop_head(process: subprocess.Popen) -> None:
    """Stop the head's node and every process it started, and only those."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # `ray start --block` shuts its node down on SIGTERM
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (process.poll() is None or _session_members(process.pid)):
        time.sleep(0.5)
    for pid in _session_members(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def _start_head(tmp: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    gcs, dashboard, client, agent_http, agent_grpc, runtime_env_agent, metrics = free_ports(7)
    command = [
        str(BIN / "ray"), "start", "--head", "--block", "--disable-usage-stats",
        f"--temp-dir={tmp / 'ray'}",
        "--num-cpus=2", "--num-gpus=0",
        f"--port={gcs}",
        "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
        f"--ray-client-server-port={client}",
        f"--dashboard-agent-listen-port={agent_http}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_env_agent}",
        f"--metrics-export-port={metrics}",
    ]  # fmt: skip
    with open(log, "a") as out:
        process = subprocess.Popen(
            command, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, dashboard


def _wait_until_up(head: Head, process: subprocess.Popen, timeout_s: float) -> str | None:
    """None once the Jobs API answers with the token, else why not."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            return f"ray start exited with {process.returncode}"
        try:
            head.api("/api/version")
            return None
        except http.client.HTTPException as error:  # something else answers on that port
            return f"no Ray dashboard on {head.address}: {error!r}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                return f"the Ray dashboard did not come up in {timeout_s:.0f} s"
            time.sleep(1)


@pytest.fixture(scope="module")
def ray_head() -> Iterator[Head]:
    # A short path: Ray's Unix sockets live under the temp dir and must stay below 108 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="rtjob-", dir="/tmp"))
    token = secrets.token_hex(32)
    token_file = tmp / "auth_token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    env = clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file))
    log = tmp / "head.log"
    problems: list[str] = []
    try:
        for _attempt in range(3):  # fresh ports each time, should another process take one
            process, dashboard = _start_head(tmp, env, log)
            head = Head(f"http://127.0.0.1:{dashboard}", token, env, tmp, log)
            problem = _wait_until_up(head, process, 180)
            if problem is None:
                break
            problems.append(problem)
            _stop_head(process)
        else:
            pytest.fail(
                "the test Ray head did not start: "
                + "; ".join(problems)
                + f"\n{log.read_text()[-4000:]}"
            )
        try:
            yield head
        finally:
            _stop_head(process)
            leftovers = _session_members(process.pid)
            assert not leftovers, f"processes of the test head still running: {leftovers}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def wait_for_job(head: Head, submission_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = head.job(submission_id)
        if job["status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            return job
        if time.monotonic() > deadline:
            subprocess.run(
                [str(BIN / "ray"), "job", "stop", "--address", head.address, submission_id],
                env=head.env,
                timeout=60,
            )
            pytest.fail(
                f"job {submission_id} still {job['status']} after {timeout_s} s:\n{head.logs(submission_id)[-4000:]}"
            )
        time.sleep(2)


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(300)
def test_head_refuses_a_client_without_the_token(ray_head, tmp_path):
    home = tmp_path / "home"
    home.mkdir()  # no ~/.ray/auth_token here
    env = clean_env(HOME=str(home))
    result = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", ray_head.address, "--no-wait", "--", "echo", "hi"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Authentication required" in result.stdout + result.stderr

    wrong = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", ray_head.address, "--no-wait", "--", "echo", "hi"],
        env=clean_env(HOME=str(home), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="not-the-token"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "Authentication failed" in wrong.stdout + wrong.stderr


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(300)
def test_ray_job_submit_runs_raytrack_on_the_cluster(ray_head):
    submission_id = f"plumbing-{secrets.token_hex(4)}"
    result = subprocess.run(
        [
            str(BIN / "ray"), "job", "submit", "--address", ray_head.address, "--submission-id", submission_id,
            "--working-dir", str(ROOT), "--",
            "python", "-c", "import raytrack, ray; ray.init(); print(ray.cluster_resources())",
        ],
        env=ray_head.env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    job = wait_for_job(ray_head, submission_id, 60)
    logs = ray_head.logs(submission_id)
    assert job["status"] == "SUCCEEDED", logs[-3000:]
    resources = re.search(r"\{.*'CPU': 2\.0.*\}", logs)
    assert resources, f"cluster resources not printed by the job:\n{logs[-3000:]}"


def stop_job(head: Head, submission_id: str) -> None:
    request = urllib.request.Request(
        f"{head.address}/api/jobs/{submission_id}/stop",
        method="POST",
        headers={"Authorization": f"Bearer {head.token}"},
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "source", ["RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "home", "none", "disabled"]
)
def test_submit_sh_sends_the_token_it_finds(ray_head, tmp_path, source):
    """submit.sh finds the token where Ray looks for it, and builds the job the header describes."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    env = clean_env(HOME=str(home))
    if source == "RAY_AUTH_TOKEN":
        env["RAY_AUTH_TOKEN"] = ray_head.token
    elif source == "RAY_AUTH_TOKEN_PATH":
        env["RAY_AUTH_TOKEN_PATH"] = str(ray_head.tmp / "auth_token")
    elif source == "home":
        (home / ".ray" / "auth_token").write_text(ray_head.token)
    elif source == "disabled":  # an explicit mode wins: the token is there but not sent
        env.update(RAY_AUTH_MODE="disabled", RAY_AUTH_TOKEN=ray_head.token)
    submission_id = f"auth-{source.lower()}-{secrets.token_hex(4)}"
    # Any file of the project stands in for the experiment: the job is stopped right away, what
    # is checked is what reached the cluster.
    space = "cluster/kuberay/rayjob.yaml"
    result = run_submit(
        ray_head.address,
        space,
        "--submission-id",
        submission_id,
        "--no-wait",
        "--name",
        "two words",
        env=env,
    )
    output = result.stdout + result.stderr
    if source in ("none", "disabled"):
        assert result.returncode != 0 and "Authentication required" in output, output[-3000:]
        return
    assert result.returncode == 0, output[-3000:]
    stop_job(ray_head, submission_id)
    job = wait_for_job(ray_head, submission_id, 120)
    assert job["entrypoint"] == f"python tune.py {space} --name 'two words'"
    assert job["runtime_env"]["env_vars"]["RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"] == "900"
    assert ray_head.token not in json.dumps(job) + output, (
        "the token leaked into the job or the output"
    )


def _tune_cli_works() -> str | None:
    """Why ``python tune.py`` cannot run a sweep yet, or None when it can."""
    if not SMOKE.is_file():
        return f"the smoke experiment {SMOKE.relative_to(ROOT)} does not exist"
    help_run = subprocess.run(
        [sys.executable, str(ROOT / "tune.py"), "--help"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if help_run.returncode != 0:
        return f"`python tune.py --help` fails:\n{help_run.stderr[-2000:]}"
    return None


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(900)
def test_submit_sh_runs_a_real_sweep(ray_head):
    problem = _tune_cli_works()
    assert problem is None, problem
    run_dir = ray_head.tmp / "shared"  # stands for the cluster's shared volume
    submission_id = f"sweep-{secrets.token_hex(4)}"
    env = clean_env(RAY_AUTH_TOKEN=ray_head.token)  # the token as a user would export it
    result = subprocess.run(
        [
            "bash", str(SUBMIT), ray_head.address, str(SMOKE.relative_to(ROOT)),
            "--run-dir", str(run_dir), "--submission-id", submission_id,
            "--name", "cluster-smoke",
            # W&B on (offline): its logging actors must stay quiet in the job's log
            "--set", "logging.wandb.enabled=true", "--set", "logging.wandb.mode=offline",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=840,
    )  # fmt: skip
    job = wait_for_job(ray_head, submission_id, 60)
    logs = ray_head.logs(submission_id)
    assert result.returncode == 0 and job["status"] == "SUCCEEDED", (
        f"status {job['status']}: {job.get('message')}\n{logs[-5000:]}\n{result.stderr[-2000:]}"
    )
    announced = re.search(r"raytrack: sweep directory (\S+)", logs)
    assert announced, f"no sweep directory announced:\n{logs[-3000:]}"
    assert "\x1b[" not in logs, "terminal escapes in a job's log"
    chatter = [
        line
        for line in logs.splitlines()
        if re.search(r"\bwandb\b", line, re.I) and not line.startswith("Running entrypoint")
    ]
    assert not chatter, "W&B printed into the job's log:\n" + "\n".join(chatter[:20])
    sweep = Path(announced[1])
    assert sweep.name == "cluster-smoke"
    # The relative storage path of the experiment was taken from --run-dir, the shared volume.
    assert run_dir in sweep.parents, f"sweep written to {sweep}, not under the run dir {run_dir}"
    assert (sweep / "trials.csv").is_file() and (sweep / "best.yaml").is_file(), sorted(
        p.name for p in sweep.iterdir()
    )
    trials = (sweep / "trials.csv").read_text().splitlines()
    assert len(trials) >= 2, "trials.csv lists no trial"
