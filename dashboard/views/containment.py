"""Containment page: from a suspect to every lot and serial it reached, and where each is now.

After the defect trace names a suspect (a machine and a time window, a material lot or a
wafer lot), the engineer needs the hold list: the lots that passed the suspect, every
descendant down to serial numbers, and which of them are still in WIP (on hold or not).
The page gathers the suspect (kept in the URL, so the Defect trace's suspects link here),
runs core.contain as a background job with progress and Cancel, and shows KPIs, the lots
still in WIP (the hold list, CSV), the exposed lots, the descendants and the serials.
The open tab (``tab``), each table's sort (``<table>_sort``: a column, "-" first for
descending) and page (``<table>_page``) are in the URL too, so a link reopens the view.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core import fmt, labels
from core.contain import (
    KINDS,
    VALUE_LABELS,
    Containment,
    build_suspect,
    job_key,
    run_contain,
)
from core.errors import InputError
from core.export import csv_bytes
from core.i18n import N_, _
from core.jobs import Task
from core.text import md_escape
from core.trace import split_values
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.kpis import kpi_row, measure_kpi
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged, show

KIND_LABELS = {"machine": N_("Machine + date range"), "material_lot": N_("Material lot"),
               "wafer_lot": N_("Wafer LOT")}
KPI_ROWS = (
    ("contain_exposed_lots", "contain_descendant_lots", "contain_serials",
     "contain_wip_lots", "contain_wip_qty"),
    ("contain_held_lots", "contain_held_qty", "contain_not_held_lots",
     "contain_finished_lots", "contain_left_wip_lots"),
)
TABS = (("hold", N_("Hold list (in WIP)")), ("exposed", N_("Exposed lots")),
        ("descendants", N_("Descendants")), ("serials", N_("Serial numbers")))

settings = state.get_settings()
lanes = state.lanes_or_none(settings)
st.title(_("Containment"))
st.caption(_("From a suspect (a machine in a time window, a material lot or a wafer lot): "
             "the lots that passed it, every descendant down to serial numbers, and where "
             "each one is now, with the hold list to download."))
if lanes is None:
    st.stop()
RAW_HEADERS = settings.csv_headers == "names"

yesterday = dt.date.today() - dt.timedelta(days=1)
q_kind = state.query_param("kind", "machine")
q_names = state.query_param_list("name")
q_start = state.query_param("start", str(yesterday - dt.timedelta(days=29)))
q_end = state.query_param("end", str(yesterday))

with st.form("contain_form"):
    kind = st.segmented_control(
        _("Suspect"), list(KINDS), format_func=lambda x: _(KIND_LABELS[x]),
        key="contain_kind", default=q_kind if q_kind in KINDS else "machine")
    names = st.text_area(_("Names (one per line)"), value="\n".join(q_names), height=90,
                         help=_("Machine names (e.g. DB-003), material lot names or wafer "
                                "lot names, as in the data."))
    c1, c2 = st.columns(2)
    start = c1.text_input(_("Start date (machine only)"), value=q_start or "",
                          help=_("YYYY-MM-DD; lots tracked in on the machine from this day."))
    end = c2.text_input(_("End date (machine only)"), value=q_end or "",
                        help=_("YYYY-MM-DD; the end day is included."))
    submitted = st.form_submit_button(_("Contain"), type="primary")

if submitted:
    listed = split_values(names)
    state.set_query_param("kind", kind)
    state.set_query_param("name", listed)
    state.set_query_param("start", start if kind == "machine" else None)
    state.set_query_param("end", end if kind == "machine" else None)
    q_kind, q_names = kind, listed
    q_start, q_end = (start, end) if kind == "machine" else (None, None)

if not q_names:
    st.info(_("Name a suspect and press **Contain**. The Defect trace's suspects link here. "
              "Limits: {lots} lots, {days} days for a machine window.").format(
        lots=fmt.count(settings.contain_max_lots), days=settings.contain_max_days))
    st.stop()

try:
    suspect = build_suspect(q_kind or "machine", q_names, settings=settings,
                            start=q_start if q_kind == "machine" else None,
                            end=q_end if q_kind == "machine" else None)
except InputError as exc:
    st.warning(md_escape(exc))
    st.stop()

manager = get_job_manager(settings)
key = job_key(suspect)
task = Task(run_contain, suspect, lanes=lanes, settings=settings)
job = manager.submit(key, task, label=suspect.label, label_args=suspect.label_args)
result: Containment = job_result(
    job, key="contain", settings=settings, what=_("The containment"),
    again=_("Press **Run again** to restart it."),
    retry=lambda: manager.submit(key, task, label=job.label, label_args=job.label_args,
                                 fresh=True),
)

what = _(KIND_LABELS[suspect.kind]).split(" + ")[0] + " " + ", ".join(suspect.names)
if suspect.start:
    what += " · " + fmt.date_range(suspect.start, suspect.end)
st.subheader(md_escape(what))
if result.truncated:
    st.warning(_("The containment was cut by {bound}: lots beyond it are not listed. Narrow "
                 "the suspect or its window.").format(bound=md_escape(result.truncated)))
kpis = result.kpis()
for row in KPI_ROWS:
    kpi_row([measure_kpi(k, fmt.count(kpis[k])) for k in row])
if result.snapshot_at is not None:
    st.caption(_("Where lots are now: the live snapshot of {when}.").format(
        when=fmt.datetime(result.snapshot_at, seconds=False)))

measures_help("contain")


def sorted_page(data: Any, table: str) -> pd.DataFrame:
    """One table with its sort (``<table>_sort``: a column, "-" in front for descending)
    and page (``<table>_page``, ``<table>_size``) from the URL, both written back when
    changed: a link reopens the same rows in the same order."""
    df = data.to_pandas() if hasattr(data, "to_pandas") else pd.DataFrame(data)
    columns = list(df.columns)
    q_sort = state.query_param(f"{table}_sort") or ""
    desc = q_sort.startswith("-")
    col = q_sort.lstrip("-")
    c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
    options = ["", *columns]
    st.session_state[f"{table}.sort_col"] = col if col in columns else ""
    st.session_state[f"{table}.sort_desc"] = desc

    def changed() -> None:
        name = st.session_state.get(f"{table}.sort_col") or ""
        down = bool(st.session_state.get(f"{table}.sort_desc"))
        state.set_query_param(f"{table}_sort", (("-" if down else "") + name) if name
                              else None)
        state.set_query_param(f"{table}_page", None)  # a new order starts on page 1

    c1.selectbox(_("Sort by"), options, key=f"{table}.sort_col", on_change=changed,
                 format_func=lambda c: labels.label(c) if c else _("(as listed)"))
    c2.toggle(_("Descending"), key=f"{table}.sort_desc", on_change=changed)
    if col in columns:
        df = df.sort_values(col, ascending=not desc, kind="stable", na_position="last")
    rows, _page = paged(lambda offset, size: (df.iloc[offset:offset + size], len(df)),
                        key=table, param=f"{table}_page", settings=settings,
                        slots=(c3, c4))
    return readable(rows)


def readable(rows: pd.DataFrame) -> pd.DataFrame:
    """The page's rows as read: coded values (role, state, hold type) in words of the
    reader's language, an empty text cell blank rather than "None"."""
    out = rows.copy()
    for col, words in VALUE_LABELS.items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, w=words: _(w[v]) if v in w else v)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].where(out[col].notna(), "")
    return out


q_tab = state.query_param("tab")
tab_labels = {tid: _(text) for tid, text in TABS}
tab_ids = {v: k for k, v in tab_labels.items()}


def tab_changed() -> None:
    tid = tab_ids.get(st.session_state.get("contain_tab"))
    state.set_query_param("tab", None if tid in (None, TABS[0][0]) else tid)


tabs = dict(zip(tab_labels, st.tabs(
    list(tab_labels.values()), key="contain_tab", on_change=tab_changed,
    default=tab_labels.get(q_tab or "", tab_labels[TABS[0][0]])), strict=True))
with tabs["hold"]:
    wip = result.hold_list()
    show(sorted_page(wip.drop_columns(["containerid"]), "hold"), key="table_hold")
    st.download_button(_("Download the hold list (CSV)"),
                       lambda: csv_bytes(wip, raw_headers=RAW_HEADERS),
                       "containment_hold_list.csv", "text/csv", key="dl_hold_list")
with tabs["exposed"]:
    show(sorted_page(result.exposed.drop_columns(["containerid"]), "exposed"),
         key="table_exposed")
    st.download_button(_("Download the exposed lots (CSV)"),
                       lambda: csv_bytes(result.exposed, raw_headers=RAW_HEADERS),
                       "containment_exposed.csv", "text/csv", key="dl_exposed")
with tabs["descendants"]:
    desc = result.descendants.select(["containername", "kind", "parent_name", "edge_kind",
                                      "depth", "serial", "state", "station_group", "status"])
    show(sorted_page(desc, "desc"), key="table_desc")
    st.download_button(_("Download the descendants (CSV)"),
                       lambda: csv_bytes(desc, raw_headers=RAW_HEADERS),
                       "containment_descendants.csv", "text/csv", key="dl_desc")
with tabs["serials"]:
    if result.serials:
        show(sorted_page({"serial": result.serials}, "serials"), key="table_serials")
    else:
        st.info(_("No serial number was reached."))
