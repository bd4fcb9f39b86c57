"""Containment page: from a suspect to every lot and serial it reached, and where each is now.

After the defect trace names a suspect (a machine and a time window, a material lot or a
wafer lot), the engineer needs the hold list: the lots that passed the suspect, every
descendant down to serial numbers, and which of them are still in WIP (on hold or not).
The page gathers the suspect (kept in the URL, so the Defect trace's suspects link here),
runs core.contain as a background job with progress and Cancel, and shows KPIs, the lots
still in WIP (the hold list, CSV), the exposed lots, the descendants and the serials.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core import glossary
from core.contain import KINDS, Containment, build_suspect, job_key, run_contain
from core.errors import InputError
from core.export import csv_bytes
from core.jobs import Task
from core.text import md_escape
from core.trace import split_values
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.measures import measures_help

KIND_LABELS = {"machine": "Machine + date range", "material_lot": "Material lot",
               "wafer_lot": "Wafer lot"}
KPI_ROWS = (
    ("contain_exposed_lots", "contain_descendant_lots", "contain_serials",
     "contain_wip_lots", "contain_wip_qty"),
    ("contain_held_lots", "contain_held_qty", "contain_not_held_lots",
     "contain_finished_lots", "contain_left_wip_lots"),
)

settings = state.get_settings()
lanes = state.lanes_or_none(settings)
st.title("Containment")
st.caption("From a suspect (a machine in a time window, a material lot or a wafer lot): "
           "the lots that passed it, every descendant down to serial numbers, and where "
           "each one is now, with the hold list to download.")
if lanes is None:
    st.stop()

yesterday = dt.date.today() - dt.timedelta(days=1)
q_kind = state.query_param("kind", "machine")
q_names = state.query_param_list("name")
q_start = state.query_param("start", str(yesterday - dt.timedelta(days=29)))
q_end = state.query_param("end", str(yesterday))

with st.form("contain_form"):
    kind = st.segmented_control(
        "Suspect", list(KINDS), format_func=KIND_LABELS.get, key="contain_kind",
        default=q_kind if q_kind in KINDS else "machine")
    names = st.text_area("Names (one per line)", value="\n".join(q_names), height=90,
                         help="Machine names (e.g. DB-003), material lot names or wafer lot "
                              "names, as in the data.")
    c1, c2 = st.columns(2)
    start = c1.text_input("Start date (machine only)", value=q_start or "",
                          help="YYYY-MM-DD; lots tracked in on the machine from this day.")
    end = c2.text_input("End date (machine only)", value=q_end or "",
                        help="YYYY-MM-DD; the end day is included.")
    submitted = st.form_submit_button("Contain", type="primary")

if submitted:
    listed = split_values(names)
    state.set_query_param("kind", kind)
    state.set_query_param("name", listed)
    state.set_query_param("start", start if kind == "machine" else None)
    state.set_query_param("end", end if kind == "machine" else None)
    q_kind, q_names = kind, listed
    q_start, q_end = (start, end) if kind == "machine" else (None, None)

if not q_names:
    st.info("Name a suspect and press **Contain**. The Defect trace's suspects link here. "
            f"Limits: {settings.contain_max_lots:,} lots, {settings.contain_max_days} days "
            "for a machine window.")
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
job = manager.submit(key, task, label=f"Containment of {suspect.describe()}")
result: Containment = job_result(
    job, key="contain", settings=settings, what="The containment",
    again="Press **Run again** to restart it.",
    retry=lambda: manager.submit(key, task, label=job.label, fresh=True),
)

st.subheader(md_escape(suspect.describe()[:1].upper() + suspect.describe()[1:]))
if result.truncated:
    st.warning(f"The containment was cut by {md_escape(result.truncated)}: lots beyond it are "
               "not listed. Narrow the suspect or its window.")
kpis = result.kpis()
for row in KPI_ROWS:
    cols = st.columns(len(row))
    for col, k in zip(cols, row, strict=True):
        col.metric(glossary.label(k), f"{kpis[k]:,}", help=glossary.help_text(k))
if result.snapshot_at is not None:
    st.caption(f"Where lots are now: the live snapshot of {result.snapshot_at:%Y-%m-%d %H:%M}.")

measures_help("contain")

tabs = st.tabs(["Hold list (in WIP)", "Exposed lots", "Descendants", "Serial numbers"])
with tabs[0]:
    wip = result.hold_list()
    st.dataframe(wip.to_pandas(), hide_index=True, width="stretch", column_config={
        "lot": "LOT", "containerid": "Container id", "role": "Role", "kind": "Kind",
        "station_group": "Station group", "workcenter": "Workcenter", "step": "Step",
        "status": "Status", "qty_pcs": st.column_config.NumberColumn("Qty (pcs)",
                                                                     format="localized"),
        "on_hold": "On hold", "hold_reason": "Hold reason", "hold_type": "Hold type",
        "days_at_station": st.column_config.NumberColumn("Days at station", format="%.1f"),
        "parent_lot": "Parent lot"})
    st.download_button("Download the hold list (CSV)", lambda: csv_bytes(wip),
                       "containment_hold_list.csv", "text/csv", key="dl_hold_list")
with tabs[1]:
    st.dataframe(result.exposed.to_pandas(), hide_index=True, width="stretch")
with tabs[2]:
    desc = result.descendants.select(["containername", "kind", "parent_name", "edge_kind",
                                      "depth", "serial", "state", "station_group", "status"])
    st.dataframe(desc.to_pandas(), hide_index=True, width="stretch", column_config={
        "containername": "LOT", "kind": "Kind", "parent_name": "Parent lot",
        "edge_kind": "Link", "depth": "Level", "serial": "Serial", "state": "Now",
        "station_group": "Station group", "status": "Status"})
with tabs[3]:
    if result.serials:
        st.dataframe({"serial": result.serials}, hide_index=True, width="stretch",
                     column_config={"serial": "Serial number"})
    else:
        st.info("No serial number was reached.")
