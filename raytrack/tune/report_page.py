"""The report as one self-contained HTML page: plotly's JavaScript is inlined once, evaluator
PNGs are embedded as data URIs, so the page opens offline and nothing is fetched at view time."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from raytrack.tune.report_data import ReportData
from raytrack.tune.report_plots import PLOT_IDS, PLOTS

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
th { background: #f3f3f3; } .note { color: #555; font-size: 0.9em; }
.plot { min-height: 450px; } img { max-width: 100%; } code { background: #f3f3f3; }
"""
SECTIONS = {
    "learning_curves": "Learning curves",
    "asha_rungs": "ASHA rungs: where each trial stopped",
    "parallel_coordinates": "Parallel coordinates",
    "parameter_importance": "Parameter importance",
}


def render_page(data: ReportData) -> str:
    """The complete HTML page of the sweep's report."""
    from plotly.offline import get_plotlyjs

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>raytrack report: {html.escape(data.name)}</title>",
        f"<style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script>",
        "</head><body>",
        _header(data),
        "<h2>Leaderboard</h2>",
        _leaderboard(data),
    ]
    for name, draw in PLOTS.items():
        parts.append(f"<h2>{SECTIONS[name]}</h2>")
        figure = draw(data)
        if figure is None:
            parts.append(
                f"<p class='note' id='{PLOT_IDS[name]}-missing'>{_why_none(data, name)}</p>"
            )
            continue
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=PLOT_IDS[name])
        parts.append(f"<div class='plot'>{div}</div>")
        if name == "parameter_importance":
            parts.append(f"<p class='note'>Source: {html.escape(data.importance.source)}; "
                         "a trial's value is its last reported metric.</p>")  # fmt: skip
    parts += ["<h2>Evaluator plots</h2>", _evaluator_section(data), "</body></html>"]
    return "\n".join(parts)


def _header(data: ReportData) -> str:
    counts = data.trials["status"].value_counts() if "status" in data.trials else {}
    statuses = ", ".join(f"{count} {status}" for status, count in counts.items())
    best = data.summary.best_value
    lines = [
        f"<h1>Sweep {html.escape(data.name)}</h1>",
        f"<p>{html.escape(str(data.path))}<br>metric <b>{data.metric}</b> ({data.mode}); "
        f"{len(data.trials)} trials: {html.escape(statuses) or 'none yet'}",
    ]
    if best is not None:
        lines.append(f"<br>best {data.metric} = <b>{best:.4g}</b>, best config "
                     f"<code>{html.escape(str(data.summary.best_yaml))}</code>")  # fmt: skip
    lines.append("</p>")
    return "".join(lines)


def _leaderboard(data: ReportData) -> str:
    trials = data.trials
    if trials.empty:
        return "<p class='note'>No trial reported a result yet.</p>"
    shown = trials.drop(columns=[c for c in ("checkpoint",) if c in trials]).rename(
        columns=lambda c: c.removeprefix("config/").removeprefix("model.hparams.")
    )
    shown = shown.astype(object).where(shown.notna(), None).replace({None: ""})
    return shown.to_html(
        index=False, na_rep="", float_format=lambda v: f"{v:.4g}", table_id="leaderboard"
    )


def _why_none(data: ReportData, name: str) -> str:
    if name == "parameter_importance":
        reason = data.importance.reason or "no searched setting"
        return html.escape(f"No importance: {reason} ({data.importance.source}).")
    if name == "parallel_coordinates" and not data.settings:
        return "Nothing was searched: this run had fixed settings."
    return html.escape(f"No trial reported {data.metric} yet.")


def _evaluator_section(data: ReportData) -> str:
    if not data.evaluator_files:
        return (
            "<p class='note' id='evaluator-plots-missing'>No evaluator output in this sweep "
            "directory (no <code>*_summary.json</code> or PNG). Run <code>raytrack evaluate "
            f"CHECKPOINT STORE --out {html.escape(str(data.path))}/evaluation</code> and "
            "report again to show them here.</p>"
        )
    parts = ["<div id='evaluator-plots'>"]
    for file in data.evaluator_files:
        name = html.escape(str(file.relative_to(data.path)))
        if file.suffix == ".png":
            encoded = base64.b64encode(file.read_bytes()).decode("ascii")
            parts.append(f"<h3>{name}</h3><img alt='{name}' src='data:image/png;base64,{encoded}'>")
        else:
            parts.append(f"<h3>{name}</h3>{_summary_table(file)}")
    return "\n".join([*parts, "</div>"])


def _summary_table(file: Path) -> str:
    """An evaluator's headline numbers (its ``*_summary.json``) as a two-column table."""
    try:
        summary = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        return f"<p class='note'>unreadable: {html.escape(str(err))}</p>"
    if not isinstance(summary, dict):
        return f"<pre>{html.escape(json.dumps(summary, indent=1))}</pre>"
    rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(_number(value))}</td></tr>"
        for key, value in summary.items()
    )
    return f"<table>{rows}</table>"


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value, default=str)
