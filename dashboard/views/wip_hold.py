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

from core import fmt, glossary, i18n, labels
from core.export import csv_bytes
from core.holds import (
    ALL,
    HOLD_TYPE_LABELS,
    HOLD_TYPES,
    HoldInputError,
    age_labels,
    bucket_text,
    check_range,
    current,
    history,
    parse_day,
    parse_hold_type,
    reconcile,
    shift_day,
)
from core.i18n import N_, _
from core.text import md_escape, md_join
from dashboard import state
from dashboard.widgets.charts import HALF_PLOT_WIDTH_PX, count_axis, pareto_figure
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged, show
from dashboard.widgets.url_state import reset_controls, seed

settings = state.get_settings()
lanes = state.get_lanes(settings)
raw_headers = settings.csv_headers == "names"

st.title(_("WIP hold"))

VIEWS = {"live": N_("Live holds"), "history": N_("Hold history")}
ALL_DAYS = "all days"  # the shift-day list's "no day" choice (a value, shown translated)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

LIVE_FILTERS = (  # (url param, session key, label, column of the held lots)
    ("reason", "wh_f_reason", N_("Hold Reason"), "reason"),
    ("group", "wh_f_group", N_("Station group"), "station_group"),
    ("package", "wh_f_package", N_("Package"), "package"),
    ("ptype", "wh_f_ptype", N_("TYPE"), "pj_type"),
    ("wafer", "wh_f_wafer", N_("Wafer LOT"), "firstname"),
    ("age", "wh_f_age", N_("Days at station"), "age_bucket"),
)
FILTER_DEFAULTS: dict[str, Any] = {
    # (session key: value after a reset); the URL parameters below are dropped with them
    "wh_type": ALL, "wh_h_rec": "new", "wh_h_day": ALL_DAYS, "wh_h_reason": [],
    "wh_h_bucket": [], **{key: [] for _p, key, _l, _c in LIVE_FILTERS},
}
FILTER_PARAMS = ("type", "record", "day", "hreason", "bucket", "lots_page", "records_page",
                 *(p for p, _k, _l, _c in LIVE_FILTERS))
CLICKS = ("wh_matrix", "wh_pareto", "wh_age", "wh_trend", "wh_h_pareto_n", "wh_h_pareto_q",
          "wh_h_buckets")
"""Chart and matrix selections: forgotten on a reset (their filters are reset above)."""


def reset_filters() -> None:
    """Every filter back to "all" in the controls the browser shows, the URL and the data:
    hold type, the live filters, record type, reasons, durations, shift day and the tables'
    pages. The view, the date range, the trend period and the matrix measure stay."""
    reset_controls(FILTER_DEFAULTS, FILTER_PARAMS, forget=CLICKS)


FILTER_PX = 300
"""A filter's width: room for a long reason chip (19 CJK characters) without an ellipsis;
filters wrap two to a row at 1024 px, three at 1440 px."""


def url_choice(param: str, key: str, label: str, options: list[str],
               format_func: Callable[[Any], str] = str, where: Any = None) -> list[str]:
    """A multiselect whose first value comes from the URL; unknown URL values are named."""
    if key not in st.session_state:
        wanted = state.query_param_list(param)
        unknown = [v for v in wanted if v not in options]
        if unknown:
            st.warning(_("{label}: {values} not found in the data shown; ignored.").format(
                label=label, values=md_join(unknown)))
        st.session_state[key] = [v for v in wanted if v in options]
    elif any(v not in options for v in st.session_state[key]):
        # options can shrink after a refresh: keep only what still exists
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    chosen = (where or st).multiselect(label, options, key=key, format_func=format_func,
                                       placeholder=_("All"), width=FILTER_PX)
    state.set_query_param(param, chosen)
    return chosen


def paged_table(total: int, fetch: Callable[[int, int], pd.DataFrame],
                csv: Callable[[], bytes], key: str, param: str, file_name: str) -> None:
    """One page of rows (the shared pager: page and size in the URL as ``param`` and its
    size twin) and a CSV of every row, built only when the button is clicked."""
    left, mid, right = st.columns([1, 1, 2])
    rows, shown = paged(lambda o, n: (fetch(o, n), total), key=key, param=param,
                        settings=settings, slots=(left, mid),
                        label=_("Page (of {pages:,})"))
    right.caption(_("Rows {first}–{last} of {total}").format(
        first=fmt.count(shown.first_row), last=fmt.count(shown.last_row),
        total=fmt.count(total)))
    show(rows)
    st.download_button(_("Export CSV"), in_language(i18n.current(), csv),
                       file_name=file_name, mime="text/csv", key=f"{key}_csv",
                       icon=":material/download:", on_click="ignore",
                       help=_("Every row of the list, not only this page."))


def in_language(lang: str, build: Callable[[], bytes]) -> Callable[[], bytes]:
    """A download built after the run (on another thread): in the run's language."""
    def run() -> bytes:
        i18n.set_language(lang)
        return build()
    return run


def frame_csv(df: pd.DataFrame) -> Callable[[], bytes]:
    return lambda: csv_bytes(df, raw_headers=raw_headers)


MEASURE_LABELS = {"qty": N_("Qty (pcs)"), "lots": N_("LOT")}


def metric(col: Any, key: str, value: str, extra: str | None = None,
           unit: bool = True) -> None:
    """A KPI card labelled and explained by core/glossary.py."""
    help_ = glossary.help_text(key) + (f" {extra}" if extra else "")
    col.metric(glossary.label(key, unit=unit), value, help=help_, width="content")


def cards() -> Any:
    """A row of KPI cards as wide as their labels, wrapping at narrow widths (1024 px
    with the sidebar leaves ~560 px: five fixed columns cut every label)."""
    return st.container(horizontal=True, gap="medium")


def hold_type_label(value: Any) -> str:
    return _(HOLD_TYPE_LABELS.get(value, str(value)))


def hold_types_shown(df: pd.DataFrame) -> pd.DataFrame:
    """A table's hold_type values in words of the current language."""
    if "hold_type" in df.columns:
        df = df.assign(hold_type=df["hold_type"].map(hold_type_label))
    return df


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
    problems.append(_("{problem} Showing all holds.").format(problem=md_escape(exc)))
    url_hold_type = ALL
try:
    url_measure = current.parse_matrix_measure(state.query_param("matrix"))
except HoldInputError as exc:
    problems.append(_("{problem} Showing qty.").format(problem=md_escape(exc)))
    url_measure = current.MATRIX_MEASURES[0]
try:
    url_grain = history.parse_grain(state.query_param("grain"))
except HoldInputError as exc:
    problems.append(_("{problem} Showing days.").format(problem=md_escape(exc)))
    url_grain = "day"
url_view = state.query_param("view", "live")
if url_view not in VIEWS:
    problems.append(_("Unknown view {view}: choose live or history. Showing live holds.")
                    .format(view=md_escape(repr(url_view))))
    url_view = "live"
url_record = state.query_param("record", "new")
if url_record not in history.RECORD_TYPES:
    problems.append(_("Unknown record type {value}: choose one of {choices}. Showing new "
                      "holds.").format(value=md_escape(repr(url_record)),
                                       choices=", ".join(history.RECORD_TYPES)))
    url_record = "new"
for problem in problems:
    st.error(problem, icon=":material/error:")

# a control's first value comes from the URL; after that the control owns it (a reset sets
# it, so the browser shows what the data uses)
seed("wh_view", url_view)
seed("wh_type", url_hold_type)
top = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
view = top.segmented_control(_("View"), list(VIEWS), format_func=lambda v: _(VIEWS[v]),
                                key="wh_view", required=True) or "live"
hold_type = top.segmented_control(
    _("Hold type"), list(HOLD_TYPES), format_func=hold_type_label, key="wh_type",
    required=True, help=_("Quality holds (品質異常) are every hold reason not on the "
                          "non-quality list of the settings (non_quality_hold_reasons).")
) or ALL
top.button(_("Reset filters"), on_click=reset_filters, icon=":material/filter_alt_off:",
              help=_("Every filter back to all: hold type, reasons, groups, packages, days, "
                     "record type, shift day and the tables' pages. The view, date range, "
                     "trend period and matrix measure stay."))
state.set_query_param("view", None if view == "live" else view)
state.set_query_param("type", None if hold_type == ALL else hold_type)


# ---------------------------------------------------------------------------------------------
# live view
# ---------------------------------------------------------------------------------------------


def _on_matrix() -> None:
    cells = st.session_state["wh_matrix"].selection.cells
    if not cells:
        return
    row, column = cells[0]
    groups = st.session_state.get("wh_matrix_rows", [])
    group = groups[row] if 0 <= row < len(groups) else current.TOTAL
    if column == "station_group":
        column = current.TOTAL
    st.session_state["wh_f_group"] = [] if group == current.TOTAL else [group]
    st.session_state["wh_f_package"] = [] if column == current.TOTAL else [column]


def _on_click(chart_key: str, filter_key: str) -> Any:
    def apply() -> None:
        picked = [p.get("x") for p in points(chart_key) if p.get("x") is not None]
        if picked:
            st.session_state[filter_key] = [str(picked[0])]

    return apply


def wip_summary_cards(wip: dict[str, Any]) -> None:
    row = cards()
    hold = wip["HOLD"]
    for key, part in (("wip_run_lots", wip["RUN"]),
                                    ("wip_queue_lots", wip["QUEUE"]),
                                    ("wip_hold_quality_lots", hold["quality"]),
                      ("wip_hold_non_quality_lots", hold["non_quality"])):
        col = row.container(width="content", gap=None)
        pcs = _("{qty} pcs").format(qty=fmt.count(part["qty"]))
        metric(col, key, fmt.count(part["lots"]), pcs + ".")
        col.caption(pcs)


@st.fragment(run_every=settings.snapshot_refresh_s)
def live_view() -> None:
    with state.guarded(_("Live holds")):
        watcher = st.session_state.setdefault("wh_watcher", current.LiveHoldsWatcher())
        holds, _changed = watcher.poll(lanes, settings)
        if holds.snapshot is None:
            st.warning(_("The live snapshot (dw_mes_lot_v) is empty: no WIP to show."))
            return
        age_s = current.snapshot_age_s(holds.snapshot)
        as_of = _("Data as of {time} ({age})").format(
            time=fmt.datetime(holds.snapshot, seconds=False), age=state.humanize_age(age_s))
        if current.is_stale(holds.snapshot, settings):
            st.warning(_("{as_of}. The snapshot is older than {minutes} min: it may be "
                         "stale.").format(as_of=as_of,
                                          minutes=settings.snapshot_stale_s // 60),
                       icon=":material/schedule:")
        else:
            st.caption(":material/schedule: " + _("{as_of}; checked every {seconds} s.")
                       .format(as_of=as_of, seconds=settings.snapshot_refresh_s))
        st.markdown(_("**WIP summary** (status rule: RUN on a machine, else HOLD if held, "
                      "else QUEUE)"))
        wip_summary_cards(holds.wip)

        base = current.apply_filter(holds.lots, current.LiveFilter(hold_type=hold_type))
        chosen: dict[str, list[str]] = {}
        row = st.container(horizontal=True, gap="small")
        for param, key, label, column in LIVE_FILTERS:
            if column == "age_bucket":
                options = age_labels(settings.hold_age_edges_days)
            else:
                options = sorted(base[column].dropna().astype(str).unique())
            chosen[column] = url_choice(param, key, _(label), options, where=row,
                                        format_func=bucket_text if column == "age_bucket"
                                        else str)
        flt = current.LiveFilter(
            hold_type=hold_type, reasons=tuple(chosen["reason"]),
            groups=tuple(chosen["station_group"]), packages=tuple(chosen["package"]),
            types=tuple(chosen["pj_type"]), wafer_lots=tuple(chosen["firstname"]),
            age_buckets=tuple(chosen["age_bucket"]))
        df = current.apply_filter(holds.lots, flt)

        k = current.kpis(df)
        row = cards()
        metric(row, "hold_lots_live", fmt.count(k["lots"]))
        metric(row, "hold_qty_live", fmt.count(k["qty"]))
        metric(row, "avg_days_at_station", fmt.number(k["avg_days_at_station"], 1),
               unit=False)
        metric(row, "max_days_at_station", fmt.number(k["max_days_at_station"], 1),
               unit=False)
        metric(row, "station_groups", fmt.count(k["station_groups"]))
        st.caption(_("Days at station (agebydays) is how long a lot has waited at its "
                     "current step, not how long it has been on hold: see Hold history for "
                     "durations. The hold history's open holds can list other lots: Hold "
                     "history compares both sources lot by lot."))

        head = st.columns([3, 2], vertical_alignment="bottom")
        head[0].subheader(_("Held lots: station group × Package"))
        seed("wh_matrix_measure", url_measure)
        measure = head[1].segmented_control(
            _("Matrix counts"), list(current.MATRIX_MEASURES),
            format_func=lambda m: _(MEASURE_LABELS[m]), key="wh_matrix_measure",
            required=True) or current.MATRIX_MEASURES[0]
        state.set_query_param("matrix", None if measure == current.MATRIX_MEASURES[0]
                              else measure)
        m = current.matrix(df, measure)
        st.session_state["wh_matrix_rows"] = list(m.index)
        st.caption(_("{measure}, each lot once. Every Package is a column (scroll sideways); "
                     "click a cell to filter the lot table, a Total cell to clear that "
                     "filter.").format(measure=_(MEASURE_LABELS[measure])))
        shown = m.reset_index()
        shown["station_group"] = shown["station_group"].replace({current.TOTAL: _("Total")})
        number = {c: st.column_config.NumberColumn(
            _("Total") if c == current.TOTAL else str(c), format="localized")
            for c in m.columns}
        show(shown, key="wh_matrix", on_select=_on_matrix, selection_mode="single-cell",
             column_config=number)

        left, right = st.columns(2)
        lots_label = _("Lots")
        with left:
            st.markdown(_("**Hold Reasons of lots on hold** (LOT, Pareto)"))
            p = current.pareto(df)
            fig = pareto_figure(p["reason"], p["lots"], p["cum_pct"], bar_name=lots_label,
                                line_name=glossary.label("cum_pct"),
                                width_px=HALF_PLOT_WIDTH_PX)
            st.plotly_chart(fig, key="wh_pareto",
                            on_select=_on_click("wh_pareto", "wh_f_reason"),
                            selection_mode="points")
        with right:
            st.markdown(_("**Days at station** (agebydays; not the Hold duration)"))
            a = current.age_buckets(df, settings)
            fig = go.Figure(go.Bar(x=a["days_at_station"], y=a["lots"], name=lots_label))
            fig.update_layout(height=340, margin={"t": 40, "b": 10},
                              yaxis={"title": lots_label, **count_axis(a["lots"])},
                              xaxis={"title": labels.label("days_at_station_bucket"),
                                     "tickmode": "array", "tickvals": list(a["days_at_station"]),
                                     "ticktext": [bucket_text(x) for x in a["days_at_station"]]},
                              clickmode="event+select")
            st.plotly_chart(fig, key="wh_age", on_select=_on_click("wh_age", "wh_f_age"),
                            selection_mode="points")

        st.subheader(_("Lots on hold"))
        table = hold_types_shown(current.lot_table(df))
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
    with state.guarded(_("Live snapshot")):
        watcher = st.session_state.setdefault("wh_watcher", current.LiveHoldsWatcher())
        holds, _changed = watcher.poll(lanes, settings)
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
    seed("wh_start", start)
    seed("wh_end", end)
    seed("wh_h_grain", url_grain)
    c = st.columns([2, 2, 3], vertical_alignment="bottom")
    start = c[0].date_input(_("Start date (shift day)"), key="wh_start", format="YYYY-MM-DD")
    end = c[1].date_input(_("End date (shift day)"), key="wh_end", format="YYYY-MM-DD")
    state.set_query_param("start", start.isoformat())
    state.set_query_param("end", end.isoformat())
    with c[2]:
        grain = st.segmented_control(
            _("Period"), list(history.GRAINS), format_func=lambda g: _(history.GRAIN_LABELS[g]),
            key="wh_h_grain", required=True) or "day"
    state.set_query_param("grain", None if grain == "day" else grain)
    st.session_state["wh_h_grain_now"] = grain
    try:
        check_range(start, end, settings.hold_history_max_days, settings)
    except HoldInputError as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return None
    st.caption(_("A shift day starts at {time} the calendar day before (an event at or after "
                 "that time belongs to the next day).").format(time=settings.shift_day_start))
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
    with state.guarded(_("Hold history")):
        with st.spinner(_("Loading holds {range} (once per range)…").format(
                range=fmt.date_range(start, end))):
            h = load_range(settings.effective_db_url, settings.schema, start, end, as_of)
            if not h.exists():  # the spool was swept: read the range again
                load_range.clear()
                h = load_range(settings.effective_db_url, settings.schema, start, end, as_of)
        with history.HistoryView(h) as v:
            history_body(h, v, holds)


def sources_block(cmp: reconcile.OnHoldComparison) -> None:
    """Both "on hold now" counts, each with its source, and the lots that differ."""
    row = cards()
    metric(row, "hold_lots_live", fmt.count(cmp.live_lots),
           None if cmp.live_as_of is None else
           _("Snapshot of {time}; {qty} pcs.").format(
               time=fmt.datetime(cmp.live_as_of, seconds=False), qty=fmt.count(cmp.live_qty)))
    metric(row, "on_hold_now_history", fmt.count(cmp.history_lots),
           _("Open at {time}; {qty} pcs.").format(
               time=fmt.datetime(cmp.history_as_of, seconds=False),
               qty=fmt.count(cmp.history_qty)))
    if not cmp.comparable:
        st.info(_(cmp.note) if cmp.note else _("The two sources are not compared."),
                icon=":material/info:")
        return
    if cmp.differing.empty:
        st.caption(":material/check: " + _("Both sources list the same lots on hold."))
        return
    n = len(cmp.differing)
    st.warning(_("The two sources differ by {n} lot(s): {live} only in the live snapshot, "
                 "{hist} only in the hold history (open there, not held in the snapshot: "
                 "released since, running on a machine, or not WIP).").format(
                     n=fmt.count(n), live=fmt.count(cmp.only_live),
                     hist=fmt.count(cmp.only_history)),
               icon=":material/compare_arrows:")
    with st.expander(_("Lots on hold in one source only ({n})").format(n=fmt.count(n))):
        diff = cmp.differing.drop(columns=["containerid"]).rename(
            columns={"reason": "hold_reason"})
        diff["source"] = diff["source"].map(lambda s: _(reconcile.SOURCE_LABELS.get(s, s)))
        show(diff)


def history_body(h: history.HoldHistory, v: history.HistoryView,
                 holds: current.LiveHolds | None) -> None:
    st.caption(_("{rows} hold records loaded in {seconds} s; open holds and durations as "
                 "of {time}.").format(rows=fmt.count(h.rows), seconds=fmt.number(h.load_s, 2),
                                      time=fmt.datetime(h.as_of, seconds=False)))
    seed("wh_h_rec", url_record)
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    rec = row.segmented_control(
        _("Records"), list(history.RECORD_TYPES),
        format_func=lambda r: _(history.RECORD_TYPE_LABELS[r]), key="wh_h_rec",
        required=True) or "new"
    state.set_query_param("record", None if rec == "new" else rec)
    reasons = url_choice("hreason", "wh_h_reason", _("Hold Reason"), v.reasons(), where=row)
    buckets = url_choice("bucket", "wh_h_bucket", _("Hold duration"), h.bucket_labels,
                         where=row, format_func=bucket_text)
    days = [ALL_DAYS, *[d.isoformat() for d in h.days]]
    url_day = state.query_param("day", ALL_DAYS)
    if "wh_h_day" not in st.session_state:
        if url_day not in days:
            st.warning(_("Day {day} is not in the range; showing all days.").format(
                day=md_escape(repr(url_day))))
            url_day = ALL_DAYS
        st.session_state["wh_h_day"] = url_day
    elif st.session_state["wh_h_day"] not in days:
        st.session_state["wh_h_day"] = ALL_DAYS
    day_text = row.selectbox(_("Shift day"), days, key="wh_h_day", width=200,
                             format_func=lambda d: _("All days") if d == ALL_DAYS else d)
    state.set_query_param("day", None if day_text == ALL_DAYS else day_text)
    day = None if day_text == ALL_DAYS else date.fromisoformat(day_text)
    f = history.HistoryFilter(hold_type=hold_type, reasons=tuple(reasons), record_type=rec,
                              day=day, buckets=tuple(buckets))
    chart_f = history.HistoryFilter(hold_type=hold_type, reasons=tuple(reasons),
                                    record_type=rec)
    grain = st.session_state.get("wh_h_grain_now", "day")

    st.markdown(_("**ON HOLD now, by source**"))
    sources_block(reconcile.compare(holds.lots if holds else None,
                                    holds.snapshot if holds else None, v, chart_f))

    k = v.kpis(chart_f)
    row = cards()
    in_range = _("{qty} pcs in the range.")
    metric(row, "new_holds", fmt.count(k["new"]), in_range.format(qty=fmt.count(k["new_qty"])))
    metric(row, "released", fmt.count(k["released"]),
           in_range.format(qty=fmt.count(k["released_qty"])))
    metric(row, "net_change", f"{k['net_change']:+,}")
    metric(row, "hold_qty_history", fmt.count(k["on_hold_now_qty"]))

    row = cards()
    for key in ("released_avg_h", "released_max_h", "open_avg_h", "open_max_h"):
        hours = k[key]
        metric(row, key, fmt.duration(None if hours is None else hours * 3600), unit=False)

    st.subheader(_("Per shift day") if grain == "day" else
                 _("Per {period} (of shift days)").format(
                     period=_(history.GRAIN_LABELS[grain])))
    t = v.trend(chart_f, grain)
    x = list(t["period"])
    hatch = ["/" if p else "" for p in t["partial"]]
    partial_text = _(" (partial period)")
    fig = go.Figure()
    for col, key in (("new", "new_holds"), ("released", "released")):
        fig.add_bar(x=x, y=t[col], name=glossary.label(key),
                    marker={"pattern": {"shape": hatch}},
                    customdata=t["partial"].map({True: partial_text, False: ""}),
                    hovertemplate="%{x}%{customdata}: %{y:,d}<extra>%{fullData.name}</extra>")
    symbols = ["circle-open" if p else "circle" for p in t["partial"]]
    for col, key in (("on_hold_end", "on_hold_end"), ("future", "future_holds")):
        fig.add_scatter(x=x, y=t[col], name=glossary.label(key), mode="lines+markers",
                        marker={"symbol": symbols, "size": 8})
    for i, is_partial in enumerate(t["partial"]):
        if is_partial:  # a grey band shows it even where the bars are 0
            fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor="grey", opacity=0.12,
                          line_width=0, annotation_text=_("partial"),
                          annotation_position="top left")
    top = [*t["new"], *t["released"], *t["on_hold_end"], *t["future"]]
    fig.update_layout(barmode="group", height=360, margin={"t": 40, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      yaxis={"title": _("Lots / holds"),  # the legend names each series
                             **count_axis(top)},
                      xaxis={"type": "category", "title": _(history.GRAIN_LABELS[grain])},
                      clickmode="event+select")
    st.plotly_chart(fig, key="wh_trend", on_select=_day_click, selection_mode="points")
    partial = t[t["partial"]]
    if len(partial):
        parts = "; ".join(_("{period} covers {range} only").format(
            period=r.period, range=f"{fmt.datetime(r.covered_from, seconds=False)} – "
                                   f"{fmt.datetime(r.covered_to, seconds=False)}")
            for r in partial.itertuples())
        st.caption(":material/contrast: " + _("Shaded (hatched bars, open markers): partial "
                                              "periods: {parts}.").format(parts=parts))
    if grain == "day":
        st.caption(_("Click a day to list its records."))

    left, right = st.columns(2)
    p = v.reason_pareto(chart_f)
    label = _(history.RECORD_TYPE_LABELS[rec])
    holds_label = _("Holds")
    with left:
        st.markdown(_("**Hold Reasons of {records}, by count** (holds)").format(records=label))
        fig = pareto_figure(p["reason"], p["count"], p["count_cum_pct"], bar_name=holds_label,
                            line_name=glossary.label("cum_pct"), width_px=HALF_PLOT_WIDTH_PX)
        st.plotly_chart(fig, key="wh_h_pareto_n", selection_mode="points",
                        on_select=_on_click("wh_h_pareto_n", "wh_h_reason"))
    with right:
        st.markdown(_("**Hold Reasons of {records}, by qty** (pcs)").format(records=label))
        pq_ = v.by_qty(p)
        st.plotly_chart(pareto_figure(pq_["reason"], pq_["qty"], pq_["qty_cum_pct"],
                                      bar_name=_("Qty (pcs)"),
                                      line_name=glossary.label("cum_pct"),
                                      width_px=HALF_PLOT_WIDTH_PX),
                        key="wh_h_pareto_q", selection_mode="points",
                        on_select=_on_click("wh_h_pareto_q", "wh_h_reason"))

    st.markdown(_("**Hold duration** (Hold to Release, or to the as-of time while open; not "
                  "days at station)"))
    b = v.duration_buckets(chart_f)
    fig = go.Figure()
    for kind, name in history.DURATION_KINDS.items():
        part = b[b["kind"] == kind]
        fig.add_bar(x=part["duration_bucket"], y=part["holds"], name=_(name))
    fig.update_layout(barmode="group", height=300, margin={"t": 30, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      yaxis={"title": holds_label, **count_axis(b["holds"])},
                      xaxis={"title": labels.label("duration_bucket"), "tickmode": "array",
                             "tickvals": h.bucket_labels,
                             "ticktext": [bucket_text(x) for x in h.bucket_labels]},
                      clickmode="event+select")
    st.plotly_chart(fig, key="wh_h_buckets", selection_mode="points",
                    on_select=_on_click("wh_h_buckets", "wh_h_bucket"))

    st.subheader(_("{records} on {day}").format(records=label, day=day) if day else label)
    _rows, total = v.records(f, limit=0)

    def shown(frame: pd.DataFrame) -> pd.DataFrame:
        return hold_types_shown(frame.rename(columns={"reason": "hold_reason"}))

    def csv() -> bytes:
        with history.HistoryView(h) as own:  # runs on its own thread: its own connection
            return csv_bytes(shown(own.records(f)[0]), raw_headers=raw_headers)

    paged_table(total, lambda o, n: shown(v.records(f, offset=o, limit=n)[0]), csv, "wh_hist",
                "records_page",
                f"holds_{rec}_{h.start}_{h.end}.csv")


if view == "history":
    history_view()
else:
    live_view()

measures_help("holds")
