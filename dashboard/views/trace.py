"""Trace page: lots backward (ancestors) or forward (descendants) with their events.

Why thin: all work is core.trace's ``run_trace`` in a background job (shared per process
by dashboard.job_manager, identical requests share one job); this page only builds the
request from a form (lots, wafer lots, work orders, serials, or machines + a date range
whose lots are the seeds), shows stage progress with Cancel, then reads the job's spool:
seed matches, the lineage graph (dashboard.widgets.trace_figures; its nodes can be
selected, which scopes the event tables to them and their sub-lots), a timeline of
several lots, and a paged table per event domain with its completeness banner.

Everything a user sets is in the URL and restored from it (issue 19): the request
(``kind``, ``values``, ``start``, ``end``, ``direction``, ``domains``), the focused node
(``focus``), the selected nodes (``sel``, container ids), the timeline's lots (``tl``),
the domain shown (``tab``), each table's sort (``<domain>_sort``: a column, ``-`` first
for descending) and page (``<domain>_page``, ``<domain>_size``). Bad input and lane
errors are messages, never tracebacks.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from core import fmt, glossary, labels
from core import values as core_values
from core.db import LaneError
from core.i18n import _, ngettext
from core.jobs import Spool, SpoolError, Task
from core.stations import station_map
from core.text import md_escape, md_join
from core.trace import (
    DEFAULT_DOMAINS,
    DOMAINS,
    MACHINE,
    SEED_KINDS,
    LineageError,
    SeedError,
    TraceRequest,
    drawn_part,
    focus_matches,
    layered_positions,
    lineage_frames,
    run_trace,
    seed_lots,
    timeline_events,
    timeline_lots,
    widest_layer,
    with_descendants,
)
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets import tables
from dashboard.widgets.completeness import completeness_banner, status_mark
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.measures import measures_help
from dashboard.widgets.trace_figures import lineage_figure, timeline_figure

DOMAIN_TITLES = {"history": _("History"), "materials": _("Materials"),
                 "rejects": _("Rejects"), "holds": _("Hold history"), "jobs": _("Machine jobs")}
DIRECTIONS = {"backward": _("Backward trace"), "forward": _("Forward trace")}
VIEW_PARAMS = ("focus", "sel", "tl", "tab")
"""What a new trace resets: the view of the previous one (its nodes, lots, tab)."""

st.title(_("Trace"))
settings = state.get_settings()
lanes = state.get_lanes(settings)


def _ids_param(name: str) -> list[str]:
    return [v for v in (state.query_param(name) or "").split(",") if v]


def _set_ids_param(name: str, ids: list[str]) -> None:
    state.set_query_param(name, ",".join(ids) if ids else None)


# --- the request, from the URL or the form ---------------------------------------------------

def _from_url() -> TraceRequest | None:
    values = state.query_param("values")
    if not values:
        return None
    kind = state.query_param("kind", "lot") or "lot"
    domains = core_values.split(state.query_param("domains", ",".join(DEFAULT_DOMAINS)),
                                core_values.LABELS)
    window = ({"start": state.query_param("start"), "end": state.query_param("end")}
              if kind == MACHINE else {})
    return TraceRequest.build({kind: values}, state.query_param("direction", "backward") or
                              "backward", domains, settings, **window)


try:
    url_request = _from_url()
except (SeedError, LineageError) as exc:
    st.error(_("The link's trace is not valid: {problem}").format(problem=md_escape(exc)))
    url_request = None

kinds = list(SEED_KINDS)
url_kind = url_request.seeds[0][0] if url_request else state.query_param("kind", "lot")
if "trace.kind" not in st.session_state or (url_request is not None and not
                                            st.session_state.get("trace.kind_touched")):
    st.session_state["trace.kind"] = url_kind if url_kind in kinds else kinds[0]


def _kind_touched() -> None:  # the user's choice, until the next trace: the URL's kind
    st.session_state["trace.kind_touched"] = True


kind_slot, _rest = st.columns([1, 2])
kind = kind_slot.selectbox(_("Seed kind"), kinds, format_func=lambda k: _(SEED_KINDS[k]),
                           key="trace.kind", on_change=_kind_touched)
machine_kind = kind == MACHINE
with st.form("trace_form"):
    c1, c2 = st.columns([1, 3])
    direction = c1.radio(
        _("Direction"), list(DIRECTIONS), horizontal=True, format_func=DIRECTIONS.get,
        index=1 if url_request and url_request.direction == "forward" else 0,
        help=_("Backward: every ancestor (wafer, splits, merges, rework). Forward: every "
               "descendant, down to serial numbers."))
    seed_values = "\n".join(url_request.seeds[0][1]) if url_request else ""
    if machine_kind:
        values = c2.text_area(
            _("Machines"), value=seed_values, height=110,
            placeholder=_("Machine names as in the data, e.g. DB-003, one a line or "
                          "separated by commas or spaces."))
        d1, d2, _rest = st.columns([1, 1, 2])
        today = date.today()
        url_start = url_request.start if url_request and url_request.start else None
        url_end = url_request.end if url_request and url_request.end else None
        start = d1.date_input(_("Start date"),
                              value=date.fromisoformat(url_start) if url_start
                              else today - timedelta(days=6))
        end = d2.date_input(_("End date"),
                            value=date.fromisoformat(url_end) if url_end else today)
    else:
        values = c2.text_area(
            _("Values"), value=seed_values, height=110,
            placeholder=_("One a line, or separated by commas or spaces. * or % any run, "
                          "_ one character, \\ makes the next character literal."))
        start = end = None
    domains = st.multiselect(_("Events"), list(DOMAINS), format_func=DOMAIN_TITLES.get,
                             default=list(url_request.domains if url_request
                                          else DEFAULT_DOMAINS))
    submitted = st.form_submit_button(_("Trace"), type="primary",
                                      icon=":material/account_tree:")
if machine_kind:
    st.caption(_("Seeds: the lots that ran on these machines in the date range (the end "
                 "day included). Limits: ranges up to {days:,} days (setting "
                 "contain_max_days), {lots:,} lots (setting contain_max_lots).").format(
        days=settings.contain_max_days, lots=settings.contain_max_lots))

manager = get_job_manager(settings)
cache = state.get_trace_cache(settings)
request: TraceRequest | None = url_request
fresh = False
if submitted:
    try:
        request = TraceRequest.build({kind: values}, direction, domains, settings,
                                     **({"start": start, "end": end} if machine_kind
                                        else {}))
    except (SeedError, LineageError) as exc:
        st.error(md_escape(exc))
        request = None
        st.stop()
    st.session_state["trace.kind_touched"] = False
    state.set_query_param("kind", kind)
    state.set_query_param("values", "\n".join(request.seeds[0][1]))
    state.set_query_param("start", request.start)
    state.set_query_param("end", request.end)
    state.set_query_param("direction", direction)
    state.set_query_param("domains", ",".join(request.domains))
    if request != url_request:  # a new trace: the previous one's view goes
        for name in VIEW_PARAMS:
            state.set_query_param(name, None)
        for key in ("trace.focus", "trace.sel", "trace.tl"):
            st.session_state.pop(key, None)
    fresh = st.session_state.get("trace.last_key") == request.key  # "Trace" again: rerun

if request is None:
    st.info(_("Enter lots, wafer lots, work orders, serial numbers or machines and press "
              "**Trace**. Limits: {values} values, {patterns} with wildcards, {matches} "
              "matched containers, {depth} levels, {nodes} containers.").format(
        values=fmt.count(settings.seed_max_values),
        patterns=fmt.count(settings.seed_max_patterns),
        matches=fmt.count(settings.seed_max_matches),
        depth=fmt.count(settings.trace_max_depth), nodes=fmt.count(settings.trace_max_nodes)))
    st.stop()


def _job_fn(req: TraceRequest) -> Task:
    # a Task, not a closure: with job_backend = rq it runs on a worker (no page cache there)
    return Task(run_trace, req, lanes=lanes, settings=settings, local={"cache": cache})


job = manager.by_key(request.key)
if job is None or fresh or (job.state in ("failed", "cancelled") and submitted):
    job = manager.submit(request.key, _job_fn(request), label=request.label,
                         label_args=request.label_args, fresh=fresh)
st.session_state["trace.last_key"] = request.key

job_result(job, key="trace.job", settings=settings, what=_("The trace"),
           again=_("Press **Trace** to run it again."))

result = job.result
spool: Spool = job.spool

# --- seeds and lineage -----------------------------------------------------------------------

lin = result.lineage
_LINEAGE_KPIS = (("seed_containers", "seeds"), ("containers", "nodes"), ("edges", "edges"),
                 ("roots", "roots"), ("levels", "levels"))
with st.container(horizontal=True, gap="medium"):  # wraps on a narrow screen, never cut
    for key, field in _LINEAGE_KPIS:
        st.metric(glossary.label(key), fmt.count(lin[field]), help=glossary.help_text(key),
                  width=150)
for seed in result.seeds.values():
    st.caption(_("{kind}: {matched} of {values} values matched {containers} containers.")
               .format(kind=_(SEED_KINDS[seed.kind]), matched=fmt.count(len(seed.matches)),
                       values=fmt.count(len(seed.values)),
                       containers=fmt.count(len(seed.container_ids))))
    if seed.unmatched:
        shown = md_join(seed.unmatched[:50]) + (" …" if len(seed.unmatched) > 50 else "")
        what = (_("{n} machine(s) ran no lot in the range: {names}") if seed.kind == MACHINE
                else _("{n} value(s) matched nothing: {names}"))
        st.warning(what.format(n=fmt.count(len(seed.unmatched)), names=shown))
if request.start:
    lots_seeded, seed_cut = seed_lots(spool)
    if seed_cut:
        st.warning(_("The seed lots were cut by {bound}: lots beyond it are not traced. "
                     "Narrow the machines or the date range.").format(bound=seed_cut),
                   icon=":material/content_cut:")
    with st.expander(_("Seed lots: {n} lots ran on {machines} from {range}").format(
            n=fmt.count(len(lots_seeded)), machines=md_join(request.seeds[0][1]),
            range=fmt.date_range(date.fromisoformat(request.start),
                                 date.fromisoformat(request.end or request.start)))):
        tables.show(lots_seeded, key="trace.seed_lots")
if result.truncated:
    st.warning(_("The lineage was cut by {bound}: containers beyond it are not shown and "
                 "their events are not included. Narrow the seeds or raise the setting.")
               .format(bound=result.truncated), icon=":material/content_cut:")
measures_help("trace")


nodes, edges = lineage_frames(spool)
known_ids = set(nodes["containerid"])
names_of = dict(zip(nodes["containerid"], nodes["containername"].fillna(""), strict=True))
st.subheader(_("Lineage"))


def _url_text(param: str, key: str) -> None:
    """A text widget's value from the URL on a fresh session; written back on change."""
    if key not in st.session_state:
        st.session_state[key] = state.query_param(param) or ""


def _focus_changed() -> None:
    state.set_query_param("focus", st.session_state.get("trace.focus") or None)


_url_text("focus", "trace.focus")
focus = st.text_input(_("Focus on a container (name or id)"), key="trace.focus",
                      placeholder=_("e.g. GA26091001-A00-001"), on_change=_focus_changed)
focus_ids: set[str] = set()
if focus:
    hit = focus_matches(nodes, focus)
    if hit.empty:
        st.warning(_("No container named {name} in this lineage.").format(
            name=md_escape(repr(focus))))
    else:
        top_hits = hit.head(settings.focus_max_hits)
        focus_ids = set(top_hits["containerid"])
        tables.show(top_hits, key="trace.focus_hits")
        if len(hit) > len(top_hits):
            st.caption(_("The first {shown} of {n} matches (setting focus_max_hits): type "
                         "more of the name to narrow it.").format(
                shown=fmt.count(len(top_hits)), n=fmt.count(len(hit))))

# Selected nodes: the URL's ``sel`` (ids of this lineage), the multiselect, the graph.
selected = [c for c in _ids_param("sel") if c in known_ids]
shown, edges_shown = drawn_part(nodes, edges, focus_ids | set(selected),
                                settings.graph_max_nodes)
if len(shown) < len(nodes):
    st.info(_("The lineage has {n} containers; the graph draws {shown} (the shallowest, or "
              "three steps around the focused and selected containers; setting "
              "graph_max_nodes). Download the full graph below.").format(
        n=fmt.count(len(nodes)), shown=fmt.count(len(shown))))
options = list(dict.fromkeys([*selected, *shown["containerid"]]))
st.session_state["trace.sel"] = selected
graph_key = f"trace.graph.{st.session_state.get('trace.graph_n', 0)}"


def _selection_changed() -> None:
    _set_ids_param("sel", list(st.session_state.get("trace.sel") or []))
    state.set_query_param("tl", None)  # the timeline follows the selection


def _graph_selected() -> None:
    event = st.session_state.get(graph_key)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    ids = [p["customdata"][0] for p in points
           if isinstance(p.get("customdata"), list) and p["customdata"]
           and p["customdata"][0] in known_ids]
    if ids:
        _set_ids_param("sel", list(dict.fromkeys(ids)))
        state.set_query_param("tl", None)


def _clear_selection() -> None:
    state.set_query_param("sel", None)
    state.set_query_param("tl", None)
    st.session_state["trace.graph_n"] = st.session_state.get("trace.graph_n", 0) + 1


st.multiselect(_("Selected containers"), options, key="trace.sel",
               format_func=lambda c: names_of.get(c) or c, on_change=_selection_changed,
               placeholder=_("Click, box- or lasso-select nodes in the graph, or pick here"),
               help=_("The event tables below show the selected containers and their "
                      "sub-lots (every container below them in the lineage)."))
pos = layered_positions(shown, edges_shown)
fig = lineage_figure(shown, edges_shown, pos, focus=focus_ids, selected=selected,
                     widest=widest_layer(pos))
st.plotly_chart(fig, width="stretch", key=graph_key, on_select=_graph_selected,
                selection_mode=("points", "box", "lasso"))
scope: list[str] | None = None
if selected:
    scope = with_descendants(edges, selected)
    line = st.container(horizontal=True, vertical_alignment="center")
    line.markdown(ngettext("Showing {n} selected lot and its {m} sub-lots in the tables below.",
                         "Showing {n} selected lots and their {m} sub-lots in the tables "
                         "below.", len(selected))
                .format(n=fmt.count(len(selected)), m=fmt.count(len(scope) - len(selected))),
                  width="content")
    line.button(_("Clear selection"), key="trace.clear_sel", on_click=_clear_selection,
                icon=":material/deselect:")
downloads = st.container(horizontal=True)
downloads.download_button(_("Download nodes (Parquet)"), data=spool.file("nodes").read_bytes(),
                   file_name="lineage_nodes.parquet", on_click="ignore")
downloads.download_button(_("Download edges (Parquet)"), data=spool.file("edges").read_bytes(),
                   file_name="lineage_edges.parquet", on_click="ignore")

# --- timeline of several lots ----------------------------------------------------------------

if "history" in result.domains and spool.has("history"):
    st.subheader(_("Timeline"))
    completeness_banner(result.timeline_completeness(), _("Timeline"),
                        consequence=_("Lots, bars or marks of the missing rows are not "
                                      "drawn."))
    first = [*focus_ids, *selected]
    lots, n_lots = timeline_lots(spool, settings.timeline_max_lots, first)
    if lots.empty:
        st.caption(_("No history for these containers."))
    else:
        if n_lots > settings.timeline_max_lots:
            st.caption(_("The picker lists {shown} of {n} lots with history (setting "
                         "timeline_max_lots): focus or select a container above to put it "
                         "first.").format(shown=fmt.count(settings.timeline_max_lots),
                                          n=fmt.count(n_lots)))
        lot_options = list(lots["containerid"])
        most = settings.timeline_max_shown
        wanted = [c for c in _ids_param("tl") if c in lot_options]
        if not wanted:
            wanted = ([c for c in selected if c in lot_options]
                      or [c for c in sorted(focus_ids) if c in lot_options]
                      or lot_options[:1])
        st.session_state["trace.tl"] = wanted[:most]

        def _lots_changed() -> None:
            _set_ids_param("tl", list(st.session_state.get("trace.tl") or []))

        picked = st.multiselect(
            _("Lots on the timeline"), lot_options, key="trace.tl", max_selections=most,
            format_func=lambda c: names_of.get(c) or c, on_change=_lots_changed,
            help=_("At most {n} lots at once (setting timeline_max_shown); the selected "
                   "containers are drawn by default.").format(n=fmt.count(most)))
        if picked:
            cap = settings.timeline_max_events
            events, capped = timeline_events(spool, picked, cap,
                                             station_map(lanes, settings))
            if capped:
                st.caption(_("The timeline draws each lot's first {n} history, material and "
                             "hold rows (setting timeline_max_events); the tables below list "
                             "them all.").format(n=fmt.count(cap)))
            if events.empty:
                st.caption(_("No events for these lots."))
            else:
                tl = timeline_figure(events, {c: names_of.get(c) or c for c in picked},
                                     no_group=_("(no station group)"))
                st.plotly_chart(tl, width="stretch", key="trace.timeline")

# --- domains ---------------------------------------------------------------------------------


def _domain_table(name: str, scope: list[str] | None) -> None:
    """One domain as a filtered, sorted, paged table with downloads: sort and page in the
    URL; ``scope`` (container ids) keeps the rows of those containers only."""
    try:
        columns = spool.columns(name)
    except SpoolError as exc:
        st.info(md_escape(exc))
        return
    sort_param = f"{name}_sort"
    raw_sort = state.query_param(sort_param) or ""
    sort_col = raw_sort.lstrip("-")
    default_col = DOMAINS[name].time_column
    if sort_col not in columns:
        sort_col = default_col if default_col in columns else columns[0]
    descending = raw_sort.startswith("-")
    st.session_state[f"trace.{name}.sort"] = sort_col
    st.session_state[f"trace.{name}.desc"] = descending

    def sort_changed() -> None:
        col = st.session_state.get(f"trace.{name}.sort") or default_col
        desc = bool(st.session_state.get(f"trace.{name}.desc"))
        value = ("-" if desc else "") + col
        state.set_query_param(sort_param, None if value == default_col else value)
        state.set_query_param(f"{name}_page", None)

    # rows of controls that wrap on a narrow screen instead of cutting their labels
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    controls.selectbox(_("Sort by"), columns, key=f"trace.{name}.sort",
                       format_func=labels.label, on_change=sort_changed, width=210)
    controls.toggle(_("Descending"), key=f"trace.{name}.desc", on_change=sort_changed)
    column = controls.selectbox(_("Filter column"), ["", *columns], key=f"trace.{name}.fcol",
                                format_func=lambda c: labels.label(c) if c else _("(none)"),
                                width=210)
    text = controls.text_input(_("contains"), key=f"trace.{name}.ftext",
                               placeholder=_("text, any case"), width=210)
    pager = st.container(horizontal=True, vertical_alignment="bottom", width=440)
    filters: dict[str, Any] = {}
    if scope is not None:
        filters["containerid"] = scope
    if column and text:
        if column == "containerid" and scope is not None:
            filters["containerid"] = [c for c in scope if text.lower() in c.lower()] or [""]
        else:
            filters[column] = text
    order = [(sort_col, "desc" if descending else "asc"), "containerid"]

    def fetch(offset: int, size: int) -> tuple[Any, int]:
        return (spool.page(name, offset=offset, limit=size, order_by=order,
                           filters=filters or None), spool.count(name, filters or None))

    try:
        table, _page = tables.paged(fetch, key=f"trace.{name}", param=f"{name}_page",
                                    settings=settings, slots=(pager, pager),
                                    label=_("Page (of {pages:,}; {total:,} rows)"))
    except SpoolError as exc:
        st.warning(md_escape(exc))
        return
    tables.show(table, key=f"trace.{name}.table")
    raw = settings.csv_headers == "names"
    files = st.container(horizontal=True)
    files.download_button(_("Download Parquet (all rows)"),
                       data=lambda: Path(spool.export(name, "parquet", filters or None))
                       .read_bytes(),
                       file_name=f"{name}.parquet", mime="application/octet-stream",
                       key=f"trace.{name}.dl_parquet", on_click="ignore")
    files.download_button(_("Download CSV (all rows)"),
                       data=lambda: Path(spool.export(name, "csv", filters or None,
                                                      raw_headers=raw)).read_bytes(),
                       file_name=f"{name}.csv", mime="text/csv",
                       key=f"trace.{name}.dl_csv", on_click="ignore")


if result.domains:
    st.subheader(_("Events"))
    names = list(result.domains)
    url_tab = state.query_param("tab")
    st.session_state["trace.tab"] = url_tab if url_tab in names else names[0]

    def _tab_changed() -> None:
        tab = st.session_state.get("trace.tab")
        state.set_query_param("tab", None if tab == names[0] else tab)

    def _tab_label(n: str) -> str:
        d = result.domains[n]
        return f"{DOMAIN_TITLES[n]} ({fmt.count(d.rows)}{status_mark(d.completeness)})"

    name = st.radio(_("Events"), names, key="trace.tab", horizontal=True,
                    format_func=_tab_label, on_change=_tab_changed,
                    label_visibility="collapsed")
    dres = result.domains[name]
    completeness_banner(
        dres.completeness, DOMAIN_TITLES[name],
        complete=(_("Complete: {n} rows (from cache).") if dres.cached
                  else _("Complete: {n} rows.")).format(n=fmt.count(dres.rows)),
        consequence=_("Rows counted here leave out what is missing; run the trace again.")
        if dres.completeness["status"] == "partial" else "")
    if scope is not None:
        st.caption(ngettext("Rows of the {n} selected container and its sub-lots.",
                            "Rows of the {n} selected containers and their sub-lots.",
                            len(selected)).format(n=fmt.count(len(selected))))
    try:
        _domain_table(name, scope)
    except LaneError as exc:  # pragma: no cover - spool reads are local
        st.error(md_escape(exc))
