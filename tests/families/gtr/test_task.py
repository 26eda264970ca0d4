"""The GTR task: augmentation of training clips only, validation statistics, infer's output."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from raytrack.families.gtr.hparams import MOT_METRICS
from raytrack.tasks.base import TaskContext
from tests.families.gtr.training import tiny_gtr, trained_on_easy_clips


def test_only_training_clips_are_augmented(sim_store) -> None:
    options = {
        "augmentations": {"NodeDropout": {"p": 1.0, "n": 1}, "InstanceDropout": {"p": 1.0, "n": 1}}
    }
    model, task = tiny_gtr({"use_vis_feats": True, "encoder_cfg": {"channels": [4]}}, options)
    task.setup(TaskContext(store_path=str(sim_store.path), splits={"train": [0, 1], "val": [2]}))
    train_row, val_row = sim_store.row(0), sim_store.row(2)
    augmented, kept = task.prepare(train_row), task.prepare(val_row)
    frames = len(set(train_row["frame"].tolist()))
    assert len(augmented) == len(train_row["frame"]) - frames  # one instance dropped per frame
    assert (
        torch.isnan(augmented.box).all() and int(augmented.crop.max()) == 0
    )  # every anchor dropped
    assert len(kept) == len(val_row["frame"]) and not torch.isnan(kept.box).any()


def test_albumentations_transform_the_crops_of_training_clips(sim_store) -> None:
    pytest.importorskip("albumentations")
    options = {
        "augmentations": {
            "RandomBrightnessContrast": {
                "brightness_limit": [0.3, 0.3],
                "contrast_limit": 0,
                "p": 1.0,
            }
        }
    }
    model, task = tiny_gtr({"use_vis_feats": True, "encoder_cfg": {"channels": [4]}}, options)
    task.setup(TaskContext(splits={"train": [0]}))
    np.random.seed(0)
    row = sim_store.row(0)
    brighter = task.prepare(row)
    assert brighter.crop.shape == (len(row["frame"]), 1, 12, 12, 3)
    assert (
        brighter.crop.float().mean() > torch.from_numpy(np.array(row["crop"])).float().mean() + 20
    )


def test_validation_reports_the_selected_mot_metrics_and_nan_for_the_others() -> None:
    from tests.families.gtr.training import easy_clips

    model, task = trained_on_easy_clips()
    stats = task.validation_step(model, easy_clips(20)[16:])
    metrics = task.summarize(stats)
    assert set(metrics) == {"loss", *MOT_METRICS}
    assert metrics["idf1"] == 1.0 and metrics["num_switches"] == 0 and metrics["num_objects"] == 96
    _, narrow = tiny_gtr({"runner": {"metrics": {"val": ["num_switches"]}}})
    narrow.options = task.options
    only = narrow.summarize(stats)
    assert only["num_switches"] == 0 and math.isnan(only["mota"])
    _, none = tiny_gtr({"runner": {"metrics": {"val": []}}})
    silent = none.validation_step(model, easy_clips(18)[16:])
    assert float(silent["mot"].sum()) == 0 and float(silent["clips"]) == 2


def test_infer_writes_predicted_ids_in_the_rows_order_and_embeddings(sim_store) -> None:
    model, task = tiny_gtr({"return_embedding": True})
    row = dict(sim_store.row(4))
    shuffled = np.random.default_rng(0).permutation(len(row["frame"]))
    for name in ("frame", "track_id", "box", "centroid", "crop"):
        row[name] = row[name][shuffled]
    out = task.infer(model.eval(), row)
    assert out["clip_id"] == 4 and out["pred_track_id"].shape == row["frame"].shape
    assert out["pos_emb"].shape == (len(row["frame"]), 16)
    # the first frame's instances start tracks 0, 1, ... in frame order
    first = row["frame"] == row["frame"].min()
    assert sorted(out["pred_track_id"][first].tolist()) == list(range(int(first.sum())))
    names = [c.name for c in task.output_columns(out)]
    assert names == ["pred_track_id", "pos_emb", "temp_emb"]


def test_both_feature_modes_train_and_track_on_the_real_fly_video(flies_store) -> None:
    from raytrack.families.gtr.baseline_tracker import BaselineSettings
    from raytrack.families.gtr.clip import Clip
    from raytrack.families.gtr.evaluate import evaluate_tracking
    from tests.families.gtr.training import train

    for vis in (True, False):
        model, task = tiny_gtr(
            {"use_vis_feats": vis, "encoder_cfg": {"in_chans": 1, "channels": [4, 8]}}
        )
        clips = [Clip.from_row(row, with_crops=vis) for row in flies_store.iter_rows()]
        assert (clips[0].crop is not None) == vis
        torch.manual_seed(0)
        before = float(task.training_step(model.eval(), clips[:4]).detach())
        train(model, task, clips[:4], steps=6)
        after = float(task.training_step(model.eval(), clips[:4]).detach())
        assert after < before
        summary = evaluate_tracking(
            model.eval(), clips[6:], task.tracker_settings, BaselineSettings()
        ).summary
        assert (
            summary["recall"] == 1.0 and summary["num_objects"] == 64 and 0 < summary["idf1"] <= 1
        )
