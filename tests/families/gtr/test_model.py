"""The global tracking transformer's parts: shapes, embeddings, encoders, weights files."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.gtr.box_embedding import BoxEmbedding, interpolated_rows
from raytrack.families.gtr.embedding_settings import PosEmbeddingSettings, TempEmbeddingSettings
from raytrack.families.gtr.encoder_settings import EncoderConfig
from raytrack.families.gtr.global_tracking_transformer import GlobalTrackingTransformer
from raytrack.families.gtr.time_embedding import TimeEmbedding
from raytrack.families.gtr.visual_encoder import VisualEncoder


def _inputs(n: int = 7, anchors: int = 1, channels: int = 1):
    torch.manual_seed(0)
    corner = torch.rand(n, anchors, 2) * 0.8
    boxes = torch.cat([corner, corner + 0.1], dim=-1)
    return boxes, torch.arange(n).float() // 2, torch.rand(n, channels, 16, 16)


@pytest.mark.parametrize("activation", ["relu", "gelu", "glu"])
def test_every_decoder_layer_is_scored_with_return_intermediate_dec(activation) -> None:
    model = GlobalTrackingTransformer(
        d_model=16, nhead=2, num_decoder_layers=3, return_intermediate_dec=True, norm=True,
        decoder_self_attn=True, activation=activation, encoder_cfg={"in_chans": 3, "channels": [4]},
    )  # fmt: skip
    boxes, times, crops = _inputs()
    out = model(boxes, times, crops)  # one-channel crops are repeated to in_chans 3
    assert out["asso"].shape == (3, 7, 7)
    assert model(boxes, times, crops, query=torch.tensor([5, 6]))["asso"].shape == (3, 2, 7)


def test_without_visual_features_the_model_has_no_encoder_and_uses_positions() -> None:
    model = GlobalTrackingTransformer(d_model=16, nhead=2, use_vis_feats=False, dropout=0.0,
                                      dropout_attn_head=0.0).eval()  # fmt: skip
    assert model.visual_encoder is None
    boxes, times, _ = _inputs()
    first = model(boxes, times)["asso"]
    moved = boxes.clone()
    moved[0] += 0.3
    assert not torch.allclose(first, model(moved, times)["asso"])


def test_fixed_box_embedding_is_dETR_sine_of_each_coordinate() -> None:
    embedding = BoxEmbedding(PosEmbeddingSettings(mode="fixed", normalize=True), 16)
    boxes = torch.tensor([[[0.25, 0.5, 0.75, 1.0]]])
    out = embedding(boxes)
    # per coordinate 4 features: sin/cos at frequencies 1 and 10000 ** (-2 / 4)
    angle = 0.25 * 2 * math.pi
    assert out[0, :4].tolist() == pytest.approx(
        [math.sin(angle), math.cos(angle), math.sin(angle / 100), math.cos(angle / 100)], abs=1e-6
    )
    missing = embedding(torch.full((1, 1, 4), float("nan")))
    assert torch.isfinite(missing).all()  # absent anchors become -1, as in biogtr


def test_learned_embeddings_interpolate_their_tables() -> None:
    table = torch.tensor([[0.0], [10.0], [20.0]])
    assert interpolated_rows(table, torch.tensor([0.5, 2.0, 7.0, -1.0])).flatten().tolist() == [
        5.0, 20.0, 20.0, 0.0,
    ]  # fmt: skip
    time = TimeEmbedding(TempEmbeddingSettings(mode="learned", emb_num=4), 8)
    assert torch.equal(time(torch.tensor([1.0])), time.lookup[1:2])
    centre = BoxEmbedding(PosEmbeddingSettings(mode="learned", emb_num=8, over_boxes=False), 16)
    assert centre(_inputs()[0]).shape == (7, 16)


def test_several_anchors_need_an_mlp_to_reach_d_model() -> None:
    with pytest.raises(ValueError, match="give embedding_meta.pos.mlp_cfg"):
        BoxEmbedding(PosEmbeddingSettings(mode="fixed", n_points=2), 16)
    embedding = BoxEmbedding(
        PosEmbeddingSettings(mode="fixed", n_points=2, mlp_cfg={"hidden_dims": 8, "num_layers": 2}),
        16,
    )
    assert embedding(_inputs(anchors=2)[0]).shape == (7, 16)
    with pytest.raises(ValueError, match="embedding_meta.pos.n_points is 2: set it to 1"):
        embedding(_inputs(anchors=1)[0])


def test_the_crops_channels_must_match_in_chans() -> None:
    encoder = VisualEncoder(EncoderConfig(in_chans=2, channels=[4]), 8)
    with pytest.raises(ValueError, match="encoder_cfg.in_chans is 2: set it to 3"):
        encoder(torch.rand(2, 3, 16, 16))
    assert torch.allclose(encoder(torch.rand(2, 2, 16, 16)).norm(dim=-1), torch.ones(2))


def test_a_local_weights_file_is_loaded_and_a_wrong_one_named(tmp_path) -> None:
    source = VisualEncoder(EncoderConfig(channels=[4, 8]), 8)
    file = tmp_path / "backbone.pt"
    torch.save({**source.feature_extractor.state_dict(), "fc.weight": torch.zeros(2)}, file)
    loaded = VisualEncoder(EncoderConfig(channels=[4, 8], weights=str(file)), 8)
    for key, value in source.feature_extractor.state_dict().items():
        assert torch.equal(loaded.feature_extractor.state_dict()[key], value)
    with pytest.raises(ValueError, match=r"encoder_cfg.weights: .*backbone.pt does not fit"):
        VisualEncoder(EncoderConfig(channels=[4, 16], weights=str(file)), 8)
    with pytest.raises(ValueError, match="the builtin cnn takes channels, not \\['depth'\\]"):
        VisualEncoder(EncoderConfig(depth=3), 8)


@pytest.mark.parametrize("backend,name", [("timm", "resnet18"), ("torchvision", "resnet18")])
def test_timm_and_torchvision_backbones_where_installed(backend, name) -> None:
    pytest.importorskip(backend)
    model = GlobalTrackingTransformer(
        d_model=32, nhead=2, encoder_cfg={"backend": backend, "model_name": name, "in_chans": 1}
    )
    boxes, times, crops = _inputs(channels=1)
    assert model(boxes, times, torch.rand(7, 1, 64, 64))["asso"].shape == (1, 7, 7)
