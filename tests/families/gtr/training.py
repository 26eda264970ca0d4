"""A few in-process training steps of a tiny GTR (no Ray), for tests of what a trained model does."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from raytrack.families.gtr.clip import Clip
from raytrack.registry import get_model

TINY = {"d_model": 16, "nhead": 2, "dropout": 0.0, "dropout_attn_head": 0.0,
        "num_layers_attn_head": 1, "use_vis_feats": False, "tracker": {"window_size": 4}}  # fmt: skip


def easy_clips(count: int, seed: int = 1) -> list[Clip]:
    """Clips of 3 objects moving straight and apart: no births, deaths, occlusions, crossings."""
    from raytrack.families.gtr.sim_settings import MovingObjectsSettings
    from raytrack.families.gtr.simulator import simulate_clip

    settings = MovingObjectsSettings(
        clip_length=8, image_size=(96, 96), objects=3, crossings=0, birth_rate=0, death_rate=0,
        occlusion_rate=0, crops=False, motion="constant_velocity", speed=2,
    )  # fmt: skip
    return [Clip.from_row(simulate_clip(settings, i, seed), False) for i in range(count)]


def tiny_gtr(hparams: dict | None = None, options: dict | None = None):
    torch.manual_seed(0)
    return get_model("gtr").build({**TINY, **(hparams or {})}, options or {})


def train(model, task, clips: list[Clip], steps: int = 60, lr: float = 3e-3) -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for step in range(steps):
        batch = [clips[(step * 4 + k) % len(clips)] for k in range(4)]
        loss = task.training_step(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@lru_cache(maxsize=1)
def trained_on_easy_clips():
    """``(model, task)`` trained 60 steps on 16 easy clips (shared by tests: do not train it)."""
    model, task = tiny_gtr()
    train(model, task, easy_clips(16))
    return model, task
