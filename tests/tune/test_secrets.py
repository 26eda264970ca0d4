"""Secrets stay out of logs.

A real sweep with secret environment variables leaves none
of them in Ray's session directory, the sweep directory, W&B or MLflow; the pieces that keep
them out (URI redaction, the W&B logging actors, Tune's runtime environments) are checked alone.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from raytrack.redact import (
    TUNE_PROPAGATED_SECRETS,
    keep_secrets_out_of_runtime_envs,
    redact_config,
    redact_text,
    redact_uri,
)
from tests.tune.test_sweep import write_experiment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("sqlite:////data/mlflow.db", "sqlite:////data/mlflow.db"),
        ("https://alice:pw@mlflow.example:5000/x", "https://alice:***@mlflow.example:5000/x"),
        ("https://alice@mlflow.example", "https://alice@mlflow.example"),  # no password
        (
            "postgresql://u:p%40ss@db/mlflow?sslmode=require",
            "postgresql://u:***@db/mlflow?sslmode=require",
        ),
        ("https://h/p?token=abc&run=3#top", "https://h/p?token=***&run=3#top"),
        (
            "https://h/p?Api_Key=abc&apikey=d&secret=e&password=f",
            "https://h/p?Api_Key=***&apikey=***&secret=***&password=***",
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=c&X-Amz-Signature=s&X-Amz-Security-Token=t&X-Amz-Expires=60",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***&X-Amz-Expires=60",
        ),
        ("https://h/p?sig=abc&flag", "https://h/p?sig=***&flag"),
        ("databricks://profile", "databricks://profile"),
        ("not a uri", "not a uri"),
    ],
)
def test_redact_uri_masks_passwords_and_secret_query_values_only(uri, expected):
    assert redact_uri(uri) == expected


def test_redact_config_masks_uris_inside_nested_values_and_copies():
    config = {
        "experiment": {
            "logging": {"mlflow": {"tracking_uri": "https://u:pw@h/?token=t", "enabled": True}},
            "model": {"hparams": {"hidden": 8, "regime": ["pid"]}},
        },
        "note": "copied from http://x:y@h/a and https://h/b?key=k.",
    }
    redacted = redact_config(config)
    assert redacted["experiment"]["logging"]["mlflow"] == {
        "tracking_uri": "https://u:***@h/?token=***",
        "enabled": True,
    }
    assert redacted["experiment"]["model"] == config["experiment"]["model"]
    assert redacted["note"] == "copied from http://x:***@h/a and https://h/b?key=***."
    assert config["experiment"]["logging"]["mlflow"]["tracking_uri"] == "https://u:pw@h/?token=t"
    assert redact_text("no uri here") == "no uri here"


def test_mlflow_params_are_redacted_and_the_real_uri_connects(monkeypatch, capsys):
    from raytrack.tune.logged_config import logged_config
    from raytrack.tune.mlflow_callback import MLflowBatchCallback

    uri = "https://alice:pw-5e3f@mlflow.example/?token=tok-9c1d"
    callback = MLflowBatchCallback(tracking_uri=uri, experiment_name="e")
    logged = []
    callback._client = SimpleNamespace(log_batch=lambda run_id, params: logged.extend(params))
    callback._log_params("run", logged_config({"logging": {"mlflow": {"tracking_uri": uri}}}, "t"))
    assert [(p.key, p.value) for p in logged] == [
        ("logging.mlflow.tracking_uri", "https://alice:***@mlflow.example/?token=***"),
        ("trial_id", "t"),
    ]

    connected = []

    class RefusingClient:
        def __init__(self, tracking_uri):
            connected.append(tracking_uri)
            raise ValueError(f"cannot reach {tracking_uri}")

    monkeypatch.setattr("mlflow.tracking.MlflowClient", RefusingClient)
    callback.setup()  # opens the store in the writer thread: a failure is reported, not raised
    callback.log_trial_start(SimpleNamespace(trial_id="t", config={}))
    callback.flush()
    warnings = capsys.readouterr().err
    assert connected == [uri]  # the real URI connects ...
    assert "5e3f" not in warnings and "9c1d" not in warnings  # ... is not shown
    assert "https://alice:***@mlflow.example/?token=***" in warnings
    assert warnings.count("warning: MLflow") == 1  # once: the later writes are skipped


def test_the_wandb_logging_actor_gets_the_key_in_memory_not_in_a_runtime_env(monkeypatch):
    from raytrack.tune.wandb_callback import (
        QUIET_WANDB_ENV,
        SweepWandbCallback,
        WandbRuns,
        split_result,
    )

    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    callback = SweepWandbCallback(
        project="p", mode="online", tuned_metric="val_auc", tuned_mode="max"
    )
    assert not callback.actor_options().get("runtime_env")  # Ray logs every runtime_env

    created, sent = {}, []

    class Remote:
        def __init__(self, name):
            self.name = name

        def remote(self, *args):
            sent.append((self.name, *args))

    class Actor:
        start, log = Remote("start"), Remote("log")

    class ActorClass:
        def options(self, **options):
            created["options"] = options
            return self

        def remote(self, **kwargs):
            created["kwargs"] = kwargs
            return Actor()

    monkeypatch.setattr("ray.remote", lambda cls: ActorClass())
    callback.setup()
    assert created["kwargs"]["wandb_api_key"] == "k" * 40
    assert created["kwargs"]["tuned_metric"] == "val_auc"
    assert "runtime_env" not in created["options"]
    assert "k" * 40 not in repr(vars(callback))  # nor kept in the callback Tune pickles

    config = {"base": {"tracking_uri": "https://u:pw@h"}, "lr": 0.1}
    trial = SimpleNamespace(config=config, trial_id="t1")
    callback.log_trial_start(trial)
    # Not a raytrack trial config (no complete experiment): logged flat, credentials masked.
    assert sent[0][2]["config"] == {
        "base.tracking_uri": "https://u:***@h",
        "lr": 0.1,
        "trial_id": "t1",
    }
    callback.log_trial_result(1, trial, {"val_auc": 0.5, "config": config, "trial_id": "t1"})
    assert sent[1] == ("log", "t1", {"val_auc": 0.5}, {"trial_id": "t1"})  # never Tune's config
    assert split_result({"a": {"b": 1}, "done": True, "note": "x"}) == ({"a/b": 1}, {})

    # The actor puts the key into its own process's environment, where W&B reads it.
    monkeypatch.delenv("WANDB_API_KEY")
    for name in (*QUIET_WANDB_ENV, "WANDB_START_METHOD"):
        monkeypatch.setenv(name, "")  # restored after the test
    WandbRuns(wandb_api_key="a" * 40)
    assert os.environ["WANDB_API_KEY"] == "a" * 40


def test_tune_stops_copying_aws_credentials_into_trial_runtime_envs(monkeypatch):
    from ray.tune.execution import class_cache

    # Ray's list as shipped (an earlier sweep in this process may have pruned it already).
    shipped = set(class_cache.ENV_VARS_TO_PROPAGATE) | TUNE_PROPAGATED_SECRETS
    monkeypatch.setattr(class_cache, "ENV_VARS_TO_PROPAGATE", shipped)
    for name in TUNE_PROPAGATED_SECRETS:
        monkeypatch.setenv(name, "s3cr3t")
    monkeypatch.setenv("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")

    class Trainable:
        pass

    before = class_cache._ActorClassCache().get(Trainable)._default_options["runtime_env"]
    assert TUNE_PROPAGATED_SECRETS <= set(before["env_vars"])  # what Ray does by itself
    keep_secrets_out_of_runtime_envs()
    keep_secrets_out_of_runtime_envs()
    after = class_cache._ActorClassCache().get(Trainable)._default_options["runtime_env"]
    assert not TUNE_PROPAGATED_SECRETS & set(after["env_vars"])
    assert after["env_vars"]["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] == "0.25"  # others still go


def files_holding(
    roots: list[Path], needles: dict[str, str], skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """``{needle name: [files whose bytes contain it]}`` over every file under ``roots``, except
    those with a directory named in ``skip`` on their path."""
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if not path.is_file() or path.is_symlink() or skip and set(path.parts) & set(skip):
                continue
            try:
                data = path.read_bytes()
            except OSError:  # a socket, or a file removed meanwhile
                continue
            for name, value in needles.items():
                if value.encode() in data:
                    found.setdefault(name, []).append(str(path))
    return found


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(420)
def test_a_sweep_leaves_no_secret_in_ray_sweep_wandb_or_mlflow_files(simulated_store, tmp_path):
    env_secrets = {
        "WANDB_API_KEY": secrets.token_hex(20),  # W&B keys are 40 hex digits
        "AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
    }
    storage = tmp_path / "results"
    file = write_experiment(
        tmp_path / "secret.yaml",
        simulated_store(4, seed=2),
        storage,
        train={"max_epochs": 1},
        search={"train.optimizer.lr": {"grid": [0.001, 0.01]}},
        tune={"searcher": "grid", "scheduler": {"name": "fifo"}},
        logging={
            "wandb": {"enabled": True, "mode": "offline", "project": "raytrack-test"},
            "mlflow": {"enabled": True, "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        },
    )
    # A fresh local Ray under a short path (its Unix sockets' paths must fit 107 bytes).
    ray_tmp = Path(tempfile.mkdtemp(prefix="rts-", dir="/tmp"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RAY_ADDRESS", "WANDB_", "AWS_", "MLFLOW_"))
    }
    env.update(env_secrets)
    env.update(
        RAY_TMPDIR=str(ray_tmp),
        WANDB_SILENT="true",
        WANDB_CONFIG_DIR=str(tmp_path / "wandb-config"),
        WANDB_CACHE_DIR=str(tmp_path / "wandb-cache"),
        WANDB_DATA_DIR=str(tmp_path / "wandb-data"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "raytrack.cli", "tune", str(file), "--name", "secret"],
            cwd=tmp_path,  # MLflow's default artifact root (./mlruns) lands here too
            env=env,
            capture_output=True,
            text=True,
            timeout=360,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        # W&B and MLflow did log, and Ray did create runtime environments: a miss means something.
        runs = (storage / "secret" / "wandb" / "wandb").glob("offline-run-*")
        assert len({run.name.rsplit("-", 1)[1] for run in runs}) == 2  # one run id per trial
        assert (tmp_path / "mlflow.db").is_file()
        assert list(ray_tmp.rglob("runtime_env_agent.log"))

        leaked = files_holding([ray_tmp, tmp_path], env_secrets)
        assert not leaked, f"secret environment variables found in {leaked}"
        assert not any(value in done.stdout + done.stderr for value in env_secrets.values())

    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_an_experiment_with_a_credential_in_its_tracking_uri_is_refused(tmp_path):
    """The experiment file is saved with the sweep (and resumed from): a token there would be
    kept on disk, so it must come from the environment instead."""
    from raytrack.cli import main

    file = tmp_path / "token.yaml"
    file.write_text(
        "name: token\nmodel: {name: exatrkx_gnn}\ndata: {store: nowhere}\n"
        "logging: {mlflow: {enabled: true, tracking_uri: 'https://u:s3cret@h/?token=t0k'}}\n"
    )
    assert main(["validate", str(file)]) == 1
    assert main(["tune", str(file)]) == 1
    assert not (tmp_path / "raytrack_results").exists()
