"""The report's plots as PNG files for papers (matplotlib, no display needed).

The same four plots as the page (:mod:`raytrack.tune.report_plots`), drawn from the same data:
``learning_curves.png``, ``asha_rungs.png``, ``parallel_coordinates.png`` and
``parameter_importance.png``; a plot with nothing to draw is not written.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import MaxNLocator

from raytrack.tune.report_data import ReportData
from raytrack.tune.report_plots import STATUS_COLOURS, axis_values, final_values

DPI = 200


def write_pngs(data: ReportData, directory: Path) -> list[Path]:
    """Draw every plot that has data into ``directory``; the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("learning_curves", _learning_curves),
        ("asha_rungs", _asha_rungs),
        ("parallel_coordinates", _parallel_coordinates),
        ("parameter_importance", _parameter_importance),
    ):
        figure = draw(data)
        if figure is None:
            continue
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=DPI, bbox_inches="tight")
        written.append(path)
    return written


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _learning_curves(data: ReportData):
    import matplotlib as mpl

    finals = final_values(data)
    if not finals:
        return None
    figure = _figure()
    axes = figure.subplots()
    norm = mpl.colors.Normalize(min(finals.values()), max(finals.values()))
    cmap = mpl.colormaps["viridis"]
    for trial_id, group in data.history.groupby("trial_id"):
        if str(trial_id) in finals:
            colour = cmap(norm(finals[str(trial_id)]))
            axes.plot(group["training_iteration"], group[data.metric], "o-", color=colour, ms=3)
    figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes,
                    label=f"final {data.metric}")  # fmt: skip
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="epoch", ylabel=data.metric, title="Learning curves")
    return figure


def _asha_rungs(data: ReportData):
    from matplotlib.patches import Patch

    trials = data.trials
    if trials.empty or "epochs" not in trials:
        return None
    figure = _figure(height=max(2.5, 0.3 * len(trials) + 1))
    axes = figure.subplots()
    labels = [str(t) for t in trials["trial_id"]]
    colours = [STATUS_COLOURS.get(s, "#9467bd") for s in trials["status"]]
    axes.barh(range(len(trials)), trials["epochs"], color=colours)
    axes.set_yticks(range(len(trials)), labels, fontsize=7)
    axes.invert_yaxis()
    rows = [i for i, trial in enumerate(labels) if trial in data.stopped]
    if rows:
        epochs = trials["epochs"].iloc[rows]
        axes.scatter(epochs, rows, marker="x", color="#222", zorder=3, label="stopped by ASHA")
    if data.rungs is not None:
        for epoch in data.rungs.epochs:
            axes.axvline(epoch, ls="--", color="#444", lw=0.8)
    shown = set(trials["status"])
    handles = [Patch(color=c, label=s) for s, c in STATUS_COLOURS.items() if s in shown]
    handles += axes.get_legend_handles_labels()[0]
    axes.legend(handles=handles, fontsize=7, loc="lower right")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="epochs trained (dashed: ASHA rungs)", title="Epochs per trial")
    return figure


def _parallel_coordinates(data: ReportData):
    import matplotlib as mpl

    best = f"best_{data.metric}"
    settings = [s for s in data.settings if s.column in data.trials]
    if best not in data.trials or not settings:
        return None
    trials = data.trials.dropna(subset=[best, *(s.column for s in settings)])
    if trials.empty:
        return None
    axes_values, labels, ticks = [], [], []
    for setting in settings:
        values, axis = axis_values(setting, trials[setting.column])
        axes_values.append(values)
        labels.append(axis["label"])
        ticks.append(axis.get("ticktext"))
    axes_values.append(trials[best].tolist())
    labels.append(best)
    ticks.append(None)
    scaled = []
    for values in axes_values:  # every axis spans [0, 1]
        low, high = min(values), max(values)
        scaled.append([0.5 if high == low else (v - low) / (high - low) for v in values])
    figure = _figure(width=1.6 * len(labels) + 1)
    axes = figure.subplots()
    norm = mpl.colors.Normalize(min(axes_values[-1]), max(axes_values[-1]))
    cmap = mpl.colormaps["viridis"]
    for row in range(len(trials)):
        axes.plot(range(len(labels)), [axis[row] for axis in scaled],
                  color=cmap(norm(axes_values[-1][row])), alpha=0.8)  # fmt: skip
    for index, values in enumerate(axes_values):
        axes.axvline(index, color="#333", lw=0.8)
        low, high = min(values), max(values)
        if ticks[index] is not None:  # a choice: name each value where it sits
            for position, text in enumerate(ticks[index]):
                where = 0.5 if high == low else (position - low) / (high - low)
                axes.annotate(text, (index, where), fontsize=6, ha="left", va="center")
            continue
        axes.annotate(f"{low:.3g}", (index, 0), fontsize=6, ha="left", va="top")
        axes.annotate(f"{high:.3g}", (index, 1), fontsize=6, ha="left", va="bottom")
    axes.set_xticks(range(len(labels)), labels, fontsize=8, rotation=15)
    axes.set_yticks([])
    axes.set_title(f"Searched values against {best}")
    figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=best)
    return figure


def _parameter_importance(data: ReportData):
    values = data.importance.values
    if not values:
        return None
    keys = sorted(values, key=values.get)
    figure = _figure(height=max(2.0, 0.4 * len(keys) + 1))
    axes = figure.subplots()
    axes.barh([k.removeprefix("model.hparams.") for k in keys], [values[k] for k in keys])
    axes.set(xlabel="share of the metric's variance (fANOVA)",
             title=f"Parameter importance for {data.metric}")  # fmt: skip
    return figure
