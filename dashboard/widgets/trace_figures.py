"""The Trace page's two figures: the lineage graph and the timeline of several lots.

Why a module of its own: both figures are drawn only by the Trace page, and the rules
that make them readable are presentation rules kept out of the page script: every colour,
dash and marker has a legend entry (node kinds, edge kinds, seed / focused / selected
marks, lots, material and hold marks); labels are never clipped at the plot's edges nor
hidden under the legend (the x range is padded by the longest label, text may spill into
the margins, the legend sits above the plot in its own margin); a combined lot is labelled
with the serial number people type (its finishedname); the timeline has one row kind,
the station group, for history, materials and holds, axis titles, and bars that stay
visible at the range's scale (a minimum width of the range's span; hover tells the real
times). Data-derived text goes through charts.plot_label (shown literally).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from core import fmt
from core.i18n import N_, _
from dashboard.widgets.charts import plot_label

KIND_COLOURS = {"WAFER": "#8c564b", "GA": "#1f77b4", "GC": "#17becf", "GD": "#d62728",
                "LOT": "#7f7f7f", "SERIAL": "#2ca02c"}
KIND_LABELS = {"WAFER": N_("Wafer LOT"), "GA": N_("GA LOT"), "GC": N_("GC LOT"),
               "GD": N_("GD LOT (rework)"), "LOT": N_("Other LOT"),
               "SERIAL": N_("Serial number")}
EDGE_DASH = {"split": "solid", "merge": "dash", "wafer": "dot", "rework": "dashdot"}
EDGE_LABELS = {"split": N_("Split"), "merge": N_("Merge"), "wafer": N_("Wafer origin"),
               "rework": N_("Rework origin")}
FOCUS_COLOUR = "#000000"
SELECTED_COLOUR = "#ff7f0e"
LOT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22", "#7f7f7f", "#d62728", "#393b79", "#637939")
HOLD_COLOUR = "#d62728"
LABEL_MAX_NODES = 60
"""Node labels are drawn up to this many nodes (hover names them beyond)."""
LABEL_MIN_CHARS = 8
"""A node label shortened to fit between generations keeps at least this many characters
(its end: lots of one family share their start; hover shows the whole name)."""
MIN_BAR_SHARE = 0.004
"""A timeline bar is at least this share of the drawn span wide (~5 px at 1440 px)."""
_CHAR_PX = 7.0
_PLOT_PX = 1100.0


def _legend_only(fig: go.Figure, name: str, marker: dict, mode: str = "markers",
                 line: dict | None = None) -> None:
    """A legend entry for a mark drawn without a trace of its own (sizes, outlines)."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode=mode, name=name, marker=marker,
                             line=line or {}, hoverinfo="skip", showlegend=True))


def node_text(row: Mapping[str, object]) -> str:
    """What a node is called on the graph: a combined lot by its serial number (what
    people type), any other container by its name; ``?`` when it has neither."""
    if row.get("kind") == "SERIAL" and row.get("finishedname"):
        return str(row["finishedname"])
    return str(row.get("containername") or row.get("containerid") or "?")


def short_label(text: str, fit: int) -> str:
    """``text``, or its last ``fit`` - 1 characters after "…" when it is longer."""
    return text if len(text) <= fit else "…" + text[-(fit - 1):]


def lineage_figure(nodes: pd.DataFrame, edges: pd.DataFrame,
                   pos: Mapping[str, tuple[float, float]], *, focus: Iterable[str] = (),
                   selected: Iterable[str] = (), widest: int = 1) -> go.Figure:
    """The layered lineage graph of ``nodes``/``edges`` at ``pos`` (generation, rank):
    edges dashed by kind, nodes coloured by kind (seeds large, focused ringed black,
    selected ringed orange), each node's customdata[0] its container id (selections)."""
    focus_ids, selected_ids = set(focus), set(selected)
    labelled = len(nodes) <= LABEL_MAX_NODES
    xs_all = [x for x, _y in pos.values()] or [0.0]
    ys_all = [y for _x, y in pos.values()] or [0.0]
    lo, hi = min(xs_all), max(xs_all)
    per_gen = _PLOT_PX / max(hi - lo + 1.2, 1.0)  # pixels between two generations
    fit = max(LABEL_MIN_CHARS, int(per_gen * 0.95 / _CHAR_PX))
    fig = go.Figure()
    for ek, dash in EDGE_DASH.items():
        part = edges[edges["edge_kind"] == ek]
        if part.empty:
            continue
        xs: list[float | None] = []
        ys: list[float | None] = []
        for p, c in zip(part["parent_id"], part["child_id"], strict=True):
            xs += [pos[p][0], pos[c][0], None]
            ys += [pos[p][1], pos[c][1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=_(EDGE_LABELS[ek]),
                                 line={"dash": dash, "width": 1.2, "color": "#888"},
                                 hoverinfo="skip"))
    texts: list[str] = []
    for nk, colour in KIND_COLOURS.items():
        part = nodes[nodes["kind"] == nk]
        if part.empty:
            continue
        rows = part.to_dict("records")
        # a serial number is what people typed: always whole
        shown = [node_text(r) if nk == "SERIAL" else short_label(node_text(r), fit)
                 for r in rows]
        texts += shown
        seed = [bool(r.get("is_seed")) for r in rows]
        ids = [str(r["containerid"]) for r in rows]
        ring = [FOCUS_COLOUR if c in focus_ids else SELECTED_COLOUR if c in selected_ids
                else colour for c in ids]
        width = [3 if c in focus_ids or c in selected_ids else 0 for c in ids]
        label = [f"<b>{plot_label(t)}</b>" if s else plot_label(t)
                 for t, s in zip(shown, seed, strict=True)]
        fig.add_trace(go.Scatter(
            x=[pos[c][0] for c in ids], y=[pos[c][1] for c in ids],
            mode="markers+text" if labelled else "markers", name=_(KIND_LABELS[nk]),
            text=label, cliponaxis=False,
            # neighbouring generations label above / below: their texts never meet
            textposition=["top center" if int(pos[c][0]) % 2 == 0 else "bottom center"
                          for c in ids],
            textfont={"size": 11},
            marker={"color": colour, "size": [17 if s else 10 for s in seed],
                    "line": {"width": width, "color": ring}},
            customdata=[[c, plot_label(node_text(r)), plot_label(r.get("containername") or "")]
                        for c, r in zip(ids, rows, strict=True)],
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>" + _("ID")
                          + " %{customdata[0]}"
                          "<extra>" + _(KIND_LABELS[nk]) + "</extra>",
        ))
    _legend_only(fig, _("Seed (large)"), {"color": "#bbb", "size": 15})
    if focus_ids:
        _legend_only(fig, _("Focused"), {"color": "white", "size": 12,
                                          "line": {"width": 3, "color": FOCUS_COLOUR}})
    if selected_ids:
        _legend_only(fig, _("Selected"), {"color": "white", "size": 12,
                                           "line": {"width": 3, "color": SELECTED_COLOUR}})
    # half the longest label, in generations, so the outer labels are never cut
    longest = max((len(t) for t in texts), default=0) if labelled else 0
    pad = max(0.5, longest * _CHAR_PX / 2 / per_gen + 0.15)
    per_row = 44 if labelled else 18
    fig.update_layout(
        height=max(380, min(1600, per_row * max(widest, 1) + 160)),
        xaxis={"title": _("Generation (ancestors left, descendants right)"),
               "zeroline": False, "range": [lo - pad, hi + pad], "tickmode": "array",
               "tickvals": list(range(int(lo), int(hi) + 1)),
               "showgrid": False},
        yaxis={"visible": False, "range": [min(ys_all) - 0.9, max(ys_all) + 0.9]},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0,
                "xanchor": "left"},
        margin={"l": 20, "r": 20, "t": 90, "b": 40},
        clickmode="event+select",
    )
    return fig


def timeline_figure(events: pd.DataFrame, lot_names: Mapping[str, str], *,
                    no_group: str) -> go.Figure:
    """Several lots on one time axis, one row per station group (history stays as bars,
    material consumptions as diamonds, holds as a cross with a line to the release), a
    colour per lot; rows in the flow's order; ``no_group`` names the row of work centers
    without a station group. ``events``: core.trace.timeline_events."""
    frame = events.copy()
    frame["row"] = frame["station_group"].fillna(no_group)
    order = (frame.assign(seq=frame["group_seq"].fillna(10**6))
             .groupby("row")["seq"].min().sort_values(kind="stable"))
    rows: Sequence[str] = list(order.index)
    at = {r: i for i, r in enumerate(rows)}
    lots = [c for c in lot_names if c in set(frame["containerid"])]
    n = max(len(lots), 1)
    offsets = {c: (i - (n - 1) / 2) * (0.7 / n if n > 1 else 0) for i, c in
               enumerate(lots)}
    start, end = frame["start"].min(), frame["end"].max()
    span = (end - start) if pd.notna(start) and pd.notna(end) else pd.Timedelta(0)
    least = max(span * MIN_BAR_SHARE, pd.Timedelta(minutes=1))
    fig = go.Figure()
    bar_px = max(4, min(12, int(22 / n)))
    for i, cid in enumerate(lots):
        colour = LOT_COLOURS[i % len(LOT_COLOURS)]
        mine = frame[frame["containerid"] == cid]
        name = plot_label(lot_names[cid])
        stays = mine[mine["event"] == "history"]
        xs: list[object] = []
        ys: list[float | None] = []
        hover: list[str] = []
        for r in stays.itertuples(index=False):
            y = at[r.row] + offsets[cid]
            shown_end = max(r.end, r.start + least)
            text = "<br>".join([
                name, plot_label(r.row),
                plot_label(" · ".join(str(v) for v in (r.step, r.machine) if pd.notna(v))),
                f"{fmt.datetime(r.start)} → "
                + (_("still running") if r.open else fmt.datetime(r.end)),
            ])
            xs += [r.start, shown_end, None]
            ys += [y, y, None]
            hover += [text, text, ""]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, legendgroup=cid,
                                 line={"width": bar_px, "color": colour},
                                 hovertext=hover, hoverinfo="text"))
        mats = mine[mine["event"] == "material"]
        if not mats.empty:
            fig.add_trace(go.Scatter(
                x=list(mats["start"]), y=[at[r] + offsets[cid] for r in mats["row"]],
                mode="markers", legendgroup=cid, showlegend=False,
                marker={"symbol": "diamond", "size": 10, "color": colour,
                        "line": {"width": 1, "color": "black"}},
                hovertext=[f"{name}<br>{_('Material')}: {plot_label(d)}<br>"
                           f"{fmt.datetime(s)}" for d, s in zip(mats["detail"], mats["start"],
                                                                 strict=True)],
                hoverinfo="text"))
        holds = mine[mine["event"] == "hold"]
        for r in holds.itertuples(index=False):
            y = at[r.row] + offsets[cid]
            text = (f"{name}<br>{_('Hold')}: {plot_label(r.detail or '')}<br>"
                    f"{fmt.datetime(r.start)} → "
                    + (_("still on hold") if r.open else fmt.datetime(r.end)))
            fig.add_trace(go.Scatter(
                x=[r.start, max(r.end, r.start + least)], y=[y, y], mode="lines+markers",
                legendgroup=cid, showlegend=False,
                line={"color": HOLD_COLOUR, "width": 2, "dash": "dot"},
                marker={"symbol": ["x", "line-ns"], "size": [11, 8], "color": HOLD_COLOUR,
                        "line": {"width": 2, "color": HOLD_COLOUR}},
                hovertext=[text, text], hoverinfo="text"))
    if (frame["event"] == "material").any():
        _legend_only(fig, _("Material consumed"),
                     {"symbol": "diamond", "size": 10, "color": "#bbb",
                      "line": {"width": 1, "color": "black"}})
    if (frame["event"] == "hold").any():
        _legend_only(fig, _("Hold → Release"), {"symbol": "x", "size": 11,
                                               "color": HOLD_COLOUR},
                     mode="lines+markers", line={"color": HOLD_COLOUR, "dash": "dot"})
    row_px = max(34, 14 * n + 12)
    fig.update_layout(
        height=max(300, min(1400, row_px * max(len(rows), 1) + 150)),
        xaxis={"title": _("Time"), "type": "date",
               "tickformat": "%Y-%m-%d" if span > pd.Timedelta(days=3) else "%m-%d %H:%M"},
        yaxis={"title": _("Station group"), "tickmode": "array",
               "tickvals": list(range(len(rows))),
               "ticktext": [plot_label(r) for r in rows], "autorange": "reversed",
               "range": None, "zeroline": False, "automargin": True},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        margin={"l": 10, "r": 20, "t": 60, "b": 40},
        hovermode="closest",
    )
    return fig
