"""The bad-input catalogue: every command, given what a careless user or an attacker gives it.

Each case asserts exit code 1, one line on stderr that names the culprit (the file, key, column,
line or option), no traceback, Ray not started, and nothing on disk changed (every file under
the case's directory, the store and the checkpoint included, has the same size and time after).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from raytrack.cli import main

Case = Callable[[dict[str, Path]], list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory, simulated_store) -> dict[str, Path]:
    """A store, a trained embedding checkpoint and a valid experiment file."""
    from raytrack.config.schema import Experiment
    from raytrack.train.loop import run_training
    from raytrack.train.session import LocalSession
    from raytrack.tune.trainable import store_row_source

    root = tmp_path_factory.mktemp("world")
    store = root / "store"
    shutil.copytree(simulated_store(4, seed=8), store)
    experiment = {
        "name": "bad-inputs",
        "model": {"name": "exatrkx_gnn", "hparams": {"hidden": 8, "n_graph_iters": 1}},
        "data": {"store": str(store), "split": [0.5, 0.5, 0.0]},
        "train": {"max_epochs": 1, "cpus_per_worker": 1},
        "tune": {"metric": "val_auc", "mode": "max"},
        "storage": str(root / "results"),
    }
    good = root / "good.yaml"
    good.write_text(yaml.safe_dump(experiment))
    embedding = Experiment.model_validate(
        {**experiment, "model": {"name": "exatrkx_embedding", "hparams": {"emb_hidden": 8}},
         "tune": {"metric": "val_loss", "mode": "min"}}
    )  # fmt: skip
    session = LocalSession(store_row_source(str(store), {"train": [0, 1], "val": [2]}), root / "c")
    run_training(embedding, session)
    (root / "results" / "taken").mkdir(parents=True)
    (root / "results" / "taken" / "sweep.json").write_text("{}")
    return {"root": root, "store": store, "good": good, "ckpt": session.checkpoints[-1],
            "experiment": experiment}  # fmt: skip


def _experiment(w: dict, name: str, change: Callable[[dict], None] | None = None,
                text: str | None = None) -> str:  # fmt: skip
    path = w["root"] / f"{name}.yaml"
    if text is None:
        data = json.loads(json.dumps(w["experiment"]))
        if change is not None:
            change(data)
        text = yaml.safe_dump(data)
    path.write_text(text)
    return str(path)


def _set(path: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _file(w: dict, name: str, content: str | bytes) -> str:
    path = w["root"] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def _store_copy(w: dict, name: str, damage: Callable[[Path], None]) -> str:
    target = w["root"] / name
    if not target.exists():
        shutil.copytree(w["store"], target)
        damage(target)
    return str(target)


def _flip_bytes(store: Path) -> None:
    victim = sorted(store.glob("*.parquet"))[0]
    data = bytearray(victim.read_bytes())
    data[8:400] = bytes(b ^ 0xFF for b in data[8:400])
    victim.write_bytes(bytes(data))


def _ckpt_copy(w: dict, name: str, damage: Callable[[Path], None]) -> str:
    target = w["root"] / name
    if not target.exists():
        shutil.copytree(w["ckpt"], target)
        damage(target)
    return str(target)


def _pipeline(w: dict, name: str, spec: dict | str) -> str:
    return _file(w, f"{name}.yaml", spec if isinstance(spec, str) else yaml.safe_dump(spec))


# (case id, argv builder, fragments the one-line message must contain)
CASES: list[tuple[str, Case, tuple[str, ...]]] = [
    ("import-sweep-unknown-key",
     lambda w: ["import-sweep", _file(w, "typo_sweep.yaml", "method: random\nparameters:\n"
                "  hiden: {values: [8, 16]}\n"), "--base", str(w["good"]),
                "-o", str(w["root"] / "imported.yaml")],
     ("search.hiden", "did you mean 'hidden'")),
    ("import-sweep-unknown-method",
     lambda w: ["import-sweep", _file(w, "custom_sweep.yaml", "method: custom\n"),
                "--base", str(w["good"])],
     ("custom_sweep.yaml", "unknown method 'custom'")),
    ("export-sweep-bad-set",
     lambda w: ["export-sweep", str(w["good"]), "--set", "train.max_epoch=2"],
     ("train.max_epoch", "--set")),
    # -- experiment files: tune, train, validate --------------------------------------------
    ("tune-missing-file", lambda w: ["tune", str(w["root"] / "nope.yaml")], ("nope.yaml",)),
    ("tune-yaml-syntax", lambda w: ["tune", _experiment(w, "syntax", text="name: [x\n")],
     ("syntax.yaml",)),
    ("tune-empty-file", lambda w: ["tune", _experiment(w, "empty", text="")], ("empty.yaml",)),
    ("tune-top-level-list", lambda w: ["tune", _experiment(w, "list", text="- 1\n")],
     ("list.yaml",)),
    ("tune-unknown-hparam", lambda w: ["tune", _experiment(w, "hp", _set("model.hparams.hiddn", 8))],
     ("hiddn", "hidden")),
    ("tune-unknown-model", lambda w: ["tune", _experiment(w, "m", _set("model.name", "gnnn"))],
     ("gnnn",)),
    ("tune-unknown-section-key", lambda w: ["tune", _experiment(w, "k", _set("train.epochs", 3))],
     ("train.epochs",)),
    ("tune-bad-range", lambda w: ["tune", _experiment(
        w, "range", _set("search", {"hidden": {"low": 16, "high": 8}}))], ("search.hidden",)),
    ("tune-lr-inf", lambda w: ["tune", _experiment(w, "inf", _set("train.optimizer", {"lr": "inf"}))],
     ("train.optimizer.lr", "finite")),
    ("tune-hparam-nan", lambda w: ["tune", _experiment(
        w, "nan", text=(w["good"].read_text() + "search: {}\n").replace("hidden: 8", "hidden: .nan"))],
     ("hidden",)),
    ("tune-negative-epochs", lambda w: ["tune", _experiment(w, "ep", _set("train.max_epochs", -1))],
     ("train.max_epochs",)),
    ("tune-bad-split", lambda w: ["tune", _experiment(w, "split", _set("data.split", [0.9, 0.9, 0]))],
     ("data.split",)),
    ("tune-unknown-searcher", lambda w: ["tune", _experiment(w, "s", _set("tune.searcher", "bayes"))],
     ("tune.searcher",)),
    ("tune-unknown-metric", lambda w: ["tune", _experiment(w, "met", _set("tune.metric", "val_aucc"))],
     ("val_aucc",)),
    ("tune-missing-plugin", lambda w: ["tune", _experiment(w, "pl", _set("plugins", ["no_such_mod"]))],
     ("no_such_mod",)),
    ("tune-missing-store", lambda w: ["tune", _experiment(
        w, "nostore", _set("data.store", str(w["root"] / "absent")))], ("absent",)),
    ("tune-store-is-a-plain-dir", lambda w: ["tune", _experiment(
        w, "plain", _set("data.store", str(w["root"]))), "--name", "x"], ("no sample store at",)),
    ("tune-store-meta-garbage", lambda w: ["tune", _experiment(w, "garbage", _set(
        "data.store", _store_copy(w, "s-meta", lambda s: (s / "meta.json").write_text("{x"))))],
     ("meta.json",)),
    ("tune-storage-is-a-file", lambda w: ["tune", _experiment(
        w, "stfile", _set("storage", _file(w, "afile", "x")))], ("afile", "storage")),
    ("tune-gpus-absent", lambda w: ["tune", _experiment(w, "gpu", _set("train.gpus_per_worker", 4))],
     ("GPU",)),
    ("tune-custom-resource-absent", lambda w: ["tune", _experiment(
        w, "accel", _set("train.resources_per_worker", {"accel": 1}))],
     ("'accel'", "train.resources_per_worker.accel")),
    ("tune-negative-custom-resource", lambda w: ["tune", _experiment(
        w, "negaccel", _set("train.resources_per_worker", {"accel": -1}))],
     ("train.resources_per_worker", "accel=-1")),
    ("tune-too-many-cpus", lambda w: ["tune", _experiment(w, "cpu", _set("train.cpus_per_worker", 512))],
     ("CPU",)),
    ("tune-name-with-slash", lambda w: ["tune", str(w["good"]), "--name", "a/b"], ("--name",)),
    ("tune-name-dotdot", lambda w: ["tune", str(w["good"]), "--name", "../escape"], ("--name",)),
    ("tune-name-absolute", lambda w: ["tune", str(w["good"]), "--name", "/tmp/x"], ("--name",)),
    ("tune-name-hidden", lambda w: ["tune", str(w["good"]), "--name", ".hidden"], ("--name",)),
    ("tune-name-taken", lambda w: ["tune", str(w["good"]), "--name", "taken"],
     ("taken", "--overwrite", "raytrack resume")),
    ("train-missing-file", lambda w: ["train", str(w["root"] / "none.yaml")], ("none.yaml",)),
    ("train-name-taken", lambda w: ["train", str(w["good"]), "--name", "taken"], ("taken",)),
    ("train-unknown-optimizer", lambda w: ["train", _experiment(
        w, "opt", _set("train.optimizer", {"name": "adamm"}))], ("adamm",)),
    ("train-optimizer-foreign-arg", lambda w: ["train", _experiment(
        w, "mom", _set("train.optimizer", {"name": "adam", "momentum": 0.9}))], ("momentum",)),
    ("validate-missing-file", lambda w: ["validate", str(w["root"] / "gone.yaml")], ("gone.yaml",)),
    ("validate-missing-store", lambda w: ["validate", _experiment(
        w, "vstore", _set("data.store", str(w["root"] / "vabsent")))], ("vabsent",)),
    ("validate-gpus", lambda w: ["validate", _experiment(
        w, "vgpu", _set("train.gpus_per_worker", 2))], ("GPU",)),
    # -- sweeps: resume, report ----------------------------------------------------------------
    ("resume-missing-dir", lambda w: ["resume", str(w["root"] / "nosweep")], ("nosweep",)),
    ("resume-not-a-sweep", lambda w: ["resume", str(w["store"])], ("not a raytrack sweep",)),
    ("report-missing-dir", lambda w: ["report", str(w["root"] / "nosweep")], ("nosweep",)),
    ("report-not-a-sweep", lambda w: ["report", str(w["root"])], ("is not a sweep directory",)),
    ("report-sweep-json-garbage", lambda w: ["report", str(Path(_file(
        w, "broken-sweep/sweep.json", "{not json")).parent)], ("sweep.json",)),
    # -- data: generate, convert, store ----------------------------------------------------------
    ("generate-exists", lambda w: ["generate", "detector_sim", str(w["store"]), "--events", "1"],
     ("--overwrite",)),
    ("generate-zero-events", lambda w: ["generate", "detector_sim", str(w["root"] / "g0"),
                                        "--events", "0"], ("--events",)),
    ("generate-negative-pt", lambda w: ["generate", "detector_sim", str(w["root"] / "g1"),
                                        "--events", "1", "--pt-min", "-1"], ("--pt-min",)),
    ("generate-parent-is-file", lambda w: ["generate", "detector_sim",
                                           _file(w, "gfile", "x") + "/store", "--events", "1"],
     ("gfile",)),
    ("convert-missing-dir", lambda w: ["convert", "trackml", str(w["root"] / "nodata"),
                                       str(w["root"] / "c0")], ("nodata",)),
    ("convert-no-hits-file", lambda w: ["convert", "trackml", str(Path(_file(
        w, "onlytruth/event000000001-truth.csv", "hit_id,particle_id\n")).parent),
        str(w["root"] / "c1")], ("hits",)),
    ("convert-text-in-a-coordinate", lambda w: ["convert", "trackml", _trackml(w, "abc", 3, "abc"),
                                               str(w["root"] / "c2")],
     ("hits.csv", "line 5", "'x'", "abc")),
    ("convert-header-only-hits", lambda w: ["convert", "trackml", _trackml(w, "header", None, None),
                                           str(w["root"] / "c3")], ("no hits",)),
    ("convert-all-nan-positions", lambda w: ["convert", "trackml", _trackml(w, "nan", "all", "nan"),
                                            str(w["root"] / "c4")], ("no hits",)),
    ("convert-missing-column", lambda w: ["convert", "trackml", _trackml(w, "nocol", "drop", None),
                                         str(w["root"] / "c5")], ("hits.csv", "z")),
    ("store-info-missing", lambda w: ["store", "info", str(w["root"] / "nostore")], ("nostore",)),
    ("store-info-not-a-store", lambda w: ["store", "info", str(w["root"])], ("meta.json",)),
    ("store-upgrade-not-a-store", lambda w: ["store", "upgrade", str(w["root"])], ("meta.json",)),
    # -- trained models: infer, evaluate, tracks -------------------------------------------------
    ("infer-missing-checkpoint", lambda w: ["infer", str(w["root"] / "nockpt"), str(w["store"]),
                                            str(w["root"] / "i0")], ("nockpt",)),
    ("infer-not-a-checkpoint", lambda w: ["infer", str(w["store"]), str(w["store"]),
                                          str(w["root"] / "i1")], ("state.pt",)),
    ("infer-crafted-pickle", lambda w: ["infer", _ckpt_copy(w, "evil", _plant_pickle),
                                        str(w["store"]), str(w["root"] / "i2")],
     ("refusing checkpoint", "evil")),
    ("infer-truncated-state", lambda w: ["infer", _ckpt_copy(w, "cut", _truncate_state),
                                         str(w["store"]), str(w["root"] / "i3")],
     ("cannot read checkpoint", "cut")),
    ("infer-destination-exists", lambda w: ["infer", str(w["ckpt"]), str(w["store"]),
                                            str(w["store"])], ("--overwrite",)),
    ("infer-missing-source", lambda w: ["infer", str(w["ckpt"]), str(w["root"] / "nosrc"),
                                        str(w["root"] / "i4")], ("nosrc",)),
    ("evaluate-wrong-stage", lambda w: ["evaluate", str(w["ckpt"]), str(w["store"]),
                                        "--evaluator", "tracks"], ("tracks", "exatrkx_embedding")),
    ("evaluate-unknown-evaluator", lambda w: ["evaluate", str(w["ckpt"]), str(w["store"]),
                                              "--evaluator", "grahp"], ("grahp",)),
    ("evaluate-unknown-setting", lambda w: ["evaluate", str(w["ckpt"]), str(w["store"]),
                                            "--set", "radiuss=1"], ("radiuss",)),
    ("evaluate-missing-store", lambda w: ["evaluate", str(w["ckpt"]), str(w["root"] / "nost")],
     ("nost",)),
    ("evaluate-flipped-bytes", lambda w: ["evaluate", str(w["ckpt"]),
                                          _store_copy(w, "flipped", _flip_bytes)],
     ("part-00000.parquet",)),
    ("evaluate-best-json-outside", lambda w: ["evaluate", str(Path(_file(
        w, "planted-sweep/best.json", json.dumps({"checkpoint": str(w["ckpt"])}))).parent),
        str(w["store"])], ("outside the sweep directory",)),
    ("evaluate-best-json-garbage", lambda w: ["evaluate", str(Path(_file(
        w, "garbled-sweep/best.json", "[1, 2")).parent), str(w["store"])], ("best.json",)),
    ("tracks-embedding-checkpoint", lambda w: ["tracks", str(w["ckpt"]), str(w["store"])],
     ("exatrkx_embedding",)),
    # -- pipelines: validate, pipeline, apply ----------------------------------------------------
    ("pipeline-missing-file", lambda w: ["pipeline", str(w["root"] / "nopipe.yaml")],
     ("nopipe.yaml",)),
    ("pipeline-no-stages", lambda w: ["pipeline", _pipeline(w, "p0", {"name": "p", "stages": []})],
     ("stages",)),
    ("pipeline-missing-stage-file", lambda w: ["pipeline", _pipeline(
        w, "p1", {"name": "p", "stages": ["nowhere.yaml"]})], ("nowhere.yaml",)),
    ("pipeline-legacy-tracks-key", lambda w: ["pipeline", _pipeline(
        w, "p2", {"name": "p", "stages": [str(w["good"])], "tracks": {}})], ("tracks",)),
    ("validate-pipeline-no-stages", lambda w: ["validate", _pipeline(
        w, "p3", {"name": "p", "stages": []})], ("stages",)),
    ("apply-missing-dir", lambda w: ["apply", str(w["root"] / "nopipeline"), str(w["store"]),
                                     "--out", str(w["root"] / "a0")],
     ("nopipeline",)),
    ("apply-not-a-pipeline", lambda w: ["apply", str(w["root"]), str(w["store"]),
                                        "--out", str(w["root"] / "a1")],
     ("pipeline",)),
]  # fmt: skip


def _plant_pickle(checkpoint: Path) -> None:
    import torch

    class Planted:
        def __reduce__(self):
            return (Path.touch, (checkpoint / "code-ran",))

    state = torch.load(checkpoint / "state.pt", weights_only=True)
    torch.save({**state, "metrics": Planted()}, checkpoint / "state.pt")


def _truncate_state(checkpoint: Path) -> None:
    state = checkpoint / "state.pt"
    state.write_bytes(state.read_bytes()[:300])


def _trackml(w: dict, name: str, row, value) -> str:
    """A copy of the shared ACTS event with its hits file changed."""
    from tests.conftest import SHARED_DATA

    directory = w["root"] / f"trackml-{name}"
    if directory.exists():
        return str(directory)
    shutil.copytree(SHARED_DATA / "acts", directory)
    hits = directory / "event000000000-hits.csv"
    lines = hits.read_text().splitlines()
    if row is None:
        lines = lines[:1]
    elif row == "all":
        lines = [lines[0]] + [",".join([p[0], value, value, value, *p[4:]])
                              for p in (line.split(",") for line in lines[1:])]  # fmt: skip
    elif row == "drop":
        lines = [",".join(line.split(",")[:3] + line.split(",")[4:]) for line in lines]
    else:
        parts = lines[row + 1].split(",")
        parts[1] = value
        lines[row + 1] = ",".join(parts)
    hits.write_text("\n".join(lines) + "\n")
    return str(directory)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def test_the_catalogue_covers_every_command_with_at_least_sixty_cases() -> None:
    from raytrack.cli import build_parser

    assert len(CASES) >= 60
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    covered = {c for c in commands for case_id, _, _ in CASES if case_id.startswith(c + "-")}
    family_tools = {"motmetrics", "gtr-baseline", "voxdyn"}  # their families' tests cover them
    assert commands - family_tools <= covered, commands - family_tools - covered


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("build", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_clear_line_and_changes_nothing(
    world, build, fragments, capsys, monkeypatch
):
    import raytrack.tune.tuner

    started = []  # (a Ray left running by another test module would hide a call to ray.init)
    monkeypatch.setattr(raytrack.tune.tuner, "init_ray", lambda *a, **k: started.append(a))
    argv = build(world)
    capsys.readouterr()
    before = _snapshot(world["root"])
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1, (argv, out, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    # validate's report is its output (stdout); every other command's error is on stderr
    message = (out if argv[0] == "validate" else err).strip()
    assert message and len(message.splitlines()) <= 2, (out, err)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not started, "Ray started for an input that was bad from the start"
    assert _snapshot(world["root"]) == before
