import numpy as np
import torch
from torch import nn

from raytrack.family import ContractExample
from raytrack.tasks.base import Task


class BlobTask(Task):
    metrics = ("loss", "accuracy")

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def prepare(self, row):
        return np.asarray(row["x"], np.float32), np.float32(row["y"])

    def collate(self, samples):
        xs, ys = zip(*samples)
        return torch.as_tensor(np.stack(xs)), torch.as_tensor(np.array(ys))

    def training_step(self, model: nn.Module, batch):
        x, y = batch
        return nn.functional.binary_cross_entropy_with_logits(model(x), y)

    def validation_step(self, model: nn.Module, batch):
        x, y = batch
        logits = model(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
        correct = ((torch.sigmoid(logits) > self.threshold).float() == y).sum()
        return {"loss": loss, "correct": correct, "count": torch.tensor(float(len(y)))}

    def summarize(self, totals):
        count = float(totals["count"])
        return {"loss": float(totals["loss"]) / count, "accuracy": float(totals["correct"]) / count}


def example() -> ContractExample:
    from labfamily.source import BlobSettings, blobs

    return ContractExample({"hidden": 4}, list(blobs(BlobSettings(), count=6, seed=0).rows))
