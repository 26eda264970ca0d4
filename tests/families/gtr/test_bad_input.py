"""Bad input is a clear error naming the key or the file (the issue's acceptance list)."""

from __future__ import annotations

import shutil

import pytest

from raytrack.config.errors import ConfigError


def test_a_slp_whose_video_is_missing_names_both_files(shared_data, tmp_path) -> None:
    pytest.importorskip("sleap_io")
    from raytrack.families.gtr.sleap_source import SleapSettings, sleap_clips

    slp = tmp_path / "two_flies.slp"
    shutil.copy(shared_data / "sleap" / "two_flies.slp", slp)
    with pytest.raises(
        FileNotFoundError,
        match=r"the video of .*two_flies\.slp is missing: it names two_flies\.mp4",
    ):
        sleap_clips(SleapSettings(slp_files=[str(slp)]))
    with pytest.raises(FileNotFoundError, match=r"video_files: .*nowhere\.mp4"):
        sleap_clips(
            SleapSettings(slp_files=[str(slp)], video_files=[str(tmp_path / "nowhere.mp4")])
        )


def test_a_clip_longer_than_the_video_names_clip_length_and_the_file(shared_data) -> None:
    pytest.importorskip("sleap_io")
    from raytrack.families.gtr.sleap_source import SleapSettings, sleap_clips

    settings = SleapSettings(
        slp_files=[str(shared_data / "sleap" / "ten_zfish.slp")], clip_length=40
    )
    with pytest.raises(
        ValueError, match=r"clip_length 40 is longer than video .*ten_zfish\.slp \(32 frames"
    ):
        list(sleap_clips(settings).rows)


def test_d_model_not_divisible_by_nhead_names_both() -> None:
    from raytrack.families.gtr.global_tracking_transformer import GlobalTrackingTransformer

    with pytest.raises(
        ValueError, match=r"d_model must be divisible by nhead .* d_model=30, nhead=4"
    ):
        GlobalTrackingTransformer(d_model=30, nhead=4)


def test_an_unknown_albumentations_name_is_an_error_before_ray_starts() -> None:
    pytest.importorskip("albumentations")
    from raytrack.config.validate import validate_experiment

    raw = {
        "name": "bad",
        "model": {"name": "gtr", "hparams": {"d_model": 16, "nhead": 2}},
        "data": {"store": "nowhere", "options": {"augmentations": {"GaussianBlurr": {"p": 0.5}}}},
    }
    with pytest.raises(ConfigError, match=r"data\.options\.augmentations.*GaussianBlurr"):
        validate_experiment(raw)
    raw["data"]["options"]["augmentations"] = {"GaussianBlur": {"blur_limits": [3, 7]}}
    with pytest.raises(
        ConfigError, match=r"augmentations\.GaussianBlur: unknown parameter\(s\) \['blur_limits'\]"
    ):
        validate_experiment(raw)


def test_hyperparameter_mistakes_are_named_by_validate() -> None:
    from raytrack.config.validate import validate_experiment

    raw = {
        "name": "bad",
        "model": {
            "name": "gtr",
            "hparams": {
                "embedding_meta": {"pos": {"mode": "fixed", "emb_num": 8}},
                "tracker": {"use_vis_feats": False},
                "encoder_cfg": {"pretrained": True},
                "runner": {"metrics": {"train": ["num_switches"]}},
            },
        },
        "data": {"store": "nowhere"},
    }
    with pytest.raises(ConfigError) as caught:
        validate_experiment(raw)
    text = str(caught.value)
    assert "embedding_meta.pos has mode 'fixed', which takes none of emb_num" in text
    assert "use_vis_feats is a model hyperparameter" in text
    assert "encoder_cfg.pretrained: raytrack downloads no weights" in text
    assert "runner.metrics.train" in text


def test_use_vis_feats_on_a_store_without_crops_is_named(shared_data, tmp_path) -> None:
    from raytrack.families.gtr.gtr_task import GTRTask
    from raytrack.families.gtr.isbi_source import IsbiSettings, isbi_clips
    from raytrack.store.writing import write_store
    from raytrack.tasks.base import TaskContext

    output = isbi_clips(IsbiSettings(path=str(shared_data / "isbi")))
    store = write_store(tmp_path / "isbi", output.rows, schema=output.schema, provenance={})
    with pytest.raises(
        ValueError, match=r"use_vis_feats is true, but the store at .* holds no image crops"
    ):
        GTRTask(use_vis_feats=True).setup(TaskContext(store_path=str(store.path)))


def test_a_row_that_is_not_a_clip_names_data_store_and_the_missing_columns() -> None:
    from raytrack.families.gtr.clip import Clip

    hits = {"event_id": 0, "hit_id": [1, 2], "x": [0.1, 0.2]}  # a tracking-family row
    with pytest.raises(
        ValueError, match=r"data.store: a row without the GTR clip columns .*clip_id"
    ):
        Clip.from_row(hits, with_crops=False)
