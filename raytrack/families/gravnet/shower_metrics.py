"""Shower reconstruction figures: efficiency, fake rate, energy response and resolution.

From the matched showers of each event (:mod:`.showers_matcher`):

- **efficiency**: matched truth showers / truth showers;
- **fake rate**: unmatched predicted showers / predicted showers;
- **response**: the mean of ``E_pred / E_true`` over matched showers, and **resolution** its
  relative spread ``std / mean`` (both per bin of true energy in the evaluator's plots);
- **deposited response**: the same for the uncorrected sum of the shower's hit energies.

:func:`shower_rows` gives one row per shower of an event (truth and predicted); :func:`counts`
turns rows into the additive statistics a validation step returns, :func:`figures` turns
statistics into the headline numbers, :func:`binned` into the per-energy-bin curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from raytrack.families.gravnet.condensation import PredictedShowers
from raytrack.families.gravnet.showers_matcher import Matching

STATISTICS = ("true_showers", "matched", "pred_showers", "fakes", "response_sum",
              "response_sq_sum", "deposited_sum")  # fmt: skip
"""The additive statistics of :func:`counts`, in order."""


def shower_rows(
    event_id: int, t_idx: np.ndarray, t_energy: np.ndarray, t_pid: np.ndarray,
    showers: PredictedShowers, matching: Matching,
) -> pd.DataFrame:  # fmt: skip
    """One row per truth shower (``kind`` "truth") and per predicted shower ("pred")."""
    first = [int(np.flatnonzero(t_idx == k)[0]) for k in matching.truth_ids]
    true_energy = np.asarray(t_energy, np.float64)[first]
    # a NaN row appended to each side stands for "no partner" (index −1)
    pred_energy = np.r_[showers.energy, np.nan][matching.truth_match]
    pred_deposited = np.r_[showers.deposited, np.nan][matching.truth_match]
    truth = pd.DataFrame({
        "event_id": event_id, "kind": "truth", "truth_id": matching.truth_ids.astype(np.int64),
        "pred_id": matching.truth_match, "true_energy": true_energy, "pred_energy": pred_energy,
        "deposited_energy": pred_deposited, "iou": matching.truth_iou,
        "pid": np.asarray(t_pid, np.int64)[first], "matched": matching.truth_match >= 0,
    })  # fmt: skip
    owner = matching.pred_match
    pred = pd.DataFrame({
        "event_id": event_id, "kind": "pred",
        "truth_id": np.r_[matching.truth_ids, -1][owner].astype(np.int64),
        "pred_id": np.arange(showers.count), "true_energy": np.r_[true_energy, np.nan][owner],
        "pred_energy": showers.energy, "deposited_energy": showers.deposited,
        "iou": np.r_[matching.truth_iou, 0.0][owner], "pid": -1, "matched": owner >= 0,
    })  # fmt: skip
    return pd.concat([truth, pred], ignore_index=True)


def counts(rows: pd.DataFrame) -> dict[str, float]:
    """The additive statistics (:data:`STATISTICS`) of shower rows."""
    truth, pred = rows[rows["kind"] == "truth"], rows[rows["kind"] == "pred"]
    matched = truth[truth["matched"]]
    response = (matched["pred_energy"] / matched["true_energy"]).to_numpy(np.float64)
    deposited = (matched["deposited_energy"] / matched["true_energy"]).to_numpy(np.float64)
    return {
        "true_showers": float(len(truth)),
        "matched": float(len(matched)),
        "pred_showers": float(len(pred)),
        "fakes": float((~pred["matched"].astype(bool)).sum()),
        "response_sum": float(response.sum()),
        "response_sq_sum": float((response**2).sum()),
        "deposited_sum": float(deposited.sum()),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def figures(totals: Mapping[str, float]) -> dict[str, float]:
    """Efficiency, fake rate, response, resolution and deposited response from statistics."""
    matched = float(totals["matched"])
    mean = _ratio(float(totals["response_sum"]), matched)
    variance = _ratio(float(totals["response_sq_sum"]), matched) - mean**2
    return {
        "efficiency": _ratio(matched, float(totals["true_showers"])),
        "fake_rate": _ratio(float(totals["fakes"]), float(totals["pred_showers"])),
        "response": mean,
        "resolution": _ratio(float(np.sqrt(max(variance, 0.0))), mean),
        "deposited_response": _ratio(float(totals["deposited_sum"]), matched),
    }


def binned(rows: pd.DataFrame, edges: Sequence[float]) -> pd.DataFrame:
    """Per bin of energy: efficiency and response (by true energy), fake rate (by predicted)."""
    edges = np.asarray(edges, np.float64)
    out = []
    truth, pred = rows[rows["kind"] == "truth"], rows[rows["kind"] == "pred"]
    for low, high in zip(edges[:-1], edges[1:]):
        t = truth[(truth["true_energy"] >= low) & (truth["true_energy"] < high)]
        p = pred[(pred["pred_energy"] >= low) & (pred["pred_energy"] < high)]
        m = t[t["matched"]]
        r = (m["pred_energy"] / m["true_energy"]).to_numpy(np.float64)
        out.append({
            "low": low, "high": high, "true_showers": len(t), "matched": len(m),
            "efficiency": _ratio(len(m), len(t)), "pred_showers": len(p),
            "fake_rate": _ratio(int((~p["matched"].astype(bool)).sum()), len(p)),
            "response": float(r.mean()) if len(r) else float("nan"),
            "resolution": float(r.std() / r.mean()) if len(r) > 1 else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(out)
