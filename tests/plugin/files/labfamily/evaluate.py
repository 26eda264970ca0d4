import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from raytrack.family import Evaluation


class AccuracySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.5, gt=0, lt=1)


def accuracy(checkpoint, store, settings, *, ids=None, device="cpu", reference=None) -> Evaluation:
    rows = []
    with torch.no_grad():
        for row in store.iter_rows(ids=ids):
            x = torch.as_tensor(row["x"]).unsqueeze(0)
            score = float(torch.sigmoid(checkpoint.model(x))[0])
            rows.append({"sample_id": row["sample_id"], "score": score, "y": float(row["y"])})
    frame = pd.DataFrame(rows)
    correct = ((frame["score"] > settings.threshold) == (frame["y"] > 0.5)).mean()
    return Evaluation({"accuracy": float(correct), "samples": len(frame)}, frame)
