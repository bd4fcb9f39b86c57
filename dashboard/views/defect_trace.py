"""Defect trace page: which upstream machines, materials and wafer lots go with the
defects found at a detection station (backward), or what happened later to the
defective lots (forward).

The page only gathers input (kept in the URL, so a link reopens the analysis), starts
the analysis as a background job (core.defects._defect_job on the slow lane), shows its stages
with a Cancel button, then the results: KPI cards, paretos sortable by defects, rate or
lift, a machine's maintenance jobs, the daily trend, the paged lot detail, CSV downloads
of every table and the analysis summary in plain words.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from core import dates as core_dates
from core import glossary
from core import values as core_values
from core.defects import (
    LIFT_UNBOUNDED,
    WINDOW_RULE,
    DefectInputError,
    DefectRequest,
    DefectResult,
    ResultExpired,
    containment_params,
    describe_suspect,
    lot_pages_cacheable,
    machine_facets,
    machine_jobs,
    only_machines,
    pareto,
    ranked,
    run_defect_analysis,
    suggest_period,
    window_between,
)
from core.defects import reasons_seen as core_reasons_seen
from core.errors import InputError
from core.export import csv_bytes
from core.jobs import Task
from core.stations import station_map
from core.text import md_escape, md_join
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.charts import interval_figure, pareto_figure, trend_figure, window_figure
from dashboard.widgets.completeness import completeness_banner, status_mark
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged

KIND_TABS = (("machine", "Machines"), ("material", "Materials"), ("wafer", "Wafer lots"),
             ("detection_machine", "Detection machines"))
SORTS = {"Evidence": "evidence", "Defects": "defects", "Defect rate": "rate", "Lift": "lift"}
SORT_HELP = ("Evidence: suspects first, by q (Fisher p adjusted for the factors tested), then "
             "the lift's 95 % low end. Defects and defect rate favour factors many lots "
             "pass; lift compares each factor's lots with the rest.")

settings = state.get_settings()
lanes = state.lanes_or_none(settings)
st.title("Defect trace")
st.caption(
    "Attribute defects found at a detection station to upstream machines, materials and "
    "wafer lots (backward), or follow the defective lots to later stations (forward)."
)
if lanes is None:
    st.stop()


@st.cache_data(ttl=settings.cache_ttl_s, show_spinner=False)
def reasons_seen(db_key: str, days: int) -> list[str]:  # db_key: part of the cache key
    return core_reasons_seen(lanes, days)


@st.cache_data(ttl=settings.cache_ttl_s, show_spinner=False)
def station_groups(db_key: str) -> list[str]:  # db_key: part of the cache key
    return [g for g, _ in station_map(lanes, settings).groups()]


def fmt_lift(v: Any, note: Any) -> str:
    """Lift as text: ∞ when unbounded, – when undefined (null in the data either way)."""
    if note == LIFT_UNBOUNDED:
        return "∞"
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.2f}"


def metric(col: Any, key: str, value: str, help_extra: str = "") -> None:
    """A KPI card labelled and explained by core.glossary."""
    col.metric(glossary.label(key), value,
               help=glossary.help_text(key) + (f" {help_extra}" if help_extra else ""))


# --- input (state in the URL) ------------------------------------------------------------------
db_key = repr((settings.effective_db_url, settings.schema))
with state.guarded("Loading the station list"):
    groups = station_groups(db_key)
reasons_all: list[str] = []
with state.guarded("Loading the loss reasons"):
    reasons_all = reasons_seen(db_key, settings.defect_reason_lookback_days)

yesterday = dt.date.today() - dt.timedelta(days=1)
q_station = state.query_param("station", settings.defect_default_station)
q_start = state.query_param("start", str(yesterday - dt.timedelta(days=29)))
q_end = state.query_param("end", str(yesterday))
q_direction = state.query_param("direction", "backward")
q_reasons = state.query_param_list("reason")
q_types = state.query_param("types", "")
q_seed_kind = state.query_param("seed_kind", "lot")
q_seeds = state.query_param_list("seed")
q_use_range = state.query_param("use_range") == "1"
q_packages = state.query_param("packages", "")


def _date(text: str | None, fallback: dt.date) -> dt.date:
    try:  # a malformed or out-of-window date is reported when the request is built
        return core_dates.parse_day(text, "", settings=settings) or fallback
    except InputError:
        return fallback


with st.form("defect_input"):
    c1, c2, c3 = st.columns([1, 2, 1])
    station_options = groups or [q_station or "TMTT"]
    station = c1.selectbox(
        "Detection station", station_options,
        index=station_options.index(q_station) if q_station in station_options else 0,
    )
    dates = c2.date_input(
        f"Detection date range (at most {settings.defect_max_days} days)",
        value=(_date(q_start, yesterday - dt.timedelta(days=29)), _date(q_end, yesterday)),
    )
    direction = c3.radio("Direction", ["backward", "forward"], horizontal=True,
                         index=1 if q_direction == "forward" else 0)
    reasons = st.multiselect(
        f"Loss reasons (seen in the last {settings.defect_reason_lookback_days} days; none "
        "selected = all)", reasons_all, default=[r for r in q_reasons if r in reasons_all],
    )
    c4, c5 = st.columns(2)
    types = c4.text_input("Product types (comma-separated, optional)", q_types)
    packages = c5.text_input("Packages (comma-separated, optional)", q_packages)
    with st.expander("Or start from a list of lots, work orders or wafer lots",
                     expanded=bool(q_seeds)):
        kinds = {"lot": "Lots", "work_order": "Work orders", "wafer_lot": "Wafer lots"}
        seed_kind = st.radio("List of", list(kinds), format_func=kinds.get, horizontal=True,
                             index=list(kinds).index(q_seed_kind) if q_seed_kind in kinds
                             else 0)
        seed_text = st.text_area("One value a line, or separated by commas or spaces "
                                 "(* % _ wildcards, \\ escapes); each listed lot's latest "
                                 "pass at the station is a seed",
                                 "\n".join(q_seeds))
        use_range = st.checkbox("Also restrict to the date range above", q_use_range)
    submitted = st.form_submit_button("Run defect trace", type="primary")

if submitted:
    start, end = (dates if isinstance(dates, tuple) and len(dates) == 2
                  else (dates[0], dates[0]) if dates else (None, None))
    state.set_query_param("station", station)
    state.set_query_param("start", str(start) if start else None)
    state.set_query_param("end", str(end) if end else None)
    state.set_query_param("direction", direction)
    state.set_query_param("reason", list(reasons))
    state.set_query_param("types", types.strip())
    state.set_query_param("packages", packages.strip())
    seeds_list = core_values.split(seed_text, core_values.NAMES)
    state.set_query_param("seed", seeds_list)
    state.set_query_param("seed_kind", seed_kind if seeds_list else None)
    state.set_query_param("use_range", "1" if seeds_list and use_range else None)
    state.set_query_param("run", "1")
    st.rerun()

if state.query_param("run") != "1":
    st.info("Choose a station and a date range, then **Run defect trace**. The analysis "
            "runs in the background on the slow lane; live widgets are not affected.")
    st.stop()

try:
    list_only = bool(q_seeds) and not q_use_range
    request = DefectRequest.build(
        settings, station=q_station, start="" if list_only else q_start or "",
        end="" if list_only else q_end or "", seed_kind=q_seed_kind or "", seed_values=q_seeds,
        reasons=[core_values.escape(r) for r in q_reasons],  # picked, exact
        types=q_types or "", packages=q_packages or "",
        direction=q_direction or "backward",
        known_stations=groups or None,
    )
except DefectInputError as exc:
    st.error(md_escape(exc))
    st.stop()

manager = get_job_manager(settings)
task = Task(run_defect_analysis, request, lanes=lanes, settings=settings)
job = manager.submit(request.key(), task,
                     label=f"Defect trace {request.station} {request.range_label}")


# --- progress ---------------------------------------------------------------------------------
result: DefectResult = job_result(
    job, key="defects", settings=settings, what="The defect trace",
    again="Press **Run again** to restart it.",
    retry=lambda: manager.submit(request.key(), task, label=job.label, fresh=True),
)
file_range = f"{request.start}_{request.end}" if request.start else "list"
# the analysis' record is derived from its inputs' (it names them and says why)
completeness_banner(result.completeness.get("analysis"), "Analysis",
                    consequence="What is built on the incomplete inputs (the tabs marked so) "
                                "leaves out what is missing: run it again.")

k = result.kpis


def compact(n: int) -> str:
    return f"{n / 1e6:.1f} M" if abs(n) >= 10_000_000 else f"{n:,}"


backward = request.direction == "backward"
cols = st.columns(5)
metric(cols[0], "detection_lots", f"{k['detection_lots']:,}")
metric(cols[1], "defective_lots", f"{k['defective_lots']:,}")
metric(cols[2], "detection_input", compact(k["detection_input"]),
       f"({k['detection_input']:,} pcs)")
metric(cols[3], "detection_defect_rate_pct", f"{k['detection_defect_rate_pct']:.3f} %")
if backward:
    metric(cols[4], "affected_machines", f"{k.get('affected_machines', 0):,}")
else:
    metric(cols[4], "defective_input", compact(k.get("defective_input", 0)))
cols = st.columns(5)
metric(cols[0], "detection_defects", compact(k["detection_defects"]),
       f"({k['detection_defects']:,} pcs = {k['detection_charged']:,} charged + "
       f"{k['detection_uncharged']:,} uncharged)")
metric(cols[1], "detection_charged", compact(k["detection_charged"]))
metric(cols[2], "detection_uncharged", compact(k["detection_uncharged"]))
if backward:
    top_reason = k.get("top_reason") or "–"
    metric(cols[3], "top_reason", md_escape(top_reason.split("_", 1)[0]),
           f"({md_escape(top_reason)})")
else:
    metric(cols[3], "downstream_rejects", compact(k.get("downstream_rejects", 0)))
    metric(cols[4], "downstream_uncharged", compact(k.get("downstream_uncharged", 0)))
if k.get("unattributed_rows"):
    st.warning(f"**{k['unattributed_rows']:,} event rows not attributed**: "
               + glossary.help_text("unattributed_rows"))
# a KPI built on an incomplete input says so beside the row (its label stays the measure's)
for part in (("affected_machines",) if result.backward is not None
             else ("downstream_rejects",)):
    if status_mark(result.completeness_of(part)):
        record = result.completeness_of(part)
        st.caption(f":material/report: {glossary.label(part)}: {record['status']}, "
                   f"{md_escape(record['reason'])}.")

if result.unmatched:
    st.warning(f"{len(result.unmatched)} listed value(s) matched no container: "
               + md_join(result.unmatched[:20]) + (" …" if len(result.unmatched) > 20 else ""))
if k["detection_lots"] == 0:
    st.info(f"No lot passed {md_escape(request.station)} ({md_escape(request.range_label)}).")
    st.markdown(result.summary)
    st.stop()


# What a pareto's bars show, by the table's sort: the measure and its scale.
BAR_MEASURES = {"defects": ("detection_defects", 1), "rate": ("rate_exposed_pct", 100),
                "rejects": ("downstream_rejects", 1)}


def pareto_chart(table: pa.Table, title: str, value: str = "defects",
                 line_name: str = "Cumulative %") -> go.Figure:
    df = table.to_pandas()
    key, scale = BAR_MEASURES[value]
    return pareto_figure(df["factor"], df[value] * scale, df.get("cumulative_pct"),
                         bar_name=glossary.label(key), line_name=line_name, title=title,
                         height=380)


@st.cache_data(show_spinner=False, ttl=settings.job_ttl_s,
               max_entries=settings.page_cache_entries)
def _cached_lot_page(job_id: str, page: int, size: int, _back: Any) -> pa.Table:
    return _back.lot_detail((page - 1) * size, size)


def _lot_page(job_id: str, page: int, size: int, back: Any) -> pa.Table:
    """One page of a finished job's lot detail, built from its spool; cached when
    core.defects._lookups.lot_pages_cacheable says it may be."""
    if lot_pages_cacheable(back, settings):
        return _cached_lot_page(job_id, page, size, back)
    return back.lot_detail((page - 1) * size, size)


def lift_chart(table: pa.Table, title: str) -> go.Figure:
    """Lift with its 95 % interval, in the table's order (what the table is sorted by)."""
    rows = [r for r in table.to_pylist() if r.get("lift") is not None][:10]
    fig = interval_figure(
        [r["factor"] for r in rows], [r["lift"] for r in rows],
        [r.get("lift_low") for r in rows], [r.get("lift_high") for r in rows],
        x_title=glossary.label("lift"),
        text=[f"q {r['q_value']:.2g}" if r.get("q_value") is not None else "not tested"
              for r in rows])
    fig.update_layout(title=title, margin={"t": 40, "b": 10, "l": 10})
    return fig


def suspects_tab(back: Any, total_lots: int) -> None:
    """The ranked suspects across every factor kind: cards in plain words for the first
    three, their lifts with intervals, and the table (CSV)."""
    tops = back.suspects(20)
    tested = int(pc.sum(back.factors["tested"]).as_py() or 0)
    st.caption(
        f"Factors of every kind (machines, material lots, wafer lots, detection machines) "
        f"with at least {settings.suspect_min_lots:,} lots and some lots that did not pass "
        f"them are tested ({tested:,} of {back.factors.num_rows:,}); a suspect's lots fail "
        "more often than the rest (lift > 1). Ranked by q, the Fisher p adjusted for the "
        "number of factors tested (Benjamini-Hochberg), then by the lift's 95 % low end. "
        "Correlation, not proof: check the machine's maintenance jobs and the lots.")
    if not tops:
        st.info(f"No tested factor's lots fail more than the rest. Factors with fewer than "
                f"{settings.suspect_min_lots:,} lots are not tested (setting "
                "suspect_min_lots); the tabs list every factor.")
        return
    for i, sus in enumerate(tops[:3], start=1):
        with st.container(border=True):
            kind = dict(KIND_TABS).get(sus["kind"], sus["kind"])
            st.markdown(f"**#{i} · {md_escape(kind)}** · "
                        + md_escape(describe_suspect(sus, total_lots)))
            params = containment_params(sus, request.start, request.end)
            if params and st.button("Contain: lots, descendants, serials, where now",
                                    key=f"contain_{i}", icon=":material/shield:"):
                st.switch_page("views/containment.py", query_params=params)
    table = pa.Table.from_pylist(tops)
    st.plotly_chart(lift_chart(table.rename_columns(
        [c if c != "kind" else "factor_kind" for c in table.column_names]),
        "Suspects: lift with its 95 % interval"), key="chart_suspects")
    df = table.to_pandas()
    shown = df.assign(rate=df["rate"] * 100, rate_unexposed=df["rate_unexposed"] * 100,
                      kind=[dict(KIND_TABS).get(k, k) for k in df["kind"]],
                      detail=df["detail"].fillna(""))
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "kind": "Kind", "factor": "Factor", "detail": "Detail",
        "lots": st.column_config.NumberColumn(glossary.label("exposed_lots"),
                                              format="localized"),
        **{c: st.column_config.NumberColumn(glossary.label(key), format=fmt,
                                            help=glossary.help_text(key))
           for c, key, fmt in (("rate", "rate_exposed_pct", "%.3f"),
                               ("rate_unexposed", "rate_unexposed_pct", "%.3f"),
                               ("lift", "lift", "%.2f"), ("lift_low", "lift_low", "%.2f"),
                               ("lift_high", "lift_high", "%.2f"),
                               ("p_value", "p_value", "%.2g"),
                               ("q_value", "q_value", "%.2g"))}})
    st.download_button("Download suspects (CSV)", lambda d=table: csv_bytes(d),
                       f"defects_suspects_{file_range}.csv", "text/csv", key="dl_suspects")
    window_section(back, [t for t in tops if t["kind"] in ("machine", "material")])


def window_section(back: Any, timed: list[dict[str, Any]]) -> None:
    """Since when: one suspect's defect rate per day or week (by when its lots passed it),
    its maintenance jobs on the same axis, and the window where it stands above the
    lots that never passed it, which the engineer can move before containing."""
    if not timed:
        return
    st.subheader("Suspect window: since when?")
    names = [t["factor"] for t in timed]
    q_pick = state.query_param("window_of")
    pick = st.selectbox("Suspect", names, key="window_of",
                        index=names.index(q_pick) if q_pick in names else 0,
                        format_func=lambda f: f.rpartition(" / ")[2] + f"  ({f})")
    state.set_query_param("window_of", pick if pick != names[0] else None)
    sus = next(t for t in timed if t["factor"] == pick)
    factor_timeline(back, sus, "window", back.exposed_lots(sus["kind"], pick),
                    _jobs_of(sus))


def _jobs_of(sus: dict[str, Any]) -> pa.Table | None:
    """A machine suspect's maintenance jobs in the analysis' window (one query), else None."""
    if sus["kind"] != "machine":
        return None
    with state.guarded("Loading maintenance jobs"):
        return machine_jobs(lanes, sus["factor"].rpartition(" / ")[2], request.end, settings)
    return None


def factor_timeline(back: Any, sus: dict[str, Any], prefix: str, lots: Any,
                    jobs: pa.Table | None) -> None:
    """One factor's defect rate per day or week (by when its lots passed it), its
    maintenance jobs on the same axis (machines), and the window where it stands above the
    lots that never passed it, movable, with its lots one click from containment."""
    pick = sus["factor"]
    suggested = suggest_period(lots)
    q_period = state.query_param(f"{prefix}_period")
    period = st.radio("Period", ["day", "week"], horizontal=True,
                      key=f"{prefix}_period_{pick}",
                      index=["day", "week"].index(q_period if q_period in ("day", "week")
                                                  else suggested),
                      help="Week when most days carry too few of the lots to judge.")
    state.set_query_param(f"{prefix}_period", period if period != suggested else None)
    rates, found = back.suspect_window(sus["kind"], pick, period=period, lots=lots)
    if rates.empty:
        st.info("No time is known for this factor's lots.")
        return
    first, last = rates["period"].iloc[0], rates["period"].iloc[-1]
    marks = [(r["createdate"].date(), r["jobmodelname"] or r["jobordername"] or "job")
             for r in (jobs.to_pylist() if jobs is not None else [])
             if r["createdate"] is not None and first <= r["createdate"].date() <= last]
    axis = list(rates["period"])
    last_day = axis[-1] + dt.timedelta(days=6 if period == "week" else 0)
    default = (found.start, found.end) if found.found else (axis[0], last_day)
    lo, hi = st.slider("Window (move its ends if you know better)", min_value=axis[0],
                       max_value=last_day, value=(default[0], min(default[1], last_day)),
                       key=f"{prefix}_range_{pick}_{period}", format="YYYY-MM-DD")
    chosen = window_between(rates, lo, hi, period=period)
    st.plotly_chart(window_figure(
        rates, baseline_pct=(sus["rate_unexposed"] or 0.0) * 100,
        window=(lo, hi), marks=marks, y_title=glossary.label("rate_exposed_pct")),
        key=f"chart_{prefix}")
    st.caption(WINDOW_RULE + (f" Blue dashed lines: the machine's {len(marks)} maintenance "
                              "jobs in the range." if marks else ""))
    if found.found:
        st.markdown(md_escape(
            f"Elevated from {found.start} to {found.end}: {found.lots:,} lots, defect rate "
            f"{found.rate * 100:.2f} % vs {found.baseline * 100:.2f} % for the lots that "
            "never passed it."))
    else:
        st.markdown("No run of elevated periods: these lots do not stand above the rest in "
                    "any stretch of the range.")
    st.markdown(md_escape(
        f"Chosen window {chosen.start} to {chosen.end}: {chosen.lots:,} lots, defect rate "
        f"{chosen.rate * 100:.2f} %.") if chosen.found else "The chosen window has no lots.")
    params = containment_params(sus, chosen.start, chosen.end)
    if params and chosen.found and st.button("Contain the lots of this window",
                                             key=f"contain_{prefix}",
                                             icon=":material/shield:"):
        st.switch_page("views/containment.py", query_params=params)


def _machine_click() -> None:
    """A click on a machine's bar opens its context (the bar's raw name, not its label)."""
    points = (st.session_state.get("chart_machine") or {}).get("selection", {}).get(
        "points", [])
    if points:  # the category axis holds the raw name: x on a pareto, y on the lift chart
        p = points[0]
        name = next((v for v in (p.get("x"), p.get("y")) if isinstance(v, str)), None)
        if name:
            st.session_state["machine_clicked"] = name
            st.session_state.pop("ctx_machine", None)  # the selectbox takes the click


def machine_context(back: Any, full: pa.Table) -> None:
    """A machine's context, one pick (or a click on its bar) away: its lots' defect rate
    over time with its maintenance jobs, the window, its jobs and its lots."""
    names = full["factor"].to_pylist()
    clicked = st.session_state.get("machine_clicked")
    q_machine = state.query_param("machine")
    first = clicked if clicked in names else q_machine if q_machine in names else None
    pick = st.selectbox("Machine context (or click a bar)", ["–", *names], key="ctx_machine",
                        index=names.index(first) + 1 if first else 0,
                        format_func=lambda f: f.rpartition(" / ")[2] + f"  ({f})"
                        if f != "–" else "–")
    state.set_query_param("machine", None if pick == "–" else pick)
    if pick == "–":
        return
    row = {**next(r for r in full.to_pylist() if r["factor"] == pick), "kind": "machine"}
    lots = back.exposed_lots("machine", pick)  # read once: the timeline and the table
    jobs = _jobs_of(row)  # one query: the chart's marks and the table
    with st.container(border=True):
        st.markdown(md_escape(describe_suspect(row, k["detection_lots"])))
        factor_timeline(back, row, "ctx", lots, jobs)
        if jobs is not None:
            st.caption(f"Maintenance jobs ({jobs.num_rows:,})")
            st.dataframe(jobs.to_pandas(), hide_index=True, width="stretch")
        st.caption(f"Its lots at detection ({len(lots):,}): when they (or an ancestor) "
                   "passed it, their input and defects.")
        st.dataframe(lots, hide_index=True, width="stretch", column_config={
            "containerid": None, "containername": "LOT", "when": "Passed it",
            "input": glossary.label("detection_input"),
            "defects": glossary.label("detection_defects")})


measures_help("defects")

if result.backward is not None:
    back = result.backward
    tabs = st.tabs(["Suspects"]
                   + [t + status_mark(result.completeness_of(k)) for k, t in KIND_TABS]
                   + ["Loss reasons", "Daily trend",
                      "Lot detail" + status_mark(result.completeness_of("lot_detail")),
                      "Summary"])
    with tabs[0]:
        suspects_tab(back, k["detection_lots"])
    tabs = tabs[1:]
    q_sort = state.query_param("sort", "evidence")
    sort_names = {v: n for n, v in SORTS.items()}
    default_sort = sort_names.get(q_sort or "", "Evidence")
    for (kind, title), tab in zip(KIND_TABS, tabs, strict=False):
        with tab:
            completeness_banner(result.completeness_of(kind), title)
            sort_label = st.radio("Sort by", list(SORTS), horizontal=True,
                                  index=list(SORTS).index(default_sort),
                                  key=f"sort_{kind}", help=SORT_HELP)
            by = SORTS[sort_label]
            if by != q_sort:
                state.set_query_param("sort", None if by == "evidence" else by)
            click = ({"on_select": _machine_click, "selection_mode": "points"}
                     if kind == "machine" else {})
            factors = back.factors
            if kind == "machine":
                groups, models = machine_facets(factors)
                f1, f2 = st.columns(2)
                pick_groups = f1.multiselect(
                    "Station groups", groups, key="machine_groups",
                    default=[g for g in state.query_param_list("mgroup") if g in groups])
                pick_models = f2.multiselect(
                    "Machine models", models, key="machine_models",
                    default=[m for m in state.query_param_list("mmodel") if m in models])
                state.set_query_param("mgroup", pick_groups)
                state.set_query_param("mmodel", pick_models)
                factors = only_machines(factors, pick_groups, pick_models)
            if by in ("evidence", "lift"):
                st.plotly_chart(lift_chart(ranked(factors, kind, by),
                                           f"{title}: top 10 by {sort_label.lower()}"),
                                key=f"chart_{kind}", **click)
                st.caption("Bars: lift (the exposed lots' defect rate ÷ the other lots'), "
                           "whiskers: its 95 % interval, lots as the units; right of the "
                           "dotted line at 1 the factor's lots fail more than the rest.")
            else:
                top = pareto(factors, kind, by=by, top=10, exposures=back.exposures,
                             seeds=back.seeds)
                st.plotly_chart(pareto_chart(
                    top, f"{title}: top 10 by {sort_label.lower()}",
                    value=by,
                    line_name="Coverage: % of defects on lots exposed to these "
                              "(distinct lots)"),
                    key=f"chart_{kind}", **click)
                st.caption("A lot counts for every factor it touched, so bars overlap and do "
                           "not add up; the line shows the share of all defects on lots "
                           "exposed to any factor so far, and 'others' what the remaining "
                           "factors add.")
            full = ranked(factors, kind, by)  # the core's order: undefined lift last
            df = full.to_pandas().drop(columns=["factor_kind"])
            shown = df.assign(rate=df["rate"] * 100, rate_unexposed=df["rate_unexposed"] * 100,
                              lift=[fmt_lift(v, n) for v, n in zip(df["lift"],
                                                                    df["lift_note"],
                                                                    strict=True)])
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                "lots": st.column_config.NumberColumn(
                    glossary.label("exposed_lots"), format="localized",
                    help=glossary.help_text("exposed_lots")),
                **{c: st.column_config.NumberColumn(glossary.label(key), format="localized",
                                                    help=glossary.help_text(key))
                   for c, key in (("defective_lots", "defective_lots"),
                                  ("input", "detection_input"),
                                  ("defects", "detection_defects"),
                                  ("charged", "detection_charged"),
                                  ("uncharged", "detection_uncharged"))},
                "rate": st.column_config.NumberColumn(
                    glossary.label("rate_exposed_pct"), format="%.3f",
                    help=glossary.help_text("rate_exposed_pct")),
                "rate_unexposed": st.column_config.NumberColumn(
                    glossary.label("rate_unexposed_pct"), format="%.3f",
                    help=glossary.help_text("rate_unexposed_pct")),
                "lift": st.column_config.TextColumn(glossary.label("lift"),
                                                    help=glossary.help_text("lift")),
                "p_value": st.column_config.NumberColumn(
                    glossary.label("p_value"), format="%.4f",
                    help=glossary.help_text("p_value")),
                **{c: st.column_config.NumberColumn(glossary.label(c), format=fmt,
                                                    help=glossary.help_text(c))
                   for c, fmt in (("lift_low", "%.2f"), ("lift_high", "%.2f"),
                                  ("q_value", "%.4f"), ("suspect_rank", "%d"))},
                "tested": st.column_config.CheckboxColumn(
                    "Tested", help=glossary.help_text("q_value")),
                "lift_note": st.column_config.TextColumn("Lift note"),
                "detail": st.column_config.TextColumn("Detail"),
                "factor": st.column_config.TextColumn("Factor")})
            # the download holds the data: an undefined lift is an empty cell, not "–"
            st.download_button(f"Download {title.lower()} (CSV)", lambda d=full: csv_bytes(d),
                               f"defects_{kind}_{file_range}.csv",
                               "text/csv", key=f"dl_{kind}")
            if kind == "machine" and full.num_rows:
                machine_context(back, full)
    with tabs[4]:
        st.plotly_chart(pareto_chart(pa.table({
            "factor": back.reasons["reason"], "defects": back.reasons["defects"],
            "cumulative_pct": back.reasons["cumulative_pct"]}), "Loss reasons at detection"),
            key="chart_reasons")
        st.dataframe(back.reasons.to_pandas(), hide_index=True, width="stretch")
        st.download_button("Download reasons (CSV)", lambda d=back.reasons: csv_bytes(d),
                           f"defects_reasons_{file_range}.csv", "text/csv")
    with tabs[5]:
        trend = back.trend.to_pandas()
        # lots per day (defective + the rest, stacked: the bar is every seed lot), whole
        # ticks, partial days lighter and hatched (the shared trend chart), rate on the right
        fig = trend_figure(trend["day"], [
            (glossary.label("defective_lots"), trend["defective_lots"]),
            (glossary.label("clean_lots"), trend["clean_lots"])],
            list(trend["partial"]), y_title=glossary.label("detection_lots"), height=380)
        fig.add_scatter(x=[str(d) for d in trend["day"]], y=trend["rate"] * 100,
                        name=glossary.label("detection_defect_rate_pct"), yaxis="y2",
                        line={"color": "#f28e2b"})
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "title": "%",
                                  "rangemode": "tozero", "tickmode": "auto",
                                  "showgrid": False})
        st.plotly_chart(fig, key="chart_trend")
        if bool(trend["partial"].any()):
            days = ", ".join(str(d) for d, p in zip(trend["day"], trend["partial"],
                                                     strict=True) if p)
            st.caption(f"Hatched: {days}, covered only in part (the data end within the "
                       "day); its counts are not comparable with a whole day's.")
        st.dataframe(trend, hide_index=True, width="stretch")
        st.download_button("Download trend (CSV)", lambda d=back.trend: csv_bytes(d),
                           f"defects_trend_{file_range}.csv", "text/csv")
    with tabs[6]:
        completeness_banner(result.completeness_of("lot_detail"), "Lot detail")
        n_rows = back.lot_rows()  # counted once per result
        try:
            lots, _ = paged(lambda offset, size: (
                _lot_page(job.id, offset // size + 1, size, back), n_rows),
                key="lot", param="lots_page", settings=settings)
            st.dataframe(lots.to_pandas(), hide_index=True, width="stretch")
        except ResultExpired as exc:
            st.info(md_escape(exc))
        st.caption(f"{n_rows:,} rows: one per lot and loss reason.")
        # the whole detail is built only when the download is clicked (~1 s for 70K lots)
        st.download_button("Download lot detail (CSV, all rows)",
                           lambda: csv_bytes(back.lot_detail()),
                           f"defects_lots_{file_range}.csv", "text/csv")
    with tabs[7]:
        st.markdown(result.summary)
else:
    fwd = result.forward or {}
    mark = status_mark(result.completeness_of("forward"))  # every table: lineage, rejects
    amp = k.get("amplification")
    if amp is not None:
        st.metric(glossary.label("amplification"), f"{amp:.2f}x",
                  help=glossary.help_text("amplification"))
    if not (k.get("downstream_rejects") or k.get("downstream_uncharged")):
        reached = int(pc.sum(fwd["lots"]["stations_reached"]).as_py() or 0) if isinstance(
            fwd.get("lots"), pa.Table) else 0
        st.info("Nothing to show downstream: "
                + ("the defective lots' descendants reached no station after "
                   f"{md_escape(request.station)}" if not reached else
                   "the descendants passed later stations but no reject was booked on them")
                + ". Try an earlier detection station or a longer range.")
        with st.expander("Summary"):
            st.markdown(result.summary)
        st.stop()
    tabs = st.tabs([f"By station{mark}", f"By machine{mark}", f"By reason{mark}",
                    f"By lot{mark}", f"Reason × station{mark}", "Summary"])
    with tabs[3]:
        lots_table = fwd.get("lots")
        if isinstance(lots_table, pa.Table):
            st.caption("Each defective lot at detection: its descendants, the later stations "
                       "they reached, their rejects there and the station with the most.")
            st.dataframe(lots_table.drop_columns(["containerid"]).to_pandas(),
                         hide_index=True, width="stretch", column_config={
                             "containername": "LOT",
                             "detection_defects": glossary.label("detection_defects"),
                             "descendants": "Descendants",
                             "stations_reached": "Later stations reached",
                             "downstream_rejects": glossary.label("downstream_rejects"),
                             "downstream_uncharged": glossary.label("downstream_uncharged"),
                             "worst_station": "Worst later station",
                             "worst_station_rejects": "Its rejects (pcs)"})
            st.download_button("Download by lot (CSV)", lambda d=lots_table: csv_bytes(d),
                               f"defects_forward_lots_{file_range}.csv", "text/csv",
                               key="fwd_dl_lots")
    with tabs[4]:
        matrix = fwd.get("matrix")
        if isinstance(matrix, pa.Table) and matrix.num_rows:
            wide = matrix.to_pandas().pivot_table(index="reason", columns="station_group",
                                                  values="rejects", aggfunc="sum",
                                                  fill_value=0)
            st.caption("Charged rejects of the descendants by loss reason (rows) and later "
                       "station group (columns).")
            st.dataframe(wide, width="stretch")
            st.download_button("Download reason × station (CSV)",
                               lambda d=matrix: csv_bytes(d),
                               f"defects_forward_matrix_{file_range}.csv", "text/csv",
                               key="fwd_dl_matrix")
    for tab, dim in zip(tabs[:3], ("station", "machine", "reason"), strict=True):
        with tab:
            completeness_banner(result.completeness_of(dim), f"Downstream rejects by {dim}")
            table = fwd.get(dim)
            if not isinstance(table, pa.Table) or table.num_rows == 0:
                st.info("No rejects of the defective lots' descendants at later stations.")
                continue
            st.plotly_chart(pareto_chart(table.slice(0, 10), f"Downstream rejects by {dim}",
                                         value="rejects"), key=f"fwd_{dim}")
            shown = table.to_pandas()
            shown["rate"] = shown["rate"] * 100
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                "lots": st.column_config.NumberColumn(format="localized"),
                **{c: st.column_config.NumberColumn(glossary.label(key), format="localized",
                                                    help=glossary.help_text(key))
                   for c, key in (("input", "downstream_input"),
                                  ("rejects", "downstream_rejects"),
                                  ("uncharged", "downstream_uncharged"))},
                "rate": st.column_config.NumberColumn(
                    glossary.label("downstream_rate_pct"), format="%.4f",
                    help=glossary.help_text("downstream_rate_pct")),
            })
            st.download_button(f"Download by {dim} (CSV)", lambda d=table: csv_bytes(d),
                               f"defects_forward_{dim}_{file_range}.csv",
                               "text/csv", key=f"fwd_dl_{dim}")
    with tabs[5]:
        st.markdown(result.summary)
