"""One pareto chart for every page (reject history, WIP hold, defect trace), and trend bars.

Why: shared/domain.md asks for one pareto rule everywhere: bars sorted descending, the
cumulative % line on a 0-100 secondary axis. Three pages drew it three ways, and plotly
aligned the % axis to the bars' grid (ticks at 24.2, 48.4, ...). Here the % axis always
has round ticks and a dotted 80 % line (the top-80 rule), and a last bar named
``others ...`` (the rest summed, or in the defect trace what the rest add) is grey.
Counts (lots, pieces) never get fractional ticks: an axis whose values are all whole
numbers ticks on whole steps (``count_axis``; plotly put 0.5 between 0 and 1 lot).
Trend bars of a period the range covers only in part (``core.periods``) are drawn
lighter and hatched; the page says which and how many days.

Plotly draws a subset of HTML in tick labels, legends and hover boxes (``<a href>`` is a
working link, ``<b>``, ``<br>``): a factor, reason or lot name from the data is passed
through ``plot_label`` (``plot_labels``), which shows it literally. The chart keeps the
raw values as its x categories, so clicks still report the value itself.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.i18n import N_, _
from core.pareto import TOP_SHARE as TOP_LINE_PCT  # the one top-80 % rule
from core.pareto import is_others

BAR_COLOR = "#1f6fd1"
OTHERS_COLOR = "#9aa0a6"
PARTIAL_OPACITY = 0.45
PARTIAL_PATTERN = "/"
_TARGET_TICKS = 5
_NO_HOVER = "<extra></extra>"  # legend-only traces: no hover box (their x is an existing
# category, drawn through the axis' escaped ticktext)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

PLOT_WIDTH_PX = 420
"""The narrowest plot area a category axis is laid out for (measured in Chromium: a
1024 px window less the sidebar, the page's padding and the two y axes). Wider windows
only add room."""

HALF_PLOT_WIDTH_PX = 190
"""The same for a chart in one of two side-by-side columns (st.columns(2)) at 1024 px."""
TICK_FONT_PX = 12
LINE_PX = 15  # a tick label's line height at TICK_FONT_PX
MAX_LINES = 3
"""At most this many wrapped lines under a bar; longer labels are rotated instead."""


def text_px(text: str, font_px: int = TICK_FONT_PX) -> float:
    """The drawn width of ``text``: a wide (CJK, full-width) character is about one em,
    any other about 0.6 em (plotly's default sans-serif)."""
    import unicodedata

    return sum(font_px * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6)
               for ch in text)


def _wrap(text: str, width_px: float, font_px: int) -> list[str]:
    """``text`` broken into lines no wider than ``width_px``: at spaces, and between any
    two wide characters (Chinese has no spaces); a single word wider than the line makes
    the result fail the fit check of the caller."""
    import unicodedata

    tokens: list[str] = []
    for word in text.split(" "):
        buf = ""
        for ch in word:
            if unicodedata.east_asian_width(ch) in "WF":
                if buf:
                    tokens.append(buf)
                    buf = ""
                tokens.append(ch)
            else:
                buf += ch
        tokens.append(buf + " ")
    lines: list[str] = []
    line = ""
    for tok in tokens:
        if line and text_px((line + tok).rstrip(), font_px) > width_px:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line += tok
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def category_ticks(labels: Sequence[str], width_px: float = PLOT_WIDTH_PX
                   ) -> dict[str, Any]:
    """How a category axis shows ``labels`` without two labels overlapping, chosen by how
    many there are and how long: level (wrapped on up to MAX_LINES lines) when each fits
    its bar's slot, else slanted 45° when a slot is at least a line and a half high
    (slanted labels are spaced by slot·sin 45°), else upright (90°, a line apart), with
    a smaller font when even that is too tight. Returns ``tickangle``, ``ticktext``
    (escaped, ``<br>`` between wrapped lines), ``tickfont`` and ``mode`` (level, slanted,
    upright) for tests and callers."""
    n = max(len(labels), 1)
    slot = width_px / n
    shown = [str(v) for v in labels]
    font = TICK_FONT_PX
    wrapped = [_wrap(t, slot * 0.9, font) for t in shown]
    if all(len(lines) <= MAX_LINES and all(text_px(x, font) <= slot * 0.9 for x in lines)
           for lines in wrapped):
        return {"mode": "level", "tickangle": 0, "tickfont": {"size": font},
                "ticktext": ["<br>".join(plot_labels(lines)) for lines in wrapped]}
    if slot * math.sin(math.radians(45)) >= LINE_PX * 1.1:
        return {"mode": "slanted", "tickangle": -45, "tickfont": {"size": font},
                "ticktext": plot_labels(shown)}
    font = TICK_FONT_PX if slot >= LINE_PX else max(8, int(slot / 1.25))
    return {"mode": "upright", "tickangle": -90, "tickfont": {"size": font},
            "ticktext": plot_labels(shown)}


def _whole(values: Sequence[Any]) -> list[float] | None:
    """The values as floats when every one present is a whole number, else None."""
    out: list[float] = []
    for v in values:
        if v is None or v is pd.NA:  # missing
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if math.isnan(f):
            continue
        if not f.is_integer():
            return None
        out.append(f)
    return out


def count_axis(values: Sequence[Any], top: float | None = None) -> dict[str, Any]:
    """Axis settings with whole-number ticks (a step of 1, 2, 5 x 10^k, at least 1) when
    every value is a whole number (a count); {} otherwise. ``top`` is the axis' highest
    value when it is not the largest value (stacked bars)."""
    whole = _whole(values)
    if whole is None:
        return {}
    high = max([top or 0.0, *whole, 0.0])
    raw = high / _TARGET_TICKS
    step = 1.0
    if raw > 1:
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return {"tickmode": "linear", "tick0": 0, "dtick": int(step), "tickformat": ",d",
            "rangemode": "tozero"}


def plot_label(value: Any) -> str:
    """A data value as plotly label text shown literally (its pseudo-HTML escaped)."""
    return html.escape("" if value is None else str(value), quote=False)


def plot_labels(values: Sequence[Any]) -> list[str]:
    return [plot_label(v) for v in values]


def pareto_figure(
    x: Sequence[Any],
    bars: Sequence[Any],
    cumulative: Sequence[Any] | None,
    *,
    bar_name: str,
    line_name: str = "cumulative %",
    title: str | None = None,
    height: int = 340,
    width_px: float = PLOT_WIDTH_PX,
) -> go.Figure:
    """Bars with the cumulative % line on the right axis (0-100, round ticks, 80 % line);
    the axes are titled ``bar_name`` and ``line_name``; counts tick on whole numbers.
    Category labels never overlap (``category_ticks``: level and wrapped, slanted or
    upright by their count and length); every colour has a legend entry (the bars, the
    grey "others" bar, the line, the dotted 80 % line).

    ``cumulative`` None (or all missing) draws the bars only. ``width_px``: the narrowest
    plot area the chart gets (HALF_PLOT_WIDTH_PX in one of two columns)."""
    if line_name == "cumulative %":
        line_name = _("Cumulative %")
    labels = [str(v) for v in x]
    colors = [OTHERS_COLOR if is_others(v) else BAR_COLOR for v in labels]
    fig = go.Figure()
    shown = plot_labels(labels)
    ticks = category_ticks(labels, width_px)
    hover = "%{customdata}<br>%{y}<extra></extra>"
    fig.add_bar(x=labels, y=list(bars), name=bar_name, marker_color=colors,
                customdata=shown, hovertemplate=hover)
    if any(is_others(v) for v in labels):  # the grey bar's legend entry (no data)
        fig.add_bar(x=[labels[0]], y=[None], name=_("Others (the rest summed)"),
                    marker_color=OTHERS_COLOR, hoverinfo="skip", hovertemplate=_NO_HOVER)
    line = [] if cumulative is None else list(cumulative)
    if any(v is not None and v == v for v in line):  # v == v: not NaN
        fig.add_scatter(x=labels, y=line, name=line_name, yaxis="y2", mode="lines+markers",
                        line={"color": "#f28e2b"}, customdata=shown, hovertemplate=hover)
        fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=TOP_LINE_PCT,
                      y1=TOP_LINE_PCT, line={"dash": "dot", "color": "grey", "width": 1})
        fig.add_scatter(x=[labels[0]], y=[None], yaxis="y2", mode="lines", hoverinfo="skip",
                        hovertemplate=_NO_HOVER,
                        name=_("{pct:g} % line").format(pct=TOP_LINE_PCT),
                        line={"dash": "dot", "color": "grey", "width": 1})
    fig.update_layout(
        showlegend=True,
        barmode="overlay",
        title=title,
        yaxis={"title": bar_name, **count_axis(list(bars))},
        yaxis2={"title": line_name, "overlaying": "y", "side": "right",
                "range": [0, 101], "tickvals": [0, 20, 40, 60, 80, 100], "showgrid": False},
        height=height,
        margin={"t": 70 if title else 40, "b": 10},
        # above the plot: below it the legend covered the long, slanted factor labels
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"automargin": True, "tickmode": "array", "tickvals": labels,
               "ticktext": ticks["ticktext"], "tickangle": ticks["tickangle"],
               "tickfont": ticks["tickfont"]},
        clickmode="event+select",
    )
    return fig


def trend_figure(
    x: Sequence[Any],
    series: Sequence[tuple[str, Sequence[Any]]],
    partial: Sequence[bool],
    *,
    y_title: str,
    customdata: Sequence[Any] | None = None,
    height: int = 300,
) -> go.Figure:
    """Stacked bars per period (one trace per ``series`` (name, values)); a period marked
    ``partial`` is drawn lighter and hatched. Whole-number values tick on whole numbers."""
    labels = [str(v) for v in x]
    marks = [bool(p) for p in partial]
    fig = go.Figure()
    for name, values in series:
        fig.add_bar(
            x=labels, y=list(values), name=name,
            customdata=None if customdata is None else list(customdata),
            marker={"opacity": [PARTIAL_OPACITY if p else 1.0 for p in marks],
                    "pattern": {"shape": [PARTIAL_PATTERN if p else "" for p in marks]}},
        )
    if any(marks):  # the hatched bars' legend entry (no data)
        fig.add_bar(x=[labels[marks.index(True)]], y=[None], name=_("partial period"),
                    marker={"color": "#ffffff", "line": {"color": "#888888", "width": 1},
                            "pattern": {"shape": PARTIAL_PATTERN, "fgcolor": "#888888"}},
                    hoverinfo="skip")
    stacked = [sum(float(v or 0) for v in col) for col in zip(*(s for _n, s in series),
                                                               strict=True)]
    every = [v for _n, values in series for v in values]
    # days (YYYY-MM-DD) would be a date axis ticked "Nov 5 2026" in English: written the
    # product's way instead, in every language
    days = bool(labels) and all(_ISO_DAY.fullmatch(v) for v in labels)
    fig.update_layout(
        showlegend=True,
        xaxis={"tickformat": "%Y-%m-%d", "hoverformat": "%Y-%m-%d"} if days else {},
        barmode="stack", height=height, margin={"t": 10, "b": 10},
        yaxis={"title": y_title, **count_axis(every, top=max(stacked, default=0.0))},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0,
                "traceorder": "normal"},
        clickmode="event+select",
    )
    return fig


def interval_figure(
    labels: Sequence[Any],
    values: Sequence[float | None],
    low: Sequence[float | None],
    high: Sequence[float | None],
    *,
    x_title: str,
    text: Sequence[str] | None = None,
    reference: float | None = 1.0,
    height: int | None = None,
) -> go.Figure:
    """Horizontal bars with their 95 % interval (lift of suspects), the first item on top;
    a dotted line at ``reference`` (lift 1: no difference). Data-derived labels are shown
    literally; a missing interval end is drawn as no whisker."""
    raw = ["" if v is None else str(v) for v in labels]  # categories: a click reports them
    names = plot_labels(labels)  # what is shown: escaped
    vals = [None if v is None or not math.isfinite(v) else v for v in values]
    plus = [None if h is None or v is None or not math.isfinite(h) else h - v
            for v, h in zip(vals, high, strict=True)]
    minus = [None if lo is None or v is None or not math.isfinite(lo) else v - lo
             for v, lo in zip(vals, low, strict=True)]
    fig = go.Figure(go.Bar(
        y=raw, x=vals, orientation="h", name=x_title,
        error_x={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
        text=None if text is None else [plot_label(t) for t in text],
        textposition="inside", insidetextanchor="start",
        customdata=names, hovertemplate="%{customdata}: %{x:.2f}<extra></extra>",
    ))
    if reference is not None:
        fig.add_vline(x=reference, line_dash="dot", line_color="grey")
    fig.update_layout(
        height=height or max(220, 34 * len(names) + 80), margin={"t": 10, "b": 10, "l": 10},
        xaxis={"title": x_title, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category",
               "tickmode": "array", "tickvals": raw, "ticktext": names},
        showlegend=False,
    )
    return fig


WINDOW_COLOURS = {"elevated": "#d62728", "quiet": "#7f7f7f", "thin": "#c7c7c7"}
WINDOW_STATES = {"elevated": N_("elevated"), "quiet": N_("quiet"), "thin": N_("thin")}
