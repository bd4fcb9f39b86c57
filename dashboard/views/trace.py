"""Trace page: lots backward (ancestors) or forward (descendants) with their events.

Why thin: all work is core.trace's ``run_trace`` in a background job (shared per process
by dashboard.job_manager, identical requests share one job); this page only builds the request
from a form, keeps it in the URL (kind, values, direction, domains: a link reopens the
trace), shows stage progress with Cancel, then reads the job's spool: seed matches, the
lineage graph (plotly, layered by depth, coloured by kind, dashed by edge kind, with a
focus box; the full graph downloadable), a per-lot timeline, and a paged tab per domain
with its completeness banner. Bad input and lane errors are messages, never tracebacks.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import glossary
from core import values as core_values
from core.db import LaneError
from core.jobs import Spool, Task
from core.text import md_escape, md_join
from core.trace import (
    DEFAULT_DOMAINS,
    DOMAINS,
    KINDS,
    LineageError,
    SeedError,
    TraceRequest,
    drawn_part,
    focus_matches,
    layered_positions,
    lineage_frames,
    run_trace,
    timeline_lots,
    widest_layer,
)
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.charts import plot_label, plot_labels
from dashboard.widgets.completeness import completeness_banner, status_mark
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged_table

KIND_COLOURS = {"WAFER": "#8c564b", "GA": "#1f77b4", "GC": "#17becf", "GD": "#d62728",
                "LOT": "#7f7f7f", "SERIAL": "#2ca02c"}
EDGE_DASH = {"split": "solid", "merge": "dash", "wafer": "dot", "rework": "dashdot"}

st.title("Trace")
settings = state.get_settings()
lanes = state.get_lanes(settings)


# --- the request, from the URL or the form ---------------------------------------------------

def _from_url() -> TraceRequest | None:
    values = state.query_param("values")
    if not values:
        return None
    kind = state.query_param("kind", "lot")
    domains = core_values.split(state.query_param("domains", ",".join(DEFAULT_DOMAINS)),
                                core_values.LABELS)
    return TraceRequest.build({kind: values}, state.query_param("direction", "backward") or
                              "backward", domains, settings)


try:
    url_request = _from_url()
except (SeedError, LineageError) as exc:
    st.error(f"The link's trace is not valid: {md_escape(exc)}")
    url_request = None

kinds = list(KINDS)
with st.form("trace_form"):
    c1, c2 = st.columns([1, 3])
    kind = c1.selectbox("Seed kind", kinds, format_func=KINDS.get,
                        index=kinds.index(url_request.seeds[0][0]) if url_request else 0)
    direction = c1.radio("Direction", ["backward", "forward"], horizontal=True,
                         index=1 if url_request and url_request.direction == "forward" else 0,
                         help="Backward: every ancestor (wafer, splits, merges, rework). "
                              "Forward: every descendant, down to serial numbers.")
    values = c2.text_area(
        "Values", value="\n".join(url_request.seeds[0][1]) if url_request else "",
        placeholder="One a line, or separated by commas or spaces. * or % any run, "
                    "_ one character, \\ makes the next character literal.", height=110)
    domains = st.multiselect("Events", list(DOMAINS), format_func=lambda d: DOMAINS[d].title,
                             default=list(url_request.domains if url_request
                                          else DEFAULT_DOMAINS))
    submitted = st.form_submit_button("Trace", type="primary", icon=":material/account_tree:")

manager = get_job_manager(settings)
cache = state.get_trace_cache(settings)
request: TraceRequest | None = url_request
fresh = False
if submitted:
    try:
        request = TraceRequest.build({kind: values}, direction, domains, settings)
    except (SeedError, LineageError) as exc:
        st.error(md_escape(exc))
        request = None
        st.stop()
    state.set_query_param("kind", kind)
    state.set_query_param("values", "\n".join(request.seeds[0][1]))
    state.set_query_param("direction", direction)
    state.set_query_param("domains", ",".join(request.domains))
    fresh = st.session_state.get("trace.last_key") == request.key  # "Trace" again: rerun

if request is None:
    st.info("Enter lots, wafer lots, work orders or serial numbers and press **Trace**. "
            f"Limits: {settings.seed_max_values:,} values, {settings.seed_max_patterns} "
            f"with wildcards, {settings.seed_max_matches:,} matched containers, "
            f"{settings.trace_max_depth} levels, {settings.trace_max_nodes:,} containers.")
    st.stop()


def _job_fn(req: TraceRequest) -> Task:
    # a Task, not a closure: with job_backend = rq it runs on a worker (no page cache there)
    return Task(run_trace, req, lanes=lanes, settings=settings, local={"cache": cache})


job = manager.by_key(request.key)
if job is None or fresh or (job.state in ("failed", "cancelled") and submitted):
    job = manager.submit(request.key, _job_fn(request), label=request.label, fresh=fresh)
st.session_state["trace.last_key"] = request.key

job_result(job, key="trace.job", settings=settings, what="The trace",
           again="Press **Trace** to run it again.")

result = job.result
spool: Spool = job.spool

# --- seeds and lineage -----------------------------------------------------------------------

lin = result.lineage
cols = st.columns(5)
_LINEAGE_KPIS = (("seed_containers", "seeds"), ("containers", "nodes"), ("edges", "edges"),
                 ("roots", "roots"), ("levels", "levels"))
for col, (key, field) in zip(cols, _LINEAGE_KPIS, strict=True):
    col.metric(glossary.label(key), f"{lin[field]:,}", help=glossary.help_text(key))
for seed in result.seeds.values():
    st.caption(f"{KINDS[seed.kind]}: {len(seed.matches):,} of {len(seed.values):,} values "
               f"matched {len(seed.container_ids):,} containers.")
    if seed.unmatched:
        shown = md_join(seed.unmatched[:50]) + (" …" if len(seed.unmatched) > 50 else "")
        st.warning(f"{len(seed.unmatched):,} value(s) matched nothing: {shown}")
if result.truncated:
    st.warning(f"The lineage was cut by {result.truncated}: containers beyond it are not "
               "shown and their events are not included. Narrow the seeds or raise the "
               "setting.", icon=":material/content_cut:")
measures_help("trace")


nodes, edges = lineage_frames(spool)
st.subheader("Lineage")
focus = st.text_input("Focus on a container (name or id)", key="trace.focus",
                      placeholder="e.g. GA26091001-A00-001")
focus_ids: set[str] = set()
if focus:
    hit = focus_matches(nodes, focus)
    if hit.empty:
        st.warning(f"No container named {md_escape(repr(focus))} in this lineage.")
    else:
        top_hits = hit.head(settings.focus_max_hits)
        focus_ids = set(top_hits["containerid"])
        st.dataframe(top_hits, hide_index=True, width="stretch")
        if len(hit) > len(top_hits):
            st.caption(f"The first {len(top_hits):,} of {len(hit):,} matches "
                       "(setting focus_max_hits): type more of the name to narrow it.")
shown, edges_shown = drawn_part(nodes, edges, focus_ids, settings.graph_max_nodes)
if len(shown) < len(nodes):
    st.info(f"The lineage has {len(nodes):,} containers; the graph draws {len(shown):,} "
            "(the shallowest, or three steps around the focused container; setting "
            "graph_max_nodes). Download the full graph below.")
pos = layered_positions(shown, edges_shown)
fig = go.Figure()
for ek, dash in EDGE_DASH.items():
    part = edges_shown[edges_shown["edge_kind"] == ek]
    if part.empty:
        continue
    xs: list[float | None] = []
    ys: list[float | None] = []
    for p, c in zip(part["parent_id"], part["child_id"], strict=True):
        xs += [pos[p][0], pos[c][0], None]
        ys += [pos[p][1], pos[c][1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{ek} edge",
                             line={"dash": dash, "width": 1, "color": "#999"},
                             hoverinfo="skip"))
for nk, colour in KIND_COLOURS.items():
    part = shown[shown["kind"] == nk]
    if part.empty:
        continue
    big = part["containerid"].isin(focus_ids) | part["is_seed"]
    fig.add_trace(go.Scatter(
        x=[pos[c][0] for c in part["containerid"]], y=[pos[c][1] for c in part["containerid"]],
        mode="markers+text" if len(shown) <= 60 else "markers", name=nk,
        text=plot_labels(part["containername"]), textposition="top center",
        marker={"color": colour, "size": [16 if b else 9 for b in big],
                "line": {"width": [3 if c in focus_ids else 0 for c in part["containerid"]],
                         "color": "black"}},
        customdata=list(zip(plot_labels(part["containerid"]), part["depth"], strict=True)),
        hovertemplate="%{text}<br>%{customdata[0]}<br>depth %{customdata[1]}<extra>"
                      + nk + "</extra>",
    ))
widest = widest_layer(pos)
fig.update_layout(height=max(400, min(1200, 16 * widest)),
                  xaxis={"title": "generation (ancestors left, descendants right)",
                         "zeroline": False, "dtick": 1},
                  yaxis={"visible": False}, legend={"orientation": "h", "y": 1.08},
                  margin={"l": 10, "r": 10, "t": 30, "b": 10})
st.plotly_chart(fig, width="stretch")
g1, g2, _ = st.columns([1, 1, 3])
g1.download_button("Download nodes (Parquet)", data=spool.file("nodes").read_bytes(),
                   file_name="lineage_nodes.parquet", on_click="ignore")
g2.download_button("Download edges (Parquet)", data=spool.file("edges").read_bytes(),
                   file_name="lineage_edges.parquet", on_click="ignore")

# --- per-lot timeline ------------------------------------------------------------------------

if "history" in result.domains and spool.has("history"):
    st.subheader("Timeline of one lot")
    completeness_banner(result.timeline_completeness(), "Timeline",
                        consequence="Lots, bars or marks of the missing rows are not drawn.")
    lots, n_lots = timeline_lots(spool, settings.timeline_max_lots, focus_ids)
    if lots.empty:
        st.caption("No history for these containers.")
    else:
        if n_lots > settings.timeline_max_lots:
            st.caption(f"The picker lists {settings.timeline_max_lots:,} of {n_lots:,} lots "
                       "with history (setting timeline_max_lots): focus a container above "
                       "to put it first.")
        name = st.selectbox("Lot", lots["containername"],
                            key=f"trace.timeline_lot.{focus}")  # a new focus picks anew
        lot_id = lots.loc[lots["containername"] == name, "containerid"].iloc[0]
        cap = settings.timeline_max_events
        hist = spool.page("history", 0, cap, "trackintimestamp",
                          {"containerid": [lot_id]}).to_pandas()
        if len(hist) == cap:
            st.caption(f"The timeline draws this lot's first {cap:,} history rows "
                       "(setting timeline_max_events); its History tab lists them all.")
        tl = go.Figure()
        hist["end"] = hist["trackouttimestamp"].fillna(pd.Timestamp.now())
        hist["step"] = plot_labels(
            hist["station_group"].fillna(hist["workcentername"]).astype(str))
        for r in hist.itertuples(index=False):
            tl.add_trace(go.Scatter(x=[r.trackintimestamp, r.end], y=[r.step, r.step],
                                    mode="lines", line={"width": 10}, showlegend=False,
                                    hovertext=plot_label(f"{r.specname} · "
                                                         f"{r.equipmentname or ''}")))
        for dom, col, label, symbol in (("holds", "holdtxndate", "hold", "x"),
                                         ("materials", "txndate", "material", "diamond")):
            if dom in result.domains and spool.has(dom):
                ev = spool.page(dom, 0, cap, col, {"containerid": [lot_id]}).to_pandas()
                if not ev.empty:
                    tl.add_trace(go.Scatter(
                        x=ev[col], y=plot_labels(ev["workcentername"].fillna("?").astype(str)),
                        mode="markers", name=label, marker={"symbol": symbol, "size": 11}))
        tl.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10})
        st.plotly_chart(tl, use_container_width=True)

# --- domains ---------------------------------------------------------------------------------

if result.domains:
    tabs = st.tabs([f"{DOMAINS[n].title} ({d.rows:,}{status_mark(d.completeness)})"
                    for n, d in result.domains.items()])
    for tab, (name, dres) in zip(tabs, result.domains.items(), strict=True):
        with tab:
            completeness_banner(
                dres.completeness, DOMAINS[name].title,
                complete=f"Complete: {dres.rows:,} rows"
                         + (" (from cache)" if dres.cached else "") + ".",
                consequence="Rows counted here leave out what is missing; run the trace "
                            "again." if dres.completeness["status"] == "partial" else "")
            try:
                paged_table(spool, name, key=f"trace.{name}", settings=settings,
                            order_by=["containerid", DOMAINS[name].time_column])
            except LaneError as exc:  # pragma: no cover - spool reads are local
                st.error(md_escape(exc))
