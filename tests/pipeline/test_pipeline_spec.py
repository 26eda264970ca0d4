"""The pipeline file: its checks before anything runs, and the driver's device."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from pydantic import ValidationError

from raytrack.pipeline.runner import driver_device, load_pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_driver_device():
    assert driver_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert driver_device("cuda:1") == "cuda:1"  # as given: the driver's GPU is the user's call


def test_cluster_pipeline_chains_the_reference_stages_on_stored_graphs():
    spec, (embedding, filter_, gnn) = load_pipeline(ROOT / "pipelines" / "exatrkx.yaml")
    assert [e.model.name for e in (embedding, filter_, gnn)] == [
        "exatrkx_embedding",
        "exatrkx_filter",
        "exatrkx_gnn",
    ]
    assert gnn.model.hparams["input_graph"] == "stored"  # the GNN reads the filter's graphs
    assert spec.device == "auto" and spec.evaluate.evaluator == "tracks"
    # the reference's track building (connected components at 0.5) and matching (ATLAS, 3 hits)
    assert spec.evaluate.settings["method"] == "cc" and spec.evaluate.samples == "test"
    assert spec.evaluate.settings["matching_style"] == "ATLAS"


def _pipeline(tmp_path, **sections) -> Path:
    file = tmp_path / "p.yaml"
    stages = [
        str(ROOT / "search_spaces" / f"exatrkx_{s}_smoke.yaml")
        for s in ("embedding", "filter", "gnn")
    ]
    file.write_text(yaml.safe_dump({"name": "p", "stages": stages, **sections}))
    return file


def test_evaluator_settings_are_checked_before_anything_runs(tmp_path):
    bad_cut = _pipeline(tmp_path, evaluate={"settings": {"method": "walkthrough", "th_min": 1.5}})
    with pytest.raises(ValidationError, match=r"th_min\n  Input should be less than or equal to 1"):
        load_pipeline(bad_cut)
    with pytest.raises(KeyError, match="unknown evaluator 'trakcs'; did you mean 'tracks'"):
        load_pipeline(_pipeline(tmp_path, evaluate={"evaluator": "trakcs"}))
    spec, _ = load_pipeline(_pipeline(tmp_path))  # default: the last stage's first evaluator
    assert spec.evaluate.evaluator == "tracks" and spec.evaluate.settings == {}


def test_the_earlier_layout_is_an_error_that_says_what_to_write(tmp_path):
    earlier = _pipeline(tmp_path, evaluate="test", tracks={"method": "cc"})
    with pytest.raises(
        ValidationError, match=r"evaluate: \{evaluator: tracks, samples: test, settings"
    ):
        load_pipeline(earlier)
