"""WIP hold page: which lots are held now, where, why, for how long; and the hold history.

Why: supervisors keep this page open all shift, so the live view must be cheap: it runs in
a fragment every ``snapshot_refresh_s`` that asks only for the snapshot's sys_date and
reloads the held lots when that changed (core.holds.current.LiveHoldsWatcher). The history
view reads a date range once on the slow lane (cached by range, spooled to Parquet by
core.holds.history) and every filter or click is a local query over that copy. "On hold
now" from the snapshot and from the history are shown side by side with their sources and
the lots that differ (core.holds.reconcile computes it; this page only shows it).

Thin page: no SQL, state in st.query_params (a view can be shared by link), clicks on the
matrix, paretos, buckets and trend days set the same filters as the widgets, bad
parameters are messages (never a traceback), tables are paged with a full CSV download.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import glossary
from core.export import csv_bytes
from core.holds import (
    ALL,
    HOLD_TYPE_LABELS,
    HOLD_TYPES,
    HoldInputError,
    age_labels,
    check_range,
    current,
    history,
    parse_day,
    parse_hold_type,
    reconcile,
    shift_day,
)
from core.text import md_escape, md_join
from dashboard import state
from dashboard.widgets.charts import count_axis, pareto_figure
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged

settings = state.get_settings()
lanes = state.get_lanes(settings)

st.title("WIP hold")

VIEWS = {"live": "Live holds", "history": "Hold history"}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def reset_filters() -> None:
    st.query_params.clear()
    for key in [k for k in st.session_state if str(k).startswith("wh_")]:
        del st.session_state[key]


def url_choice(param: str, key: str, label: str, options: list[str]) -> list[str]:
    """A multiselect whose first value comes from the URL; unknown URL values are named."""
    if key not in st.session_state:
        wanted = state.query_param_list(param)
        unknown = [v for v in wanted if v not in options]
        if unknown:
            st.warning(f"{label}: {md_join(unknown)} not found in the data shown; ignored.")
        st.session_state[key] = [v for v in wanted if v in options]
    else:  # options can shrink after a refresh: keep only what still exists
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    chosen = st.multiselect(label, options, key=key)
    state.set_query_param(param, chosen)
    return chosen


def paged_table(total: int, fetch: Callable[[int, int], pd.DataFrame],
                csv: Callable[[], bytes], key: str, param: str, file_name: str) -> None:
    """One page of rows (the shared pager: page and size in the URL as ``param`` and its
    size twin) and a CSV of every row, built only when the button is clicked."""
    left, mid, right = st.columns([1, 1, 2])
    rows, shown = paged(lambda o, n: (fetch(o, n), total), key=key, param=param,
                        settings=settings, slots=(left, mid), label="Page")
    right.caption(f"Rows {shown.first_row:,}–{shown.last_row:,} of {total:,}")
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download CSV (all rows)", csv, file_name=file_name, mime="text/csv",
                       key=f"{key}_csv", icon=":material/download:", on_click="ignore")


def frame_csv(df: pd.DataFrame) -> Callable[[], bytes]:
    return lambda: csv_bytes(df)


MEASURE_LABELS = {"qty": "Qty (pcs)", "lots": "Lots"}


def metric(col: Any, key: str, value: str, extra: str | None = None,
           unit: bool = True) -> None:
    """A KPI card labelled and explained by core/glossary.py."""
    help_ = glossary.help_text(key) + (f" {extra}" if extra else "")
    col.metric(glossary.label(key, unit=unit), value, help=help_)


def days_text(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def points(key: str) -> list[dict[str, Any]]:
    event = st.session_state.get(key)
    try:
        return list(event.selection.points) if event else []
    except AttributeError:
        return []


# ---------------------------------------------------------------------------------------------
# state from the URL
# ---------------------------------------------------------------------------------------------

problems: list[str] = []
try:
    url_hold_type = parse_hold_type(state.query_param("type"))
except HoldInputError as exc:
    problems.append(f"{md_escape(exc)} Showing all holds.")
    url_hold_type = ALL
try:
    url_measure = current.parse_matrix_measure(state.query_param("matrix"))
except HoldInputError as exc:
    problems.append(f"{md_escape(exc)} Showing qty.")
    url_measure = current.MATRIX_MEASURES[0]
try:
    url_grain = history.parse_grain(state.query_param("grain"))
except HoldInputError as exc:
    problems.append(f"{md_escape(exc)} Showing days.")
    url_grain = "day"
url_view = state.query_param("view", "live")
if url_view not in VIEWS:
    problems.append(f"Unknown view {md_escape(repr(url_view))}: choose live or history. "
                    "Showing live holds.")
    url_view = "live"
for problem in problems:
    st.error(problem, icon=":material/error:")

top = st.columns([2, 3, 1])
view = top[0].segmented_control("View", list(VIEWS), format_func=VIEWS.get, default=url_view,
                                key="wh_view") or "live"
hold_type = top[1].segmented_control(
    "Hold type", list(HOLD_TYPES), format_func=HOLD_TYPE_LABELS.get, default=url_hold_type,
    key="wh_type") or ALL
top[2].button("Reset filters", on_click=reset_filters, icon=":material/filter_alt_off:")
state.set_query_param("view", None if view == "live" else view)
state.set_query_param("type", None if hold_type == ALL else hold_type)


# ---------------------------------------------------------------------------------------------
# live view
# ---------------------------------------------------------------------------------------------

LIVE_FILTERS = (  # (url param, session key, label, column of the held lots)
    ("reason", "wh_f_reason", "Hold reason", "reason"),
    ("group", "wh_f_group", "Station group", "station_group"),
    ("package", "wh_f_package", "Package", "package"),
    ("ptype", "wh_f_ptype", "Type", "pj_type"),
    ("wafer", "wh_f_wafer", "Wafer lot", "firstname"),
    ("age", "wh_f_age", "Days at station", "age_bucket"),
)


def _on_matrix() -> None:
    cells = st.session_state["wh_matrix"].selection.cells
    if not cells:
        return
    row, column = cells[0]
    groups = st.session_state.get("wh_matrix_rows", [])
    group = groups[row] if 0 <= row < len(groups) else current.TOTAL
    st.session_state["wh_f_group"] = [] if group == current.TOTAL else [group]
    st.session_state["wh_f_package"] = [] if column == current.TOTAL else [column]


def _on_click(chart_key: str, filter_key: str) -> Any:
    def apply() -> None:
        picked = [p.get("x") for p in points(chart_key) if p.get("x") is not None]
        if picked:
            st.session_state[filter_key] = [str(picked[0])]

    return apply


def wip_summary_cards(wip: dict[str, Any]) -> None:
    c = st.columns(4)
    hold = wip["HOLD"]
    for col, (key, part) in zip(c, (("wip_run_lots", wip["RUN"]),
                                    ("wip_queue_lots", wip["QUEUE"]),
                                    ("wip_hold_quality_lots", hold["quality"]),
                                    ("wip_hold_non_quality_lots", hold["non_quality"])),
                                strict=True):
        metric(col, key, f"{part['lots']:,}", f"{part['qty']:,} pcs.")
        col.caption(f"{part['qty']:,} pcs")


@st.fragment(run_every=settings.snapshot_refresh_s)
def live_view() -> None:
    with state.guarded("Live holds"):
        watcher = st.session_state.setdefault("wh_watcher", current.LiveHoldsWatcher())
        holds, _ = watcher.poll(lanes, settings)
        if holds.snapshot is None:
            st.warning("The live snapshot (dw_mes_lot_v) is empty: no WIP to show.")
            return
        age_s = current.snapshot_age_s(holds.snapshot)
        as_of = f"Data as of {holds.snapshot:%Y-%m-%d %H:%M} ({state.humanize_age(age_s)})"
        if current.is_stale(holds.snapshot, settings):
            st.warning(f"{as_of}. The snapshot is older than {settings.snapshot_stale_s // 60} "
                       "min: it may be stale.", icon=":material/schedule:")
        else:
            st.caption(f":material/schedule: {as_of}; checked every "
                       f"{settings.snapshot_refresh_s} s.")
        st.markdown("**WIP summary** (status rule: RUN on a machine, else HOLD if held, "
                    "else QUEUE)")
        wip_summary_cards(holds.wip)

        base = current.apply_filter(holds.lots, current.LiveFilter(hold_type=hold_type))
        chosen: dict[str, list[str]] = {}
        cols = st.columns(3)
        for i, (param, key, label, column) in enumerate(LIVE_FILTERS):
            if column == "age_bucket":
                options = age_labels(settings.hold_age_edges_days)
            else:
                options = sorted(base[column].dropna().astype(str).unique())
            with cols[i % 3]:
                chosen[column] = url_choice(param, key, label, options)
        flt = current.LiveFilter(
            hold_type=hold_type, reasons=tuple(chosen["reason"]),
            groups=tuple(chosen["station_group"]), packages=tuple(chosen["package"]),
            types=tuple(chosen["pj_type"]), wafer_lots=tuple(chosen["firstname"]),
            age_buckets=tuple(chosen["age_bucket"]))
        df = current.apply_filter(holds.lots, flt)

        k = current.kpis(df)
        c = st.columns(5)
        metric(c[0], "hold_lots_live", f"{k['lots']:,}")
        metric(c[1], "hold_qty_live", f"{k['qty']:,}")
        metric(c[2], "avg_days_at_station", days_text(k["avg_days_at_station"]), unit=False)
        metric(c[3], "max_days_at_station", days_text(k["max_days_at_station"]), unit=False)
        metric(c[4], "station_groups", f"{k['station_groups']:,}")
        st.caption("Days at station (agebydays) is how long a lot has waited at its current "
                   "step, not how long it has been on hold: see Hold history for durations. "
                   "The hold history's open holds can list other lots: Hold history "
                   "compares both sources lot by lot.")

        head = st.columns([3, 2])
        head[0].subheader("Held lots: station group × package")
        measure = head[1].segmented_control(
            "Matrix counts", list(current.MATRIX_MEASURES), format_func=MEASURE_LABELS.get,
            default=url_measure, key="wh_matrix_measure") or current.MATRIX_MEASURES[0]
        state.set_query_param("matrix", None if measure == current.MATRIX_MEASURES[0]
                              else measure)
        m = current.matrix(df, measure)
        st.session_state["wh_matrix_rows"] = list(m.index)
        st.caption(f"{MEASURE_LABELS[measure]}, each lot once. Every package is a column "
                   "(scroll sideways); click a cell to filter the lot table, a Total cell to "
                   "clear that filter.")
        st.dataframe(m, key="wh_matrix", on_select=_on_matrix, selection_mode="single-cell",
                     width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="localized")
                                    for c in m.columns})

        left, right = st.columns(2)
        with left:
            st.markdown("**On-hold reasons** (lots, pareto)")
            p = current.pareto(df)
            fig = pareto_figure(p["reason"], p["lots"], p["cum_pct"], bar_name="lots")
            fig.update_layout(yaxis={"title": "lots", **count_axis(p["lots"])})
            st.plotly_chart(fig, key="wh_pareto",
                            on_select=_on_click("wh_pareto", "wh_f_reason"),
                            selection_mode="points")
        with right:
            st.markdown("**Days at station** (agebydays; not hold duration)")
            a = current.age_buckets(df, settings)
            fig = go.Figure(go.Bar(x=a["days_at_station"], y=a["lots"], name="lots"))
            fig.update_layout(height=320, margin={"t": 30, "b": 10},
                              yaxis={"title": "lots", **count_axis(a["lots"])},
                              xaxis={"title": "days at station (agebydays)"},
                              clickmode="event+select")
            st.plotly_chart(fig, key="wh_age", on_select=_on_click("wh_age", "wh_f_age"),
                            selection_mode="points")

        st.subheader("Lots on hold")
        table = current.lot_table(df)
        paged_table(len(table), lambda o, n: table.iloc[o:o + n], frame_csv(table), "wh_lots",
                    "lots_page", f"lots_on_hold_{holds.snapshot:%Y%m%d_%H%M}.csv")


# ---------------------------------------------------------------------------------------------
# history view
# ---------------------------------------------------------------------------------------------


@st.cache_data(ttl=settings.cache_ttl_s, max_entries=settings.page_cache_entries,
               show_spinner=False)
def load_range(url: str, schema: str, start: date, end: date, as_of: datetime
               ) -> history.HoldHistory:
    """Loaded once per range and as-of time (the key: a new snapshot reloads a range that
    reaches it), for cache_ttl_s; the rows stay in the spool."""
    return history.load_history(lanes, settings, start, end, now=as_of)


def live_now() -> current.LiveHolds | None:
    """The live snapshot's held lots, from the live view's watcher (one tiny query when
    the snapshot did not change)."""
    with state.guarded("Live snapshot"):
        watcher = st.session_state.setdefault("wh_watcher", current.LiveHoldsWatcher())
        holds, _ = watcher.poll(lanes, settings)
        return holds
    return None


def history_range(snap: datetime | None) -> tuple[date, date] | None:
    today = shift_day(snap or datetime.now(), settings.shift_day_offset_minutes)
    try:
        start = parse_day(state.query_param("start"), "start", settings)
        end = parse_day(state.query_param("end"), "end", settings)
    except HoldInputError as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return None
    end = end or today
    start = start or end - timedelta(days=history.DEFAULT_DAYS - 1)
    c = st.columns([2, 2, 3])
    start = c[0].date_input("From shift day", start, key="wh_start")
    end = c[1].date_input("To shift day", end, key="wh_end")
    state.set_query_param("start", start.isoformat())
    state.set_query_param("end", end.isoformat())
    with c[2]:
        grain = st.segmented_control(
            "Trend period", list(history.GRAINS), format_func=history.GRAIN_LABELS.get,
            default=url_grain, key="wh_h_grain") or "day"
    state.set_query_param("grain", None if grain == "day" else grain)
    st.session_state["wh_h_grain_now"] = grain
    try:
        check_range(start, end, settings.hold_history_max_days, settings)
    except HoldInputError as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return None
    st.caption(f"A shift day starts at {settings.shift_day_start} the calendar day before "
               "(an event at or after that time belongs to the next day).")
    return start, end


def _day_click() -> None:
    if st.session_state.get("wh_h_grain_now", "day") != "day":
        return  # a week or a month is not one shift day of the list's filter
    picked = [p.get("x") for p in points("wh_trend") if p.get("x") is not None]
    if picked:
        st.session_state["wh_h_day"] = str(picked[0])[:10]


def history_view() -> None:
    holds = live_now()
    snap = holds.snapshot if holds is not None else None
    rng = history_range(snap)
    if rng is None:
        return
    start, end = rng
    as_of = history.as_of_for(start, end, settings, snap)
    with state.guarded("Hold history"):
        with st.spinner(f"Loading holds {start} – {end} (once per range)…"):
            h = load_range(settings.effective_db_url, settings.schema, start, end, as_of)
            if not h.exists():  # the spool was swept: read the range again
                load_range.clear()
                h = load_range(settings.effective_db_url, settings.schema, start, end, as_of)
        with history.HistoryView(h) as v:
            history_body(h, v, holds)


def sources_block(cmp: reconcile.OnHoldComparison) -> None:
    """Both "on hold now" counts, each with its source, and the lots that differ."""
    c = st.columns(2)
    metric(c[0], "hold_lots_live", "–" if cmp.live_lots is None else f"{cmp.live_lots:,}",
           None if cmp.live_as_of is None else
           f"Snapshot of {cmp.live_as_of:%Y-%m-%d %H:%M}; {cmp.live_qty:,} pcs.")
    metric(c[1], "on_hold_now_history", f"{cmp.history_lots:,}",
           f"Open at {cmp.history_as_of:%Y-%m-%d %H:%M}; {cmp.history_qty:,} pcs.")
    if not cmp.comparable:
        st.info(cmp.note or "The two sources are not compared.", icon=":material/info:")
        return
    if cmp.differing.empty:
        st.caption(":material/check: Both sources list the same lots on hold.")
        return
    n = len(cmp.differing)
    st.warning(f"The two sources differ by {n:,} lot(s): {cmp.only_live:,} only in the live "
               f"snapshot, {cmp.only_history:,} only in the hold history (open there, not "
               "held in the snapshot: released since, running on a machine, or not WIP).",
               icon=":material/compare_arrows:")
    with st.expander(f"Lots on hold in one source only ({n:,})"):
        st.dataframe(cmp.differing.drop(columns=["containerid"]), hide_index=True,
                     width="stretch")


def history_body(h: history.HoldHistory, v: history.HistoryView,
                 holds: current.LiveHolds | None) -> None:
    st.caption(f"{h.rows:,} hold records loaded in {h.load_s:.2f} s; open holds and "
               f"durations as of {h.as_of:%Y-%m-%d %H:%M}.")
    c = st.columns([5, 3, 3, 3])  # the record-type control needs room for 4 labels
    with c[0]:
        rec = st.segmented_control(
            "Records", list(history.RECORD_TYPES), format_func=history.RECORD_TYPE_LABELS.get,
            default=state.query_param("record", "new")
            if state.query_param("record", "new") in history.RECORD_TYPES else "new",
            key="wh_h_rec") or "new"
        state.set_query_param("record", None if rec == "new" else rec)
    with c[1]:
        reasons = url_choice("hreason", "wh_h_reason", "Hold reason", v.reasons())
    with c[2]:
        buckets = url_choice("bucket", "wh_h_bucket", "Hold duration", h.bucket_labels)
    with c[3]:
        days = ["all days", *[d.isoformat() for d in h.days]]
        url_day = state.query_param("day", "all days")
        if "wh_h_day" not in st.session_state:
            if url_day not in days:
                st.warning(f"Day {md_escape(repr(url_day))} is not in the range; showing all "
                           "days.")
                url_day = "all days"
            st.session_state["wh_h_day"] = url_day
        elif st.session_state["wh_h_day"] not in days:
            st.session_state["wh_h_day"] = "all days"
        day_text = st.selectbox("Shift day", days, key="wh_h_day")
        state.set_query_param("day", None if day_text == "all days" else day_text)
    day = None if day_text == "all days" else date.fromisoformat(day_text)
    f = history.HistoryFilter(hold_type=hold_type, reasons=tuple(reasons), record_type=rec,
                              day=day, buckets=tuple(buckets))
    chart_f = history.HistoryFilter(hold_type=hold_type, reasons=tuple(reasons),
                                    record_type=rec)
    grain = st.session_state.get("wh_h_grain_now", "day")

    st.markdown("**On hold now, by source**")
    sources_block(reconcile.compare(holds.lots if holds else None,
                                    holds.snapshot if holds else None, v, chart_f))

    k = v.kpis(chart_f)
    c = st.columns(4)
    metric(c[0], "new_holds", f"{k['new']:,}", f"{k['new_qty']:,} pcs in the range.")
    metric(c[1], "released", f"{k['released']:,}", f"{k['released_qty']:,} pcs in the range.")
    metric(c[2], "net_change", f"{k['net_change']:+,}")
    metric(c[3], "hold_qty_history", f"{k['on_hold_now_qty']:,}")

    def hours(x: float | None) -> str:
        return "–" if x is None else (f"{x:.1f} h" if x < 48 else f"{x / 24:.1f} d")

    c = st.columns(4)
    for col, key in zip(c, ("released_avg_h", "released_max_h", "open_avg_h", "open_max_h"),
                        strict=True):
        metric(col, key, hours(k[key]), unit=False)

    st.subheader("Per shift day" if grain == "day" else f"Per {grain} (of shift days)")
    t = v.trend(chart_f, grain)
    x = list(t["period"])
    hatch = ["/" if p else "" for p in t["partial"]]
    fig = go.Figure()
    for col, key in (("new", "new_holds"), ("released", "released")):
        fig.add_bar(x=x, y=t[col], name=glossary.label(key),
                    marker={"pattern": {"shape": hatch}},
                    customdata=t["partial"].map({True: " (partial period)", False: ""}),
                    hovertemplate="%{x}%{customdata}: %{y:,d}<extra>%{fullData.name}</extra>")
    symbols = ["circle-open" if p else "circle" for p in t["partial"]]
    for col, key in (("on_hold_end", "on_hold_end"), ("future", "future_holds")):
        fig.add_scatter(x=x, y=t[col], name=glossary.label(key), mode="lines+markers",
                        marker={"symbol": symbols, "size": 8})
    for i, is_partial in enumerate(t["partial"]):
        if is_partial:  # a grey band shows it even where the bars are 0
            fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor="grey", opacity=0.12,
                          line_width=0, annotation_text="partial",
                          annotation_position="top left")
    top = [*t["new"], *t["released"], *t["on_hold_end"], *t["future"]]
    fig.update_layout(barmode="group", height=360, margin={"t": 40, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      yaxis={"title": "lots (new, on hold, future) / holds (released)",
                             **count_axis(top)},
                      xaxis={"type": "category", "title": history.GRAIN_LABELS[grain]},
                      clickmode="event+select")
    st.plotly_chart(fig, key="wh_trend", on_select=_day_click, selection_mode="points")
    partial = t[t["partial"]]
    if len(partial):
        parts = "; ".join(f"{r.period} covers {r.covered_from:%Y-%m-%d %H:%M} – "
                          f"{r.covered_to:%Y-%m-%d %H:%M} only"
                          for r in partial.itertuples())
        st.caption(":material/contrast: Shaded (hatched bars, open markers): partial "
                   f"periods: {parts}.")
    if grain == "day":
        st.caption("Click a day to list its records.")

    left, right = st.columns(2)
    p = v.reason_pareto(chart_f)
    label = history.RECORD_TYPE_LABELS[rec].lower()
    with left:
        st.markdown(f"**Reasons of {label}, by count** (holds)")
        fig = pareto_figure(p["reason"], p["count"], p["count_cum_pct"], bar_name="holds")
        fig.update_layout(yaxis={"title": "holds", **count_axis(p["count"])})
        st.plotly_chart(fig, key="wh_h_pareto_n", selection_mode="points",
                        on_select=_on_click("wh_h_pareto_n", "wh_h_reason"))
    with right:
        st.markdown(f"**Reasons of {label}, by qty** (pcs)")
        pq_ = v.by_qty(p)
        st.plotly_chart(pareto_figure(pq_["reason"], pq_["qty"], pq_["qty_cum_pct"],
                                      bar_name="pcs"),
                        key="wh_h_pareto_q", selection_mode="points",
                        on_select=_on_click("wh_h_pareto_q", "wh_h_reason"))

    st.markdown("**Hold duration** (hold to release, or to the as-of time while open; "
                "not days at station)")
    b = v.duration_buckets(chart_f)
    fig = go.Figure()
    for kind, name in (("released", "released"), ("open", "still open")):
        part = b[b["kind"] == kind]
        fig.add_bar(x=part["duration_bucket"], y=part["holds"], name=name)
    fig.update_layout(barmode="group", height=300, margin={"t": 30, "b": 10},
                      yaxis={"title": "holds", **count_axis(b["holds"])},
                      xaxis={"title": "hold duration"}, clickmode="event+select")
    st.plotly_chart(fig, key="wh_h_buckets", selection_mode="points",
                    on_select=_on_click("wh_h_buckets", "wh_h_bucket"))

    st.subheader(f"{history.RECORD_TYPE_LABELS[rec]}" + (f" on {day}" if day else ""))
    _, total = v.records(f, limit=0)

    def csv() -> bytes:
        with history.HistoryView(h) as own:  # runs on its own thread: its own connection
            return csv_bytes(own.records(f)[0])

    paged_table(total, lambda o, n: v.records(f, offset=o, limit=n)[0], csv, "wh_hist",
                "records_page",
                f"holds_{rec}_{h.start}_{h.end}.csv")


if view == "history":
    history_view()
else:
    live_view()

measures_help("holds")
