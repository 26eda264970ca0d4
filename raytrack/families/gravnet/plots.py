"""PNG plots of the showers evaluator: efficiency, fake rate, energy response, event displays.

Each function returns the PNG's bytes (matplotlib's object API with the Agg canvas: no global
pyplot state, no display needed). Curves are per bin of energy (:func:`.shower_metrics.binned`);
error bars are binomial for rates and the spread of the ratio for the response.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd


def _figure(width: float = 6.4, height: float = 4.4):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "the showers evaluator's plots need matplotlib: pip install 'raytrack[gravnet]' "
            "(or matplotlib), or evaluate with --set plots=false"
        ) from err

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _centres(bins: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    low, high = bins["low"].to_numpy(float), bins["high"].to_numpy(float)
    return (low + high) / 2, (high - low) / 2


def _rate(ax, bins: pd.DataFrame, value: str, count: str, label: str, color: str) -> None:
    x, half = _centres(bins)
    rate, n = bins[value].to_numpy(float), bins[count].to_numpy(float)
    error = np.sqrt(np.clip(rate * (1 - rate), 0, None) / np.maximum(n, 1))
    ax.errorbar(x, rate, xerr=half, yerr=error, fmt="o", color=color, label=label, capsize=2)


def rate_plot(
    bins: pd.DataFrame, *, value: str, count: str, xlabel: str, ylabel: str, title: str
) -> bytes:
    """A rate (efficiency or fake rate) per energy bin."""
    figure = _figure()
    ax = figure.add_subplot()
    _rate(ax, bins, value, count, ylabel, "tab:blue")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(figure)


def response_plot(bins: pd.DataFrame, rows: pd.DataFrame, title: str) -> bytes:
    """Response ``E_pred / E_true`` of matched showers vs true energy, and its resolution."""
    figure = _figure(6.4, 6.4)
    top, bottom = figure.add_subplot(2, 1, 1), figure.add_subplot(2, 1, 2)
    matched = rows[(rows["kind"] == "truth") & rows["matched"]]
    top.scatter(matched["true_energy"], matched["pred_energy"] / matched["true_energy"], s=4,
                alpha=0.3, color="gray", label="matched showers")  # fmt: skip
    top.scatter(matched["true_energy"], matched["deposited_energy"] / matched["true_energy"], s=4,
                alpha=0.3, color="tab:orange", label="deposited (uncorrected)")  # fmt: skip
    x, half = _centres(bins)
    response = bins["response"].to_numpy(float)
    spread = bins["resolution"].to_numpy(float) * response
    top.errorbar(x, response, xerr=half, yerr=spread, fmt="o", color="tab:blue",
                 label="mean ± std (corrected)", capsize=2)  # fmt: skip
    top.axhline(1.0, color="black", lw=0.8)
    top.set_ylabel("E_pred / E_true")
    top.set_ylim(0, 2)
    top.set_title(title)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.errorbar(x, bins["resolution"].to_numpy(float), xerr=half, fmt="o", color="tab:blue")
    bottom.set_xlabel("true energy (GeV)")
    bottom.set_ylabel("resolution (std / mean)")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    return _png(figure)


def event_display(features: np.ndarray, t_idx: np.ndarray, labels: np.ndarray, title: str) -> bytes:
    """Hits in x–y (all layers), coloured by truth shower (left) and predicted shower (right);
    noise and unassigned hits grey, marker area ∝ sqrt(energy)."""
    figure = _figure(11, 5)
    size = 4 + 40 * np.sqrt(features[:, 0] / max(float(features[:, 0].max()), 1e-9))
    for k, (ids, name) in enumerate(((t_idx, "truth showers"), (labels, "predicted showers"))):
        ax = figure.add_subplot(1, 2, k + 1)
        none = ids < 0
        ax.scatter(features[none, 5], features[none, 6], s=size[none], color="lightgray")
        ax.scatter(features[~none, 5], features[~none, 6], s=size[~none], c=ids[~none] % 10,
                   cmap="tab10", vmin=0, vmax=9)  # fmt: skip
        ax.set_xlabel("x (cm)")
        ax.set_ylabel("y (cm)")
        ax.set_title(f"{title}: {name} ({len(np.unique(ids[~none]))})")
        ax.set_aspect("equal", adjustable="datalim")
    return _png(figure)
