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
    assert [e.model.name for e in (embedding, filter_, gnn)] == ["exatrkx_embedding", "exatrkx_filter", "exatrkx_gnn"]
    assert gnn.model.hparams["input_graph"] == "stored"  # the GNN reads the filter's graphs
    assert spec.device == "auto" and spec.tracks.method == "walkthrough"


def test_walkthrough_cuts_are_checked(tmp_path):
    file = tmp_path / "p.yaml"
    stages = [str(ROOT / "search_spaces" / f"exatrkx_{s}_smoke.yaml") for s in ("embedding", "filter", "gnn")]
    file.write_text(yaml.safe_dump({"name": "p", "stages": stages, "tracks": {"method": "walkthrough", "th_min": 1.5}}))
    with pytest.raises(ValidationError, match="th_min"):
        load_pipeline(file)
