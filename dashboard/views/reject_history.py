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

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from core import fmt, glossary, i18n, labels
from core.dates import parse_day
from core.errors import InputError
from core.i18n import N_, _
from core.jobs import Task
from core.rejects import (
    DIMENSIONS,
    FILTER_DIMENSIONS,
    GRAINS,
    KEY_PREFIX,
    SORTABLE,
    TOGGLE_HELP,
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
from dashboard.widgets.tables import paged, show
from dashboard.widgets.url_state import reset_controls, seed

settings = state.get_settings()
lanes = state.get_lanes(settings)
qp = state.query_param
TOGGLE_KEYS = {name: "t_" + name.removeprefix("include_") for name in Policy.names()}
MACHINE_NOTE = N_("A record booked on several machines (\"A,B\") counts for its first listed "
                  "machine in the pareto; the machine filter finds it under any of them and "
                  "the detail shows the whole list.")
GRAIN_LABELS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}
RESET_DEFAULTS: dict[str, Any] = {
    **{f"rj_{name}": False for name in Policy.names()},
    **{f"rj_f_{dim}": [] for dim in FILTER_DIMENSIONS},
}
RESET_PARAMS = (*TOGGLE_KEYS.values(), *(f"f_{d}" for d in FILTER_DIMENSIONS), "period",
                "sel_dim", "sel_val", "page")


def _label(key: str, unit: bool = True) -> str:
    """A measure's glossary label in the language of this run."""
    return glossary.label(key, unit=unit)


def _in_language(lang: str, build: Callable[[], bytes]) -> Callable[[], bytes]:
    """A download built after the run (on another thread): in the run's language."""
    def run() -> bytes:
        i18n.set_language(lang)
        return build()
    return run


def _dim(dim: str) -> str:
    return _(DIMENSIONS[dim])


st.title(_("Reject history"))


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
MODES = {"range": N_("Date range"), "list": N_("Container list")}

with st.form("primary"):
    mode_choice = st.radio(_("Query by"), list(MODES), horizontal=True,
                           format_func=lambda m: _(MODES[m]),
                           index=1 if mode == "list" else 0)
    c1, c2 = st.columns(2)
    d_start = c1.date_input(_("Start date"), value=start or date.today(), format="YYYY-MM-DD")
    d_end = c2.date_input(_("End date"), value=end or date.today(), format="YYYY-MM-DD")
    typed = st.text_area(
        _("LOT, GA/GC WORKORDER or Wafer LOT (one per line)"),
        value=values_text, height=100,
        help=_("Wildcards: * or % for any text, _ for one character; \\ escapes them."),
    )
    submitted = st.form_submit_button(_("Run"), type="primary", icon=":material/play_arrow:")

if submitted:
    new_mode = mode_choice
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
    st.info(_("Choose a date range (default: the last {days} days) or a container list, then "
              "**Run**.").format(days=settings.reject_default_days))
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
        st.error(_("The container list is empty: paste lots, work orders or wafer lots."))
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
                         label=request.label, label_args=request.label_args, owner=owner)
# every run, so a load that just finished counts at once (cheap: a few jobs)
manager.keep_latest(KEY_PREFIX, settings.reject_cache_entries,
                    max_bytes=settings.reject_cache_mb << 20)
st.session_state["rj.job"] = job.id
view: RejectView = job_result(job, key="rj.job", settings=settings,
                              what=_("The reject-history load"),
                              again=_("Press **Run** to load it again."))
loaded, slicer = view.loaded, view.slicer
if loaded.unmatched:
    st.warning(_("{n} value(s) matched no container: {values}").format(
        n=fmt.count(len(loaded.unmatched)),
        values=md_join(loaded.unmatched[:50]) + (" …" if len(loaded.unmatched) > 50 else "")))
if slicer.rows == 0:
    st.info(_("No rejects in this range or for these containers."))
    st.stop()

options = slicer.options()

# --- toggles and filters (local) -------------------------------------------------------------
# each control's first value comes from the URL, then the control owns it; "Reset filters"
# sets the controls (so the browser shows what the data uses) and drops their parameters
st.button(_("Reset filters"), icon=":material/filter_alt_off:",
          on_click=reset_controls, args=(RESET_DEFAULTS, RESET_PARAMS),
          kwargs={"forget": ("rj_trend", "rj_pareto")},
          help=_("Counting toggles back to the default policy, every filter back to all, "
                 "no period or bar chosen, the detail on page 1. The query, trend period, "
                 "Pareto and sort stay."))
toggles: dict[str, bool] = {}
# rows that wrap at narrow widths: at 1024 px (sidebar open) five toggles or seven filters
# in fixed columns cut every label
tcols = st.container(horizontal=True, gap="medium")
for name, label in TOGGLE_LABELS.items():
    col = tcols
    seed(f"rj_{name}", qp(TOGGLE_KEYS[name]) == "1")
    toggles[name] = col.toggle(_(label), key=f"rj_{name}", help=_(TOGGLE_HELP[name]))
    state.set_query_param(TOGGLE_KEYS[name], "1" if toggles[name] else None)
policy = Policy(**toggles)

chosen: dict[str, list[str]] = {}
fcols = st.container(horizontal=True, gap="small")
for dim in FILTER_DIMENSIONS:
    col = fcols
    fkey = f"rj_f_{dim}"
    if fkey not in st.session_state:
        good, problem = known_values(state.query_param_list(f"f_{dim}"), options[dim],
                                     _dim(dim))
        if problem:
            st.warning(md_escape(problem))
        st.session_state[fkey] = good
    help_ = {"workflow": _(WORKFLOW_SOURCE), "machine": _(MACHINE_NOTE)}.get(dim)
    picked = col.multiselect(_dim(dim), options[dim], key=fkey, help=help_,
                             placeholder=_("All"), width=260)
    chosen[dim] = picked
    state.set_query_param(f"f_{dim}", picked or None)

grain = qp("grain", "day")
grain = grain if grain in GRAINS else "day"
period: tuple[str, date] | None = None
if qp("period"):
    try:
        period = (grain, parse_day(qp("period"), "period", settings=settings) or date.today())
    except InputError as exc:
        st.warning(_("Ignored the period in the link: {problem}").format(
            problem=md_escape(exc)))
filters = Filters(**{d: tuple(v) for d, v in chosen.items()}, period=period)

shown_range = fmt.date_range(loaded.start, loaded.end) if loaded.start else _("no rows")
st.caption(" · ".join([_("Range {range}").format(range=shown_range),
                       *policy.chips(filters.package)]))

# --- KPIs ----------------------------------------------------------------------------------
k = slicer.kpis(policy, filters)


def _count(col: Any, key: str, n: int) -> None:
    """A count as a metric titled and explained by the glossary: exact while it fits the
    tile, else compact (1.97 B) with the exact number in the tooltip too (a year's move-in
    runs to ten digits)."""
    label, help_ = _label(key), glossary.help_text(key)
    exact = fmt.count(n)
    if len(exact) <= 11:
        col.metric(label, exact, help=help_, width="content")
        return
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(n) >= size:
            col.metric(label, f"{fmt.number(n / size, 2)} {suffix}", width="content",
                       help=help_ + " " + _("Exact: {value}.").format(value=exact))
            return


def _pct(col: Any, key: str, value: float) -> None:
    """A percentage on a KPI card: one decimal (core.fmt; the label says %), the exact
    value in the help."""
    col.metric(_label(key), fmt.number(value, fmt.KPI_PERCENT_PLACES), width="content",
               help=glossary.help_text(key) + " " + _("Exact: {value}.").format(
                   value=fmt.percent(value, 4)))


row1 = st.container(horizontal=True, gap="medium")  # cards as wide as their labels, wrapping
_count(row1, "charged", k["charged"])
_count(row1, "defect", k["defect"])
_count(row1, "total", k["total"])
_pct(row1, "charged_share_pct", k["charged_share_pct"])
_count(row1, "movein", k["movein"])
row2 = st.container(horizontal=True, gap="medium")
_pct(row2, "reject_rate_pct", k["reject_rate_pct"])
_pct(row2, "defect_rate_pct", k["defect_rate_pct"])
_count(row2, "lots", k["lots"])
_count(row2, "workorders", k["workorders"])
measures_help("rejects")


def _points(event: Any) -> list[dict[str, Any]]:
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return []


# --- trend ---------------------------------------------------------------------------------
st.subheader(_("Trend"))
seed("rj_grain", grain)
g = st.segmented_control(_("Time grain"), list(GRAINS), key="rj_grain", required=True,
                         format_func=lambda x: _(GRAIN_LABELS.get(x, x))) or "day"
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
    st.caption(_("Hatched, lighter bars: periods the range covers only in part, so they are "
                 "not comparable with whole ones: {periods}.").format(
        periods="; ".join(f"{r.label} {r.coverage}" for r in partial.itertuples())))
with st.expander(_("Trend table")):
    table = trend[["label", "charged", "defect", "movein", "reject_rate_pct",
                   "defect_rate_pct", "coverage"]].rename(columns={"label": "period_label"})
    table["coverage"] = table["coverage"].replace("", _("whole"))
    show(table)
pts = _points(event)
if pts and pts[0].get("customdata") is not None:
    clicked = pts[0]["customdata"]
    clicked = clicked[0] if isinstance(clicked, list) else clicked
    if clicked != qp("period"):
        state.set_query_param("period", str(clicked))
        st.rerun()
if period is not None and st.button(_("Clear period filter ({period})").format(
        period=period[1]), icon=":material/close:"):
    state.set_query_param("period", None)
    st.rerun()

# --- paretos -------------------------------------------------------------------------------
st.subheader(_("Pareto"))
prow = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
pc1 = pc2 = pc3 = prow
dim = qp("dim", "reason")
seed("rj_dim", dim if dim in DIMENSIONS else "reason")
seed("rj_measure", "defect" if qp("measure") == "defect" else "charged")
seed("rj_top80", qp("top80") == "1")
new_dim = pc1.selectbox(_("By"), list(DIMENSIONS), format_func=_dim, key="rj_dim", width=220)
new_measure = pc2.segmented_control(_("Measure"), ["charged", "defect"], key="rj_measure",
                                    required=True,
                                    format_func=lambda m: _label(m, unit=False)) or "charged"
only80 = pc3.toggle(_("Top 80 %"), key="rj_top80",
                    help=_("Only the items that make up the first 80 % of the measure."))
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
    st.caption(_(MACHINE_NOTE))
elif new_dim == "workflow":
    as_of = (_("Snapshot as of {time}.").format(time=fmt.datetime(loaded.workflow_as_of))
             if loaded.workflow_as_of else _("The WIP snapshot holds no lot."))
    st.caption(f"{_(WORKFLOW_SOURCE)} {as_of}")
if cut:
    st.caption(_("The chart draws the top {n} of {total} {dimension} values and sums the rest "
                 "into '{others}'; the Pareto table lists every one.").format(
        n=settings.pareto_max_bars, total=fmt.count(len(par)), dimension=_dim(new_dim),
        others=bars[new_dim].iloc[-1]))
drawn = set(par[new_dim].astype(str))  # a click on 'others (N)' selects nothing
ppts = [p for p in _points(pev) if str(p.get("x")) in drawn]
if ppts and ppts[0].get("x") is not None and (
    qp("sel_dim") != new_dim or qp("sel_val") != str(ppts[0]["x"])
):
    state.set_query_param("sel_dim", new_dim)
    state.set_query_param("sel_val", str(ppts[0]["x"]))
    state.set_query_param("page", None)
    st.rerun()
with st.expander(_("Pareto table")):
    show(par)

# --- detail --------------------------------------------------------------------------------
st.subheader(_("Detail"))
selection = None
if qp("sel_dim") in DIMENSIONS and qp("sel_val") is not None:
    selection = Selection(str(qp("sel_dim")), str(qp("sel_val")))
    if st.button(_("Clear bar filter ({dimension} = {value})").format(
            dimension=_dim(selection.dim), value=md_escape(selection.value)),
            icon=":material/close:"):
        state.set_query_param("sel_dim", None)
        state.set_query_param("sel_val", None)
        st.rerun()
drow = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
sort = qp("sort", "txndate")
seed("rj_sort", sort if sort in SORTABLE else "txndate")
seed("rj_desc", qp("asc") != "1")
sort = drow.selectbox(_("Sort by"), list(SORTABLE), key="rj_sort", format_func=labels.label,
                       width=220)
desc = drow.toggle(_("Descending"), key="rj_desc")
slots = (drow.container(width=150), drow.container(width=150))  # rows per page, page
rows, shown = paged(
    lambda offset, size: slicer.detail(policy, filters, selection, sort=sort, descending=desc,
                                       page=offset // size + 1, page_size=size),
    key="rj", param="page", size_param="size", settings=settings, slots=slots)
page, pages, total = shown.number, shown.pages, shown.total
state.set_query_param("sort", None if sort == "txndate" else sort)
state.set_query_param("asc", None if desc else "1")
st.caption(_("{total} reject records (one row each, as booked); showing page {page} of "
             "{pages}.").format(total=fmt.count(total), page=fmt.count(page),
                                pages=fmt.count(pages)))
show(pd.DataFrame(rows))
raw_headers = settings.csv_headers == "names"
st.download_button(
    _("Export CSV"),
    # built only when clicked (the full 365-day CSV takes seconds; no st.* calls inside)
    data=_in_language(i18n.current(), lambda: slicer.csv_bytes(
        policy, filters, selection, raw_headers=raw_headers)),
    file_name=csv_name(loaded.start, loaded.end),
    mime="text/csv",
    icon=":material/download:",
    help=_("Every filtered row, not only this page."),
)
