"""Tiny real inputs for the contract suite (:mod:`raytrack.tasks.contract`): four simulated
clips of six frames with rendered crops, and the smallest model that exercises every part
(visual encoder, two decoder layers scored, learned embeddings)."""

from __future__ import annotations

from raytrack.family import ContractExample

SETTINGS = {"clip_length": 6, "image_size": (64, 64), "objects": 2, "crossings": 1,
            "birth_rate": 0.2, "death_rate": 0.05, "occlusion_rate": 0.1, "crop_size": 12}  # fmt: skip


def gtr_example() -> ContractExample:
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import moving_objects

    rows = list(moving_objects(MovingObjectsSettings(**SETTINGS), count=4, seed=5).rows)
    hparams = {
        "d_model": 16,
        "nhead": 2,
        "num_encoder_layers": 1,
        "num_decoder_layers": 2,
        "return_intermediate_dec": True,
        "num_layers_attn_head": 1,
        "encoder_cfg": {"in_chans": 3, "channels": [4, 8]},
        "embedding_meta": {"pos": {"mode": "learned", "emb_num": 8}, "temp": {"mode": "learned"}},
        "tracker": {"window_size": 3},
    }
    return ContractExample(hparams, rows)
