"""Reject history page: what was scrapped, where and why, for the morning meeting.

Why thin: every number comes from ``core.rejects``. The primary query (a date range or a
container list) runs once on the slow lane as a background job (``core.rejects._load_job``:
progress, Cancel), keyed by the primary inputs only (a range, or a digest of the sorted
values); the finished job holds the local slicer, so a rerun neither copies the rows
(st.cache_data would unpickle them on every hit) nor rebuilds the slicer: toggles,
filters, period and bar clicks only slice. A load over cache_max_ids containers is its
session's own, never served to another. Opening the page bare runs the default range.
The whole view lives in st.query_params, so a shared link restores and runs it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from core import glossary, i18n
from core.dates import parse_day
from core.errors import InputError
from core.jobs import Task
from core.rejects import (
    DETAIL_COLUMNS,
    DIMENSIONS,
    FILTER_DIMENSIONS,
    GRAINS,
    KEY_PREFIX,
    SORTABLE,
    TOGGLE_LABELS,
    WORKFLOW_SOURCE,
    Filters,
    Policy,
    RejectInputError,
    RejectRequest,
    RejectView,
    Selection,
    chart_items,
    check_range,
    csv_name,
    known_values,
    parse_values,
    run_reject_load,
)
from core.text import md_escape, md_join
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.charts import pareto_figure, trend_figure
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged

settings = state.get_settings()
lanes = state.get_lanes(settings)
qp = state.query_param
TOGGLE_KEYS = {name: "t_" + name.removeprefix("include_") for name in Policy.names()}
MACHINE_NOTE = ("A record booked on several machines (\"A,B\") counts for its first listed "
                "machine in the pareto; the machine filter finds it under any of them and the "
                "detail shows the whole list.")


def _label(key: str, unit: bool = True) -> str:
    """A measure's glossary label in the language of this run."""
    return glossary.label(key, i18n.current(), unit)


def _measure_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's measure columns titled by their glossary labels."""
    return frame.rename(columns={c: _label(c) for c in frame.columns
                                 if c in glossary.GLOSSARY})


st.title("Reject history")


# --- the primary query ---------------------------------------------------------------------
mode = "list" if qp("mode") == "list" else "range"
range_error: str | None = None
start: date | None = None
end: date | None = None
try:
    start, end = check_range(qp("start"), qp("end"), settings)
except RejectInputError as exc:
    range_error = str(exc)
values_text = "\n".join(state.query_param_list("c"))

with st.form("primary"):
    mode_label = st.radio("Query by", ["Date range", "Container list"], horizontal=True,
                          index=1 if mode == "list" else 0)
    c1, c2 = st.columns(2)
    d_start = c1.date_input("Start", value=start or date.today(), format="YYYY-MM-DD")
    d_end = c2.date_input("End", value=end or date.today(), format="YYYY-MM-DD")
    typed = st.text_area(
        "Lots, GA/GC work orders or wafer lots (one per line; * % _ wildcards, \\ escapes)",
        value=values_text, height=100,
    )
    submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

if submitted:
    new_mode = "list" if mode_label == "Container list" else "range"
    state.set_query_param("mode", new_mode)
    state.set_query_param("start", d_start.isoformat() if new_mode == "range" else None)
    state.set_query_param("end", d_end.isoformat() if new_mode == "range" else None)
    try:
        vals = parse_values(typed, settings) if new_mode == "list" else []
    except RejectInputError as exc:
        st.error(md_escape(exc))
        st.stop()
    state.set_query_param("c", vals or None)
    for key in ("sel_dim", "sel_val", "period", "page"):
        state.set_query_param(key, None)
    state.set_query_param("run", "1")
    st.session_state.pop("rj.job", None)  # Run: a cancelled or failed load starts again
    st.rerun()

if qp("run") != "1":
    if (qp("start") is not None or qp("end") is not None) if mode == "range" else values_text:
        # a link that names its query (typed, or cut short) runs like a shared one
        state.set_query_param("run", "1")
    elif mode == "range" and settings.reject_open_runs_default:
        # no query in the link (a bare open, the morning look, or only view settings):
        # the default range, written to the URL so the view can be shared and reloaded
        state.set_query_param("mode", "range")
        state.set_query_param("start", start.isoformat() if start else None)
        state.set_query_param("end", end.isoformat() if end else None)
        state.set_query_param("run", "1")

if qp("run") != "1":
    st.info("Choose a date range (default: the last "
            f"{settings.reject_default_days} days) or a container list, then **Run**.")
    st.stop()

values: list[str] = []
if mode == "range" and range_error:
    st.error(md_escape(range_error))
    st.stop()
if mode == "list":
    try:
        values = parse_values(state.query_param_list("c"), settings)
    except RejectInputError as exc:
        st.error(md_escape(exc))
        st.stop()
    if not values:
        st.error("The container list is empty: paste lots, work orders or wafer lots.")
        st.stop()

# --- the load: a background job (progress, Cancel), one per primary inputs ------------------
request = RejectRequest(mode, start, end, tuple(values))
key = request.key(settings)
manager = get_job_manager(settings)
owner = state.session_id()
mine = manager.get(st.session_state.get("rj.job", ""))
# this session's job while it asks for the same inputs (whatever its state, until Run),
# else the process's job for these inputs (a finished one is served, not run again)
job = mine if mine is not None and mine.key == key else None
if job is None:
    if mine is not None and mine.private:  # over cache_max_ids: held only while in use
        manager.forget(mine.id)
    job = manager.submit(key, Task(run_reject_load, request, lanes=lanes, settings=settings),
                         label=request.label, owner=owner)
# every run, so a load that just finished counts at once (cheap: a few jobs)
manager.keep_latest(KEY_PREFIX, settings.reject_cache_entries,
                    max_bytes=settings.reject_cache_mb << 20)
st.session_state["rj.job"] = job.id
view: RejectView = job_result(job, key="rj.job", settings=settings,
                              what="The reject-history load",
                              again="Press **Run** to load it again.")
loaded, slicer = view.loaded, view.slicer
if loaded.unmatched:
    st.warning(f"{len(loaded.unmatched)} value(s) matched no container: "
               + md_join(loaded.unmatched[:50]) + (" …" if len(loaded.unmatched) > 50 else ""))
if slicer.rows == 0:
    st.info("No rejects in this range or for these containers.")
    st.stop()

options = slicer.options()

# --- toggles and filters (local) -------------------------------------------------------------
toggles = {name: qp(key) == "1" for name, key in TOGGLE_KEYS.items()}
tcols = st.columns(len(TOGGLE_LABELS))
for col, (name, label) in zip(tcols, TOGGLE_LABELS.items(), strict=True):
    value = col.toggle(label, value=toggles[name], key=f"rj_{name}")
    toggles[name] = value
    state.set_query_param(TOGGLE_KEYS[name], "1" if value else None)
policy = Policy(**toggles)

chosen: dict[str, list[str]] = {}
fcols = st.columns(len(FILTER_DIMENSIONS))
for col, dim in zip(fcols, FILTER_DIMENSIONS, strict=True):
    wanted = state.query_param_list(f"f_{dim}")
    good, problem = known_values(wanted, options[dim], DIMENSIONS[dim].lower())
    if problem:
        st.warning(md_escape(problem))
    help_ = {"workflow": WORKFLOW_SOURCE, "machine": MACHINE_NOTE}.get(dim)
    picked = col.multiselect(DIMENSIONS[dim], options[dim], default=good, key=f"rj_f_{dim}",
                             help=help_)
    chosen[dim] = picked
    state.set_query_param(f"f_{dim}", picked or None)

grain = qp("grain", "day")
grain = grain if grain in GRAINS else "day"
period: tuple[str, date] | None = None
if qp("period"):
    try:
        period = (grain, parse_day(qp("period"), "period", settings=settings) or date.today())
    except InputError as exc:
        st.warning(f"Ignored the period in the link: {md_escape(exc)}")
filters = Filters(**{d: tuple(v) for d, v in chosen.items()}, period=period)

shown_range = f"{loaded.start} to {loaded.end}" if loaded.start else "no rows"
st.caption(" · ".join([f"Range {shown_range}", *policy.chips(filters.package)]))

# --- KPIs ----------------------------------------------------------------------------------
k = slicer.kpis(policy, filters)


def _count(col: Any, key: str, n: int) -> None:
    """A count as a metric titled and explained by the glossary: exact while it fits the
    tile, else compact (1.97 B) with the exact number in the tooltip too (a year's move-in
    runs to ten digits)."""
    label, help_ = _label(key), glossary.help_text(key)
    exact = f"{n:,}"
    if len(exact) <= 11:
        col.metric(label, exact, help=help_)
        return
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(n) >= size:
            col.metric(label, f"{n / size:.2f} {suffix}", help=f"{exact}. {help_}")
            return


def _pct(col: Any, key: str, value: float, decimals: int) -> None:
    col.metric(_label(key), f"{value:.{decimals}f}", help=glossary.help_text(key))


row1 = st.columns(5)
_count(row1[0], "charged", k["charged"])
_count(row1[1], "defect", k["defect"])
_count(row1[2], "total", k["total"])
_pct(row1[3], "charged_share_pct", k["charged_share_pct"], 1)
_count(row1[4], "movein", k["movein"])
row2 = st.columns(5)
_pct(row2[0], "reject_rate_pct", k["reject_rate_pct"], 3)
_pct(row2[1], "defect_rate_pct", k["defect_rate_pct"], 3)
_count(row2[2], "lots", k["lots"])
_count(row2[3], "workorders", k["workorders"])
measures_help("rejects")


def _points(event: Any) -> list[dict[str, Any]]:
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return []


# --- trend ---------------------------------------------------------------------------------
st.subheader("Trend")
g = st.segmented_control("Period", list(GRAINS), default=grain, key="rj_grain") or "day"
if g != grain:
    state.set_query_param("grain", None if g == "day" else g)
    state.set_query_param("period", None)
    st.rerun()
# a range cuts its first and last week or month; a container list has no range
span = (loaded.start, loaded.end) if mode == "range" and loaded.start and loaded.end else None
trend = slicer.trend(policy, filters, grain, span=span)
fig = trend_figure(
    trend["label"],
    [(_label("charged", unit=False), trend["charged"]),
     (_label("defect", unit=False), trend["defect"])],
    trend["partial"], y_title=_label("total"),
    customdata=trend["period"].astype(str),
)
event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="rj_trend")
partial = trend[trend["partial"]]
if not partial.empty:
    st.caption("Hatched, lighter bars: periods the range covers only in part, so they are "
               "not comparable with whole ones: "
               + "; ".join(f"{r.label} {r.coverage}" for r in partial.itertuples()) + ".")
with st.expander("Trend table"):
    table = trend[["label", "charged", "defect", "movein", "reject_rate_pct",
                   "defect_rate_pct", "coverage"]].rename(
        columns={"label": "period", "coverage": "coverage of the period"})
    table["coverage of the period"] = table["coverage of the period"].replace("", "whole")
    st.dataframe(_measure_columns(table), hide_index=True, width="stretch")
pts = _points(event)
if pts and pts[0].get("customdata") is not None:
    clicked = pts[0]["customdata"]
    clicked = clicked[0] if isinstance(clicked, list) else clicked
    if clicked != qp("period"):
        state.set_query_param("period", str(clicked))
        st.rerun()
if period is not None and st.button(f"Clear period filter ({period[1]})",
                                   icon=":material/close:"):
    state.set_query_param("period", None)
    st.rerun()

# --- paretos -------------------------------------------------------------------------------
st.subheader("Pareto")
pc1, pc2, pc3 = st.columns([2, 1, 1])
dim = qp("dim", "reason")
dim = dim if dim in DIMENSIONS else "reason"
new_dim = pc1.selectbox("By", list(DIMENSIONS), index=list(DIMENSIONS).index(dim),
                        format_func=DIMENSIONS.get, key="rj_dim")
measure = "defect" if qp("measure") == "defect" else "charged"
new_measure = pc2.radio("Measure", ["charged", "defect"], horizontal=True,
                        index=1 if measure == "defect" else 0, key="rj_measure",
                        format_func=lambda m: _label(m, unit=False))
only80 = pc3.toggle("Top 80 % only", value=qp("top80") == "1", key="rj_top80")
state.set_query_param("dim", None if new_dim == "reason" else new_dim)
state.set_query_param("measure", None if new_measure == "charged" else new_measure)
state.set_query_param("top80", "1" if only80 else None)
par = slicer.pareto(policy, filters, new_dim, new_measure, only_top80=only80)
bars = chart_items(par, new_dim, settings.pareto_max_bars)
cut = len(par) > settings.pareto_max_bars  # the last bar is 'others (N)'
pfig = pareto_figure(bars[new_dim], bars[new_measure], bars["cum_pct"],
                     bar_name=_label(new_measure), line_name=_label("cum_pct"))
pev = st.plotly_chart(pfig, on_select="rerun", selection_mode="points", key="rj_pareto")
if new_dim == "machine":
    st.caption(MACHINE_NOTE)
elif new_dim == "workflow":
    as_of = (f" Snapshot as of {loaded.workflow_as_of:%Y-%m-%d %H:%M:%S}."
             if loaded.workflow_as_of else " The WIP snapshot holds no lot.")
    st.caption(WORKFLOW_SOURCE + as_of)
if cut:
    st.caption(f"The chart draws the top {settings.pareto_max_bars} of {len(par):,} "
               f"{DIMENSIONS[new_dim].lower()} values and sums the rest into "
               f"'{bars[new_dim].iloc[-1]}'; the pareto table lists every one.")
drawn = set(par[new_dim].astype(str))  # a click on 'others (N)' selects nothing
ppts = [p for p in _points(pev) if str(p.get("x")) in drawn]
if ppts and ppts[0].get("x") is not None and (
    qp("sel_dim") != new_dim or qp("sel_val") != str(ppts[0]["x"])
):
    state.set_query_param("sel_dim", new_dim)
    state.set_query_param("sel_val", str(ppts[0]["x"]))
    state.set_query_param("page", None)
    st.rerun()
with st.expander("Pareto table"):
    st.dataframe(_measure_columns(par), hide_index=True, width="stretch")

# --- detail --------------------------------------------------------------------------------
st.subheader("Detail")
selection = None
if qp("sel_dim") in DIMENSIONS and qp("sel_val") is not None:
    selection = Selection(str(qp("sel_dim")), str(qp("sel_val")))
    if st.button(f"Clear bar filter ({DIMENSIONS[selection.dim]} = "
                 f"{md_escape(selection.value)})",
                 icon=":material/close:"):
        state.set_query_param("sel_dim", None)
        state.set_query_param("sel_val", None)
        st.rerun()
dc = st.columns(4)
sort = qp("sort", "txndate")
sort = sort if sort in SORTABLE else "txndate"
sort = dc[0].selectbox("Sort by", list(SORTABLE), index=list(SORTABLE).index(sort),
                       key="rj_sort", format_func=dict(DETAIL_COLUMNS).get)
desc = dc[1].toggle("Descending", value=qp("asc") != "1", key="rj_desc")
rows, shown = paged(
    lambda offset, size: slicer.detail(policy, filters, selection, sort=sort, descending=desc,
                                       page=offset // size + 1, page_size=size),
    key="rj", param="page", size_param="size", settings=settings, slots=(dc[2], dc[3]))
page, pages, total = shown.number, shown.pages, shown.total
state.set_query_param("sort", None if sort == "txndate" else sort)
state.set_query_param("asc", None if desc else "1")
st.caption(f"{total:,} reject records (one row each, as booked); showing page {page} of {pages}.")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.download_button(
    "Download CSV (all filtered rows)",
    # built only when clicked (the full 365-day CSV takes seconds; no st.* calls inside)
    data=lambda: slicer.csv_bytes(policy, filters, selection),
    file_name=csv_name(loaded.start, loaded.end),
    mime="text/csv",
    icon=":material/download:",
)
