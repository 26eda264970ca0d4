"""`raytrack pipeline`: embedding -> filter -> GNN sweeps chained through stores, then evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from raytrack.cli import main
from raytrack.families.tracking.event_store import event_counts
from raytrack.pipeline.evaluate import evaluate_checkpoint
from raytrack.store.sample_store import SampleStore
from tests.pipeline.hand_counts import reconstructable_particles

pytestmark = [pytest.mark.ray, pytest.mark.slow]

OPTIONS = {"pt_signal_cut": 1.0, "noise": True, "true_edges": "layerwise"}


def stage(
    path: Path,
    name: str,
    model: str,
    hparams: dict,
    store: str,
    storage: Path,
    metric: str,
    mode: str,
) -> str:
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "model": {"name": model, "hparams": hparams},
                "data": {"store": store, "split": [0.6, 0.2, 0.2], "options": OPTIONS},
                "train": {
                    "max_epochs": 2,
                    "batch_size": 2,
                    "optimizer": {"lr": 0.003},
                    "cpus_per_worker": 1,
                },
                "search": {"train.optimizer.lr": {"grid": [0.003]}},
                "tune": {
                    "metric": metric,
                    "mode": mode,
                    "searcher": "grid",
                    "scheduler": {"name": "fifo"},
                },
                "storage": str(storage),
            }
        )
    )
    return path.name


@pytest.mark.timeout(600)
def test_pipeline_chains_three_stages_and_evaluates_tracks(ray_session, simulated_store, tmp_path):
    store = simulated_store(10, seed=6)
    storage = tmp_path / "results"
    embedding = {
        "emb_hidden": 32,
        "nb_layer": 2,
        "emb_dim": 8,
        "r_train": 0.2,
        "knn": 20,
        "r_val": 0.3,
        "knn_val": 20,
        "r_test": 0.2,
        "knn_test": 10,
    }
    files = [
        stage(
            tmp_path / "e.yaml",
            "emb",
            "exatrkx_embedding",
            embedding,
            str(store),
            storage,
            "val_efficiency",
            "max",
        ),
        stage(
            tmp_path / "f.yaml",
            "filt",
            "exatrkx_filter",
            {"hidden": 16, "nb_layer": 2, "regime": ["pid"], "filter_cut": 0.05},
            "replaced-by-the-pipeline",
            storage,
            "val_auc",
            "max",
        ),
        stage(
            tmp_path / "g.yaml",
            "gnn",
            "exatrkx_gnn",
            {
                "input_graph": "stored",
                "hidden": 8,
                "n_graph_iters": 1,
                "nb_node_layer": 1,
                "nb_edge_layer": 1,
                "regime": ["pid"],
            },
            "replaced-by-the-pipeline",
            storage,
            "val_auc",
            "max",
        ),
    ]
    pipeline = tmp_path / "pipeline.yaml"
    evaluate = {"evaluator": "tracks", "samples": "test", "settings": {"method": "cc"}}
    pipeline.write_text(yaml.safe_dump({"name": "tiny", "stages": files, "evaluate": evaluate}))

    assert main(["pipeline", str(pipeline), "--verbose", "0"]) == 0

    (run,) = storage.glob("tiny-*")
    record = json.loads((run / "pipeline.json").read_text())
    assert [s["stage"] for s in record["stages"]] == ["1-emb", "2-filt", "3-gnn"]
    embedded = SampleStore(record["stages"][0]["output_store"])
    filtered = SampleStore(record["stages"][1]["output_store"])
    assert embedded.ids() == filtered.ids() == SampleStore(store).ids()
    assert event_counts(filtered)["edges"] <= event_counts(embedded)["edges"]
    assert filtered.provenance["source_store"] == str(embedded.path)
    assert "3-gnn" in record["stages"][2]["sweep"] and record["stages"][2]["checkpoint"]
    assert record["evaluation"]["evaluator"] == "tracks"
    tracks = record["evaluation"]["summary"]
    assert tracks["events"] == 2  # the test split of 10 events
    per_event = pd.read_csv(run / "tracks_per_item.csv")
    assert len(per_event) == 2
    test_ids = per_event["event_id"].tolist()
    assert tracks["n_particles"] == reconstructable_particles(SampleStore(store), test_ids) > 0
    assert tracks["efficiency"] == pytest.approx(
        tracks["n_reconstructed_particles"] / tracks["n_particles"]
    )
    assert tracks["trackml_score"] == pytest.approx(per_event["trackml_score"].mean())

    # The trained pipeline reconstructs other events: all stages applied, tracks evaluated.
    other = simulated_store(3, seed=99)
    assert main(["apply", str(run), str(other), "--out", str(tmp_path / "applied")]) == 0
    applied = json.loads((tmp_path / "applied" / "tracks_summary.json").read_text())
    assert applied["events"] == 3
    assert applied["n_particles"] == reconstructable_particles(SampleStore(other), [0, 1, 2]) > 0
    filtered_other = tmp_path / "applied" / "stores" / "2-filt"
    assert SampleStore(filtered_other).ids() == [0, 1, 2]
    _, direct = evaluate_checkpoint(record["stages"][2]["checkpoint"], filtered_other,
                                    settings={"method": "cc"}, reference=other)  # fmt: skip
    for key in ("efficiency", "n_particles", "n_tracks", "trackml_score", "events"):
        assert direct.summary[key] == applied[key], key


@pytest.mark.timeout(600)
def test_a_weights_chain_starts_each_stage_from_the_previous_best(
    ray_session, simulated_store, tmp_path
):
    """Progressive transfer: each stage trains on its own events (here a higher pile-up) and
    starts from the previous stage's best checkpoint (``train.init_from: previous``)."""
    storage = tmp_path / "results"
    gnn = {"hidden": 8, "n_graph_iters": 1, "nb_node_layer": 1, "nb_edge_layer": 1}
    low = stage(
        tmp_path / "low.yaml",
        "low",
        "exatrkx_gnn",
        gnn,
        str(simulated_store(10, seed=6)),
        storage,
        "val_auc",
        "max",
    )
    high_file = tmp_path / "high.yaml"
    stage(
        high_file,
        "high",
        "exatrkx_gnn",
        gnn,
        str(simulated_store(10, seed=7, rfactor=0.01)),
        storage,
        "val_auc",
        "max",
    )
    high = yaml.safe_load(high_file.read_text())
    high["train"]["init_from"] = "previous"
    high_file.write_text(yaml.safe_dump(high))
    pipeline = tmp_path / "transfer.yaml"
    evaluate = {"evaluator": "tracks", "settings": {"method": "cc"}}
    pipeline.write_text(
        yaml.safe_dump(
            {
                "name": "transfer",
                "stages": [low, "high.yaml"],
                "chain": "weights",
                "evaluate": evaluate,
            }
        )
    )

    assert main(["pipeline", str(pipeline), "--verbose", "0"]) == 0

    (run,) = storage.glob("transfer-*")
    record = json.loads((run / "pipeline.json").read_text())
    first, second = record["stages"]
    assert "output_store" not in first  # nothing inferred between the stages
    best = yaml.safe_load((Path(second["sweep"]) / "best.yaml").read_text())
    assert best["train"]["init_from"] == first["checkpoint"]
    assert best["data"]["store"] == str(simulated_store(10, seed=7, rfactor=0.01))
    assert record["evaluation"]["summary"]["events"] == 2  # the last stage's own test events
