"""The picture of an evaluation: predicted against true spectra (or descriptors), as PNG bytes.

One panel per judged structure (the first ``count`` by sample id): the true vector in black,
the model's prediction in red, the mean-training baseline dashed grey; for spectra, the true
and predicted edge positions as thin vertical lines, and the MSE in the title.
"""

from __future__ import annotations

import io
import math

import numpy as np


def spectra_png(
    x: np.ndarray, truth: np.ndarray, predicted: np.ndarray, baseline: np.ndarray,
    titles: list[str], *, xlabel: str, edges: tuple[np.ndarray, np.ndarray] | None = None,
    count: int = 10,
) -> bytes:  # fmt: skip
    """A grid of panels, ``x`` ``(P,)`` against each row of ``truth``/``predicted``/``baseline``."""
    import matplotlib  # a core dependency, imported here so that the family loads fast

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    shown = min(count, len(truth))
    columns = min(shown, 5)
    rows = math.ceil(shown / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index >= shown:
            axis.set_visible(False)
            continue
        axis.plot(x, truth[index], color="black", lw=1.2, label="true")
        axis.plot(x, predicted[index], color="tab:red", lw=1.0, label="predicted")
        axis.plot(x, baseline[index], color="grey", lw=0.8, ls="--", label="mean training")
        if edges is not None:
            axis.axvline(edges[0][index], color="black", lw=0.5)
            axis.axvline(edges[1][index], color="tab:red", lw=0.5)
        mse = float(np.mean((predicted[index] - truth[index]) ** 2))
        axis.set_title(f"{titles[index][:28]}\nMSE {mse:.3g}", fontsize=7)
        axis.tick_params(labelsize=6)
        axis.set_xlabel(xlabel, fontsize=7)
    axes.flat[0].legend(fontsize=6)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()
