"""Upgrading version 1 stores in place, and the ``raytrack store info|upgrade`` commands."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from raytrack.store.columns import StoreError
from raytrack.store.commands import add_commands
from raytrack.store.sample_store import SampleStore
from raytrack.store.upgrade import upgrade_store
from tests.store.test_sample_store import FILES, _write


@pytest.fixture(params=["v1_events", "v1_graph"])
def v1_copy(request, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FILES / request.param, tmp_path / request.param))


def _digests(path: Path) -> dict[str, str]:
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.glob("*.parquet"))
    }


def _rows(store: SampleStore) -> list[dict]:
    return [{k: np.array(v) for k, v in row.items()} for row in store.iter_rows()]


def test_upgrade_rewrites_only_meta_json_and_reads_the_same(v1_copy: Path) -> None:
    before, parquet = SampleStore(v1_copy), _digests(v1_copy)
    rows = _rows(before)
    assert upgrade_store(v1_copy) is True
    meta = json.loads((v1_copy / "meta.json").read_text())
    assert meta == before.metadata
    assert (meta["format"], meta["schema_version"], meta["source"]) == (
        "raytrack-sample-store",
        2,
        None,
    )
    assert meta["schema"]["key"] == "event_id"
    assert {
        "name": "p_pt",
        "dtype": "float32",
        "shape": [None],
        "group": "particle",
        "finite": False,
    } in meta["schema"]["columns"]
    assert _digests(v1_copy) == parquet
    assert [p.name for p in v1_copy.iterdir() if p.name.startswith(".")] == []  # no temp file left
    after = SampleStore(v1_copy)
    assert after.format_version == 2 and after.schema == before.schema
    assert after.counts == before.counts and after.provenance == before.provenance
    for new, old in zip(_rows(after), rows, strict=True):
        assert new.keys() == old.keys()
        for name in new:
            assert new[name].dtype == old[name].dtype
            np.testing.assert_array_equal(new[name], old[name])


def test_upgrade_is_idempotent_on_v2_stores(v1_copy: Path, tmp_path: Path) -> None:
    upgrade_store(v1_copy)
    text = (v1_copy / "meta.json").read_text()
    assert upgrade_store(v1_copy) is False
    assert (v1_copy / "meta.json").read_text() == text
    written = _write(tmp_path / "new", ids=[1, 2])
    text = (written.path / "meta.json").read_text()
    assert upgrade_store(written.path) is False
    assert (written.path / "meta.json").read_text() == text


def test_upgrade_refuses_what_is_not_a_v1_store(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(StoreError, match="cannot upgrade .*plain: .*no meta.json"):
        upgrade_store(tmp_path / "plain")
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        upgrade_store(tmp_path / "nowhere")
    broken = Path(shutil.copytree(FILES / "v1_events", tmp_path / "broken"))
    meta = json.loads((broken / "meta.json").read_text())
    del meta["files"][0]["min_event_id"]
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="not a valid version 1 event store .*min_event_id"):
        upgrade_store(broken)
    assert json.loads((broken / "meta.json").read_text()) == meta  # left as it was
    (broken / "part-00001.parquet").unlink()
    meta = json.loads((FILES / "v1_events" / "meta.json").read_text())
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="missing its Parquet file .*part-00001.parquet"):
        upgrade_store(broken)
    assert json.loads((broken / "meta.json").read_text())["format"] == "raytrack-event-store"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="raytrack")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_store_info_and_upgrade_commands(tmp_path: Path, capsys) -> None:
    store = Path(shutil.copytree(FILES / "v1_graph", tmp_path / "graph"))
    assert _run(["store", "info", str(store)]) == 0
    out = capsys.readouterr().out
    assert "raytrack-event-store v1" in out and "key         event_id" in out
    assert "rows        2" in out and "counts      hit 433, particle 41, edge 866" in out
    assert "provenance  stage='fixture', seed=2" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["x", "float32", "(None,)", "hit"] in lines
    assert ["e_score", "float32", "(None,)", "edge"] in lines
    assert ["part-00000.parquet", "2", "rows", "event_id", "5..6"] in lines
    assert _run(["store", "upgrade", str(store)]) == 0
    assert "upgraded" in capsys.readouterr().out and SampleStore(store).format_version == 2
    assert _run(["store", "upgrade", str(store)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _run(["store", "info", str(store)]) == 0
    assert "format      raytrack-sample-store v2" in capsys.readouterr().out
    kinds = _write(tmp_path / "kinds", ids=[0, 1])
    assert _run(["store", "info", str(kinds.path)]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["crops", "uint8", "(None,", "2,", "2,", "3)", "hit"] in lines
    assert ["source", "kinds"] in lines and ["provenance", "test=True"] in lines
    assert _run(["store", "upgrade", str(tmp_path)]) == 1
    assert "cannot upgrade" in capsys.readouterr().err
    assert _run(["store", "info", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
