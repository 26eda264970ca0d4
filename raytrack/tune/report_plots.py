"""The report's interactive plots (plotly figures), one function per plot.

Each returns ``None`` when the sweep has nothing to draw (the page then says why). The div ids
the page gives them are in :data:`PLOT_IDS`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from raytrack.tune.report_data import ReportData, SearchedSetting

PLOT_IDS = {
    "learning_curves": "learning-curves",
    "asha_rungs": "asha-rungs",
    "parallel_coordinates": "parallel-coordinates",
    "parameter_importance": "parameter-importance",
}
STATUS_COLOURS = {
    "completed": "#2ca02c",
    "stopped early": "#ff7f0e",
    "interrupted": "#7f7f7f",
    "error": "#d62728",
    "diverged": "#d62728",
    "build failed": "#d62728",
}
COLOURSCALE = "Viridis"


def final_values(data: ReportData) -> dict[str, float]:
    """Each trial's last reported value of the metric (the colour of its curve)."""
    history = data.history
    if history.empty or data.metric not in history:
        return {}
    last = history.dropna(subset=[data.metric]).groupby("trial_id")[data.metric].last()
    return {str(trial): float(value) for trial, value in last.items()}


def learning_curves(data: ReportData) -> Any:
    """The metric per epoch of every trial, coloured by the trial's final value."""
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    finals = final_values(data)
    if not finals:
        return None
    low, high = min(finals.values()), max(finals.values())
    figure = go.Figure()
    for trial_id, group in data.history.groupby("trial_id"):
        final = finals.get(str(trial_id))
        if final is None:
            continue
        share = 0.5 if high == low else (final - low) / (high - low)
        figure.add_trace(
            go.Scatter(
                x=group["training_iteration"],
                y=group[data.metric],
                mode="lines+markers",
                name=str(trial_id),
                line={"color": sample_colorscale(COLOURSCALE, [share])[0]},
                hovertemplate=f"trial {trial_id}<br>epoch %{{x}}<br>{data.metric} %{{y:.4g}}",
            )
        )
    figure.add_trace(  # carries the colour bar only
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker={
                "colorscale": COLOURSCALE,
                "cmin": low,
                "cmax": high,
                "color": [low],
                "showscale": True,
                "colorbar": {"title": {"text": f"final {data.metric}"}},
            },
        )  # fmt: skip
    )
    figure.update_layout(
        title=f"Learning curves: {data.metric} per epoch",
        xaxis={"title": "epoch", "tickformat": "d", "dtick": _epoch_step(data.history)},
        yaxis_title=data.metric,
        showlegend=False,
    )
    return figure


def asha_rungs(data: ReportData) -> Any:
    """Epochs each trial ran, coloured by status, with ASHA's rungs as dashed lines."""
    import plotly.graph_objects as go

    trials = data.trials
    if trials.empty or "epochs" not in trials:
        return None
    ids = [str(trial) for trial in trials["trial_id"]]
    best = trials.get(f"best_{data.metric}", pd.Series([math.nan] * len(trials)))
    figure = go.Figure()
    for status, colour in {**STATUS_COLOURS, **_other_statuses(trials)}.items():
        chosen = trials["status"] == status
        if not chosen.any():
            continue
        figure.add_trace(
            go.Bar(
                x=trials.loc[chosen, "epochs"],
                y=[ids[i] for i in chosen[chosen].index],
                orientation="h",
                name=status,
                marker_color=colour,
                customdata=best[chosen],
                hovertemplate="trial %{y}: %{x} epochs<br>best "
                + data.metric
                + " %{customdata:.4g}<extra>"
                + status
                + "</extra>",
            )
        )
    stopped = trials[trials["trial_id"].astype(str).isin(data.stopped)]
    if not stopped.empty:
        figure.add_trace(
            go.Scatter(
                x=stopped["epochs"],
                y=stopped["trial_id"].astype(str),
                mode="markers",
                name="stopped by ASHA",
                marker={"symbol": "x", "size": 10, "color": "#222"},
                hovertemplate="ASHA stopped trial %{y} after epoch %{x}<extra></extra>",
            )
        )
    title = "Epochs per trial"
    if data.rungs is not None:
        for epoch in data.rungs.epochs:
            figure.add_vline(x=epoch, line_dash="dash", line_color="#444",
                             annotation_text=f"rung {epoch}", annotation_position="top")  # fmt: skip
        rungs = data.rungs
        title += (
            f" and ASHA rungs (grace period {rungs.grace_period}, reduction factor "
            f"{rungs.reduction_factor:g}, max_t {rungs.max_t})"
        )
    figure.update_layout(
        title=title,
        xaxis={"title": "epochs trained", "dtick": _epoch_step(data.history)},
        yaxis={"title": "trial (best first)", "autorange": "reversed", "type": "category"},
        barmode="overlay",
    )
    return figure


def _epoch_step(history: pd.DataFrame) -> int | None:
    """Ticks at whole epochs for short runs; plotly's own choice for long ones."""
    if history.empty or "training_iteration" not in history:
        return None
    return 1 if history["training_iteration"].max() <= 20 else None


def _other_statuses(trials: pd.DataFrame) -> dict[str, str]:
    return {
        status: "#9467bd" for status in trials["status"].unique() if status not in STATUS_COLOURS
    }


def axis_values(setting: SearchedSetting, column: pd.Series) -> tuple[list[float], dict]:
    """A searched setting as numbers on a parallel axis (log10 for log ranges, the index of
    the value for choices) and the axis' label and ticks."""
    if setting.kind in ("float", "int") and pd.api.types.is_numeric_dtype(column):
        if setting.log:
            return [math.log10(v) for v in column], {"label": f"log10 {setting.label}"}
        return [float(v) for v in column], {"label": setting.label}
    texts = [str(v) for v in column]
    try:  # numbers in numeric order, anything else by its text
        choices = [str(v) for v in sorted(set(column))]
    except TypeError:
        choices = sorted(set(texts))
    axis = {"label": setting.label, "tickvals": list(range(len(choices))), "ticktext": choices}
    return [float(choices.index(t)) for t in texts], axis


def parallel_coordinates(data: ReportData) -> Any:
    """Each trial as a line through its searched values to its best metric."""
    import plotly.graph_objects as go

    best = f"best_{data.metric}"
    trials = data.trials
    columns = [s for s in data.settings if s.column in trials]
    if best not in trials or not columns:
        return None
    trials = trials.dropna(subset=[best, *(s.column for s in columns)])
    if trials.empty:
        return None
    dimensions = []
    for setting in columns:
        values, axis = axis_values(setting, trials[setting.column])
        dimensions.append({"values": values, **axis})
    dimensions.append({"values": trials[best].tolist(), "label": best})
    line = {"color": trials[best].tolist(), "colorscale": COLOURSCALE, "showscale": True,
            "colorbar": {"title": {"text": best}}}  # fmt: skip
    figure = go.Figure(go.Parcoords(line=line, dimensions=dimensions))
    figure.update_layout(title=f"Searched values against {best} ({len(trials)} trials)")
    return figure


def parameter_importance(data: ReportData) -> Any:
    """fANOVA importance of each searched setting, largest on top."""
    import plotly.graph_objects as go

    values = data.importance.values
    if not values:
        return None
    keys = sorted(values, key=values.get)
    figure = go.Figure(
        go.Bar(
            x=[values[k] for k in keys],
            y=[k.removeprefix("model.hparams.") for k in keys],
            orientation="h",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Parameter importance for {data.metric} (fANOVA, {data.importance.trials} trials)",
        xaxis_title="share of the metric's variance",
    )
    return figure


PLOTS = {
    "learning_curves": learning_curves,
    "asha_rungs": asha_rungs,
    "parallel_coordinates": parallel_coordinates,
    "parameter_importance": parameter_importance,
}
