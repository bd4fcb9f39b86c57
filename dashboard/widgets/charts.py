"""One pareto chart for every page (reject history, WIP hold, defect trace).

Why: shared/domain.md asks for one pareto rule everywhere: bars sorted descending, the
cumulative % line on a 0-100 secondary axis. Three pages drew it three ways, and plotly
aligned the % axis to the bars' grid (ticks at 24.2, 48.4, ...). Here the % axis always
has round ticks and a dotted 80 % line (the top-80 rule), and a last bar named
``others ...`` (the rest summed, or in the defect trace what the rest add) is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from core.rejects.measures import TOP_SHARE as TOP_LINE_PCT  # the one top-80 % rule

BAR_COLOR = "#1f6fd1"
OTHERS_COLOR = "#9aa0a6"


def pareto_figure(
    x: Sequence[Any],
    bars: Sequence[Any],
    cumulative: Sequence[Any] | None,
    *,
    bar_name: str,
    line_name: str = "cumulative %",
    title: str | None = None,
    height: int = 340,
) -> go.Figure:
    """Bars with the cumulative % line on the right axis (0-100, round ticks, 80 % line).

    ``cumulative`` None (or all missing) draws the bars only."""
    labels = [str(v) for v in x]
    colors = [OTHERS_COLOR if v.startswith("others") else BAR_COLOR for v in labels]
    fig = go.Figure()
    fig.add_bar(x=labels, y=list(bars), name=bar_name, marker_color=colors)
    line = [] if cumulative is None else list(cumulative)
    if any(v is not None and v == v for v in line):  # v == v: not NaN
        fig.add_scatter(x=labels, y=line, name=line_name, yaxis="y2", mode="lines+markers",
                        line={"color": "#f28e2b"})
        fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=TOP_LINE_PCT,
                      y1=TOP_LINE_PCT, line={"dash": "dot", "color": "grey", "width": 1})
    fig.update_layout(
        title=title,
        yaxis={"title": bar_name},
        yaxis2={"title": "cumulative %", "overlaying": "y", "side": "right",
                "range": [0, 101], "tickvals": [0, 20, 40, 60, 80, 100], "showgrid": False},
        height=height,
        margin={"t": 70 if title else 40, "b": 10},
        # above the plot: below it the legend covered the long, slanted factor labels
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"automargin": True},
        clickmode="event+select",
    )
    return fig


def integer_axis(fig: go.Figure, max_value: float | None, *, axis: str = "yaxis") -> None:
    """Whole-number ticks on an axis of counts (lots, pcs): plotly puts ticks at 0.5 on a
    small range, which reads as half a lot. Under 10 the step is 1; above, plotly's own
    steps are whole already, and ``,d`` keeps the labels whole."""
    layout: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
    if max_value is None or max_value < 10:
        layout["dtick"] = 1
    fig.update_layout({axis: layout})


def mark_partial_periods(fig: go.Figure, starts: Sequence[Any], partial: Sequence[Any],
                         *, width: Any, text: str = "partial") -> None:
    """Shade the periods (``starts[i]`` .. ``starts[i] + width``) that the range covers
    only in part (``partial[i]`` true: a first or last period cut by the range, or one
    still under way), so a short bar is not read as a drop."""
    for start, cut in zip(starts, partial, strict=True):
        if cut:
            fig.add_vrect(x0=start, x1=start + width, fillcolor="grey", opacity=0.15,
                          line_width=0, annotation_text=text,
                          annotation_position="top left")
