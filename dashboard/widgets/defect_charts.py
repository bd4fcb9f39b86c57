"""Charts only the defect trace draws: the daily trend with its defects where they can be
seen, and a machine's rejects over time.

Why a module of its own: the shared trend chart (dashboard.widgets.charts.trend_figure)
stacks lots per day; on the defect trace the few defective lots were a sliver at the
foot of each bar and the rate, overlaid on a second axis with automatic ticks, was
unreadable (issue 19 item 6). Here the trend has two panels on one time axis: above, the
defects at detection (pcs) as bars with the defect rate on its own right-hand axis
(percent ticks); below, the lots (defective and the rest, stacked). Periods the range
covers only in part are drawn lighter and hatched, as on every trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import fmt
from core.i18n import N_, _
from dashboard.widgets.charts import PARTIAL_OPACITY, PARTIAL_PATTERN, count_axis, plot_label

DEFECT_COLOR = "#d62728"
RATE_COLOR = "#f28e2b"
LOT_COLORS = ("#4e79a7", "#c7cbd1")


def _marker(partial: Sequence[bool], color: str) -> dict[str, Any]:
    return {"color": color, "opacity": [PARTIAL_OPACITY if p else 1.0 for p in partial],
            "pattern": {"shape": [PARTIAL_PATTERN if p else "" for p in partial]}}


def rate_axis(rates_pct: Sequence[float | None]) -> dict[str, Any]:
    """A percent axis from 0 with about five round ticks, two decimals when they are
    small ("0.25%"), fewer when large."""
    high = max([float(v) for v in rates_pct if v is not None and v == v] + [0.0])
    if high <= 0:
        return {"range": [0, 1], "dtick": 0.2, "tickformat": ".1f", "ticksuffix": "%"}
    raw = high / 5
    power = 10 ** _floor_log10(raw)
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    places = 0 if step >= 1 else 1 if step >= 0.1 else 2 if step >= 0.01 else 3
    return {"range": [0, step * (int(high / step) + 1)], "dtick": step,
            "tickformat": f".{places}f", "ticksuffix": "%"}


def _floor_log10(x: float) -> int:
    import math

    return math.floor(math.log10(x))


def defect_trend_figure(
    days: Sequence[Any], *, defects: Sequence[Any], rate_pct: Sequence[float | None],
    lots: Sequence[tuple[str, Sequence[Any]]], partial: Sequence[bool],
    defects_title: str, rate_title: str, lots_title: str, height: int = 460,
) -> go.Figure:
    """Two panels on one day axis: defects (bars, left axis ``defects_title``) with the
    rate (line, its own right axis ``rate_title``), and below the lots stacked
    (``lots``: (name, values) per series, whole-number ticks)."""
    x = [str(d) for d in days]
    marks = [bool(p) for p in partial]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.58, 0.42], specs=[[{"secondary_y": True}],
                                                         [{"secondary_y": False}]])
    fig.add_bar(x=x, y=list(defects), name=defects_title, marker=_marker(marks, DEFECT_COLOR),
                row=1, col=1, secondary_y=False)
    rates = [None if v is None or v != v else float(v) for v in rate_pct]
    fig.add_scatter(x=x, y=rates, name=rate_title, mode="lines+markers",
                    line={"color": RATE_COLOR}, row=1, col=1, secondary_y=True,
                    hovertemplate="%{x}: %{y:.2f}%<extra></extra>")
    for (name, values), color in zip(lots, LOT_COLORS, strict=False):
        fig.add_bar(x=x, y=list(values), name=name, marker=_marker(marks, color),
                    row=2, col=1, opacity=0.85)
    stacked = [sum(float(v or 0) for v in col) for col in zip(*(v for _, v in lots),
                                                               strict=True)] if lots else []
    fig.update_yaxes(title_text=defects_title, **count_axis(list(defects)), row=1, col=1,
                     secondary_y=False)
    fig.update_yaxes(title_text=rate_title, showgrid=False, **rate_axis(rates), row=1, col=1,
                     secondary_y=True)
    fig.update_yaxes(title_text=lots_title,
                     **count_axis([v for _, vs in lots for v in vs],
                                  top=max(stacked, default=0.0)), row=2, col=1)
    fig.update_xaxes(type="category", row=2, col=1)
    fig.update_xaxes(type="category", row=1, col=1)
    fig.update_layout(barmode="stack", height=height, margin={"t": 10, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return fig


def machine_days_figure(days: Sequence[Any], values: Sequence[Any], *, y_title: str,
                        height: int = 260) -> go.Figure:
    """A later machine's rejects on the defective lots' descendants per day."""
    x = [str(d) for d in days]
    fig = go.Figure(go.Bar(x=x, y=list(values), name=y_title, marker_color=DEFECT_COLOR))
    fig.update_layout(height=height, margin={"t": 10, "b": 10},
                      xaxis={"type": "category"},
                      yaxis={"title": y_title, **count_axis(list(values))})
    return fig


WINDOW_STATES = {"elevated": ("#d62728", N_("elevated")), "quiet": ("#7f7f7f", N_("quiet")),
                 "thin": ("#c7c7c7", N_("too few lots"))}
"""A period's state (core.defects' window rule): its colour and its legend, translated."""


def suspect_window_figure(
    rates: pd.DataFrame, *, baseline_pct: float, window: tuple[Any, Any] | None,
    marks: Sequence[tuple[Any, str]] = (), y_title: str, height: int = 320,
) -> go.Figure:
    """A suspect's defect rate per period (bars coloured by elevated / quiet / too few
    lots, the legend in the reader's language), the rate of the lots that never passed
    it as a dotted line, the window shaded and ``marks`` (time, label: maintenance jobs)
    as vertical lines on the same time axis. Periods are categories in time order; a time
    is placed on the period it falls in. (The defect trace's own: its legend and notes are
    translated, unlike the shared charts.window_figure it replaces.)"""
    periods = list(rates["period"])
    labels = [str(p) for p in periods]

    def slot(when: Any) -> float:  # the index of the period ``when`` falls in
        return float(max(sum(1 for p in periods if p <= when) - 1, 0))

    fig = go.Figure()
    hover = _("%{x}: %{y:.2f}% over %{customdata} lots")
    for state, (colour, name) in WINDOW_STATES.items():
        part = rates[rates["state"] == state]
        if part.empty:
            continue
        fig.add_bar(x=[str(p) for p in part["period"]], y=list(part["rate"] * 100),
                    name=_(name), marker_color=colour, customdata=list(part["lots"]),
                    hovertemplate=hover + "<extra></extra>")
    fig.add_hline(y=baseline_pct, line_dash="dot", line_color="black",
                  annotation_text=_("lots that never passed it: {rate}").format(
                      rate=fmt.percent(baseline_pct)),
                  annotation_position="top right")
    if window is not None:
        fig.add_vrect(x0=slot(window[0]) - 0.5, x1=slot(window[1]) + 0.5,
                      fillcolor="#d62728", opacity=0.08, line_width=0)
    for when, label in marks:
        x = slot(when)
        fig.add_vline(x=x, line_dash="dash", line_color="#1f77b4", opacity=0.6)
        fig.add_annotation(x=x, y=1, yref="paper", text=plot_label(label), showarrow=False,
                           textangle=-90, xanchor="left", yanchor="top",
                           font={"size": 10, "color": "#1f77b4"})
    fig.update_layout(
        barmode="overlay", height=height, margin={"t": 30, "b": 10},
        xaxis={"type": "category", "title": None, "categoryorder": "array",
               "categoryarray": labels},
        yaxis={"title": y_title, "rangemode": "tozero", "ticksuffix": "%"},
        legend={"orientation": "h", "y": 1.08, "yanchor": "bottom", "x": 0},
    )
    return fig
