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

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.widgets.charts import PARTIAL_OPACITY, PARTIAL_PATTERN, count_axis

DEFECT_COLOR = "#d62728"
RATE_COLOR = "#f28e2b"
LOT_COLORS = ("#d62728", "#9aa0a6")


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
