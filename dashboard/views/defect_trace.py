"""Defect trace page: which upstream machines, materials and wafer lots go with the
defects found at a detection station (backward), or what happened later to the
defective lots (forward).

The page only gathers input (kept in the URL, so a link reopens the analysis), starts
the analysis as a background job (core.defects._defect_job on the slow lane), shows its stages
with a Cancel button, then the results: KPI cards, paretos sortable by defects, rate or
lift, a machine's maintenance jobs, the daily trend, the paged lot detail, CSV downloads
of every table and the analysis summary in plain words. The open tab (``tab``), the sort
(``sort``) and an open machine context (``machine``) are in the URL too. A machine's
context (its lots, defects over time, maintenance jobs) opens as a dialog from any chart
or table that shows machines: a click on a bar or a row.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from core import dates as core_dates
from core import fmt, glossary
from core import values as core_values
from core.defects import (
    FACTOR_VIEW,
    FWD_VIEW,
    KIND_NAMES,
    LIFT_UNBOUNDED,
    REASON_VIEW,
    DefectInputError,
    DefectRequest,
    DefectResult,
    ResultExpired,
    containment_params,
    describe_suspect,
    forward_machine_days,
    forward_machine_lots,
    lot_machines,
    lot_pages_cacheable,
    machine_facets,
    machine_jobs,
    machine_name,
    only_machines,
    pareto,
    ranked,
    run_defect_analysis,
    suggest_period,
    summary_text,
    window_between,
    window_rule,
)
from core.defects import reasons_seen as core_reasons_seen
from core.errors import InputError
from core.export import csv_bytes
from core.i18n import N_, _, is_zh
from core.jobs import Task
from core.pareto import fold_others, others_added, others_count, split_others
from core.stations import station_map
from core.text import md_escape, md_join
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets.charts import interval_figure, pareto_figure
from dashboard.widgets.completeness import completeness_banner, status_mark
from dashboard.widgets.defect_charts import (
    defect_trend_figure,
    machine_days_figure,
    suspect_window_figure,
)
from dashboard.widgets.job_progress import job_result
from dashboard.widgets.kpis import Kpi, kpi_row, measure_kpi
from dashboard.widgets.measures import measures_help
from dashboard.widgets.tables import paged, show

KIND_TABS = (("machine", N_("Machines")), ("material", N_("Materials")),
             ("wafer", N_("Wafer lots")), ("detection_machine", N_("Detection machines")))
MACHINE_KINDS = ("machine", "detection_machine")
SORTS = {"evidence": N_("Evidence"), "defects": N_("Defects"), "rate": N_("Defect rate"),
         "lift": N_("Lift")}
SORT_HELP = N_("Evidence: suspects first, by q (Fisher p adjusted for the factors tested), "
               "then the lift's 95 % low end. Defects and defect rate favour factors many "
               "lots pass; lift compares each factor's lots with the rest.")
BACK_TABS = (("suspects", N_("Suspects")), *KIND_TABS, ("reasons", N_("Loss reasons")),
             ("trend", N_("Daily trend")), ("lots", N_("Lot detail")),
             ("summary", N_("Summary")))
FWD_TABS = (("station", N_("By station")), ("machine", N_("By machine")),
            ("reason", N_("By reason")), ("lots", N_("By lot")),
            ("matrix", N_("Reason × station")), ("summary", N_("Summary")))
FWD_DIMS = {"station": "station_group", "machine": "machine", "reason": "reason"}

# What a table shows a raw column as: (registered column or glossary measure, scale).
# FACTOR_VIEW, REASON_VIEW, FWD_VIEW: core.defects (the CLI shows them too)
TREND_VIEW = {"lots": ("detection_lots", 1), "input": ("detection_input", 1),
              "defects": ("detection_defects", 1), "charged": ("detection_charged", 1),
              "uncharged": ("detection_uncharged", 1),
              "rate": ("detection_defect_rate_pct", 100)}
LOT_VIEW = {"input": ("detection_input", 1), "defects": ("detection_defects", 1),
            "charged": ("detection_charged", 1), "uncharged": ("detection_uncharged", 1)}
CTX_LOT_VIEW = {"when": ("passed_at", 1), "input": ("detection_input", 1),
                "defects": ("detection_defects", 1)}
FWD_LOT_VIEW = {"when": ("first_trackin", 1), **FWD_VIEW}

settings = state.get_settings()
lanes = state.lanes_or_none(settings)
st.title(_("Defect trace"))
st.caption(_(
    "Attribute defects found at a detection station to upstream machines, materials and "
    "wafer lots (backward), or follow the defective lots to later stations (forward)."))
if lanes is None:
    st.stop()
RAW_HEADERS = settings.csv_headers == "names"


@st.cache_data(ttl=settings.cache_ttl_s, show_spinner=False)
def reasons_seen(db_key: str, days: int) -> list[str]:  # db_key: part of the cache key
    return core_reasons_seen(lanes, days)


@st.cache_data(ttl=settings.cache_ttl_s, show_spinner=False)
def station_groups(db_key: str) -> list[str]:  # db_key: part of the cache key
    return [g for g, _n in station_map(lanes, settings).groups()]


def fmt_lift(v: Any, note: Any) -> str:
    """Lift as text: ∞ when unbounded, – when undefined (null in the data either way)."""
    if note == LIFT_UNBOUNDED:
        return "∞"
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return fmt.MISSING
    return fmt.number(v, 2)


def view(data: Any, mapping: dict[str, tuple[str, int]]) -> pd.DataFrame:
    """A table as shown: raw columns renamed to what they are (a registered column or a
    glossary measure, so they are labelled), fractions scaled to percent, empty text
    cells blank."""
    df = data.to_pandas() if hasattr(data, "to_pandas") and not hasattr(data, "iloc") \
        else pd.DataFrame(data)
    out = df.copy()
    for col in out.columns:  # an empty text cell is blank, not "None"
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].where(out[col].notna(), "")
    for raw, (_name, scale) in mapping.items():
        if raw in out.columns:
            out[raw] = out[raw] * scale if scale != 1 else out[raw]
    return out.rename(columns={raw: name for raw, (name, _s) in mapping.items()})


def csv_of(data: Any, mapping: dict[str, tuple[str, int]] | None = None) -> bytes:
    """A table's CSV: labelled headers (the shown names and units), or the raw table
    with machine names when settings.csv_headers is "names"."""
    if RAW_HEADERS or not mapping:
        return csv_bytes(data, raw_headers=RAW_HEADERS)
    return csv_bytes(view(data, mapping))


def card(key: str, value: str, help_extra: str = "") -> Kpi:
    """A KPI card labelled and explained by core.glossary (``help_extra``: the exact
    number or the parts behind a compact one)."""
    base = measure_kpi(key, value)
    return Kpi(base.label, value, (base.help or "") + (f" {help_extra}" if help_extra else ""))


def tabs_in_url(spec: tuple[tuple[str, str], ...], marks: dict[str, str]) -> dict[str, Any]:
    """Tabs whose open one is in the URL (``tab``, a stable id: links survive a language
    switch) and restored from it."""
    labels = {tid: _(text) + marks.get(tid, "") for tid, text in spec}
    ids = {v: k for k, v in labels.items()}
    q_tab = state.query_param("tab")

    def changed() -> None:
        tid = ids.get(st.session_state.get("defect_tab"))
        state.set_query_param("tab", None if tid in (None, spec[0][0]) else tid)

    tabs = st.tabs(list(labels.values()), key="defect_tab", on_change=changed,
                   default=labels.get(q_tab or "", labels[spec[0][0]]))
    return dict(zip(labels, tabs, strict=True))


# --- input (state in the URL) ------------------------------------------------------------------
db_key = repr((settings.effective_db_url, settings.schema))
with state.guarded(_("Loading the station list")):
    groups = station_groups(db_key)
reasons_all: list[str] = []
with state.guarded(_("Loading the loss reasons")):
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


DIRECTIONS = {"backward": N_("Backward trace"), "forward": N_("Forward trace")}
SEED_KINDS = {"lot": N_("Lots"), "work_order": N_("Work orders"), "wafer_lot": N_("Wafer lots")}

with st.form("defect_input"):
    c1, c2, c3 = st.columns([1, 2, 1])
    station_options = groups or [q_station or "TMTT"]
    station = c1.selectbox(
        _("Detection station"), station_options,
        index=station_options.index(q_station) if q_station in station_options else 0,
    )
    dates = c2.date_input(
        _("Detection date range (at most {days} days)").format(days=settings.defect_max_days),
        value=(_date(q_start, yesterday - dt.timedelta(days=29)), _date(q_end, yesterday)),
    )
    direction = c3.radio(_("Direction"), list(DIRECTIONS), horizontal=True,
                         format_func=lambda d: _(DIRECTIONS[d]),
                         index=1 if q_direction == "forward" else 0)
    reasons = st.multiselect(
        _("Loss reasons (none selected = all)"), reasons_all,
        default=[r for r in q_reasons if r in reasons_all], placeholder=_("All loss reasons"),
        help=_("The reasons seen in the last {days} days.").format(
            days=settings.defect_reason_lookback_days),
    )
    c4, c5 = st.columns(2)
    types = c4.text_input(_("Product types (comma-separated, optional)"), q_types)
    packages = c5.text_input(_("Packages (comma-separated, optional)"), q_packages)
    with st.expander(_("Or start from a list of lots, work orders or wafer lots"),
                     expanded=bool(q_seeds)):
        seed_kind = st.radio(_("List of"), list(SEED_KINDS),
                             format_func=lambda k: _(SEED_KINDS[k]), horizontal=True,
                             index=list(SEED_KINDS).index(q_seed_kind)
                             if q_seed_kind in SEED_KINDS else 0)
        seed_text = st.text_area(_("One value a line, or separated by commas or spaces "
                                   "(* % _ wildcards, \\ escapes); each listed lot's latest "
                                   "pass at the station is a seed"),
                                 "\n".join(q_seeds))
        use_range = st.checkbox(_("Also restrict to the date range above"), q_use_range)
    submitted = st.form_submit_button(_("Run defect trace"), type="primary")

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
    st.info(_("Choose a station and a date range, then **Run defect trace**. The analysis "
              "runs in the background on the slow lane; live widgets are not affected."))
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
job = manager.submit(request.key(), task, label=request.label, label_args=request.label_args)


# --- progress ---------------------------------------------------------------------------------
result: DefectResult = job_result(
    job, key="defects", settings=settings, what=_("The defect trace"),
    again=_("Press **Run again** to restart it."),
    retry=lambda: manager.submit(request.key(), task, label=job.label,
                                 label_args=job.label_args, fresh=True),
)
file_range = f"{request.start}_{request.end}" if request.start else "list"
summary = summary_text(result)  # in the reader's language (the job's is English)
# the analysis' record is derived from its inputs' (it names them and says why)
completeness_banner(result.completeness.get("analysis"), _("Analysis"),
                    consequence=_("What is built on the incomplete inputs (the tabs marked "
                                  "so) leaves out what is missing: run it again."))

k = result.kpis


def compact(n: int) -> str:
    return (fmt.number(n / 1e6, 1) + " M") if abs(n) >= 10_000_000 else fmt.count(n)


backward = request.direction == "backward"
kpi_row([
    card("detection_lots", fmt.count(k["detection_lots"])),
    card("defective_lots", fmt.count(k["defective_lots"])),
    card("detection_input", compact(k["detection_input"]),
         _("({n} pcs)").format(n=fmt.count(k["detection_input"]))),
    card("detection_defect_rate_pct", fmt.kpi_percent(k["detection_defect_rate_pct"])),
    card("affected_machines", fmt.count(k.get("affected_machines", 0))) if backward
    else card("defective_input", compact(k.get("defective_input", 0))),
])
second = [
    card("detection_defects", compact(k["detection_defects"]),
         _("({n} pcs = {charged} charged + {uncharged} uncharged)").format(
             n=fmt.count(k["detection_defects"]), charged=fmt.count(k["detection_charged"]),
             uncharged=fmt.count(k["detection_uncharged"]))),
    card("detection_charged", compact(k["detection_charged"])),
    card("detection_uncharged", compact(k["detection_uncharged"])),
]
if backward:
    top_reason = k.get("top_reason") or fmt.MISSING
    second.append(card("top_reason", md_escape(top_reason.split("_", 1)[0]),
                       f"({md_escape(top_reason)})"))
else:
    second += [card("downstream_rejects", compact(k.get("downstream_rejects", 0))),
               card("downstream_uncharged", compact(k.get("downstream_uncharged", 0)))]
kpi_row(second)
if k.get("unattributed_rows"):
    st.warning(_("**{n} event rows not attributed**: ").format(
        n=fmt.count(k["unattributed_rows"])) + glossary.help_text("unattributed_rows"))
# a KPI built on an incomplete input says so beside the row (its label stays the measure's)
for part in (("affected_machines",) if result.backward is not None
             else ("downstream_rejects",)):
    if status_mark(result.completeness_of(part)):
        record = result.completeness_of(part)
        st.caption(f":material/report: {glossary.label(part)}: {record['status']}, "
                   f"{md_escape(record['reason'])}.")

if result.unmatched:
    st.warning(_("{n} listed value(s) matched no container: ").format(
        n=fmt.count(len(result.unmatched)))
        + md_join(result.unmatched[:20]) + (" …" if len(result.unmatched) > 20 else ""))
if k["detection_lots"] == 0:
    st.info(_("No lot passed {station} ({range}).").format(
        station=md_escape(request.station), range=md_escape(request.range_label)))
    st.markdown(summary)
    st.stop()


# What a pareto's bars show, by the table's sort: the measure and its scale.
BAR_MEASURES = {"defects": ("detection_defects", 1), "rate": ("rate_exposed_pct", 100),
                "rejects": ("downstream_rejects", 1)}


def pareto_chart(table: pa.Table, title: str, value: str = "defects",
                 line_name: str | None = None) -> go.Figure:
    """The items' bars (and the coverage or cumulative line); a folded 'others' item is
    not a bar (it would dwarf the items): ``others_note`` says what it adds."""
    df, _others = split_others(table.to_pandas(), "factor")
    key, scale = BAR_MEASURES[value]
    return pareto_figure(df["factor"], df[value] * scale, df.get("cumulative_pct"),
                         bar_name=glossary.label(key),
                         line_name=line_name or _("Cumulative %"), title=title, height=380)


def others_note(table: pa.Table, value: str) -> None:
    """What the factors past the chart's bars add, as a note beside the chart."""
    frame = table.to_pandas()
    _items, others = split_others(frame, "factor")
    if others is None:
        return
    amount = others.get("defects") if value == "rate" else others.get(value)
    st.caption(_("Not drawn: the other {n} factors, whose lots add {pcs} defective pcs "
                 "({share} of all defects) to those shown.").format(
        n=fmt.count(others_count(others["factor"])), pcs=fmt.count(amount or 0),
        share=fmt.percent(others_added(frame, "cumulative_pct"))))


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
        text=[f"q {r['q_value']:.2g}" if r.get("q_value") is not None else _("not tested")
              for r in rows])
    fig.update_layout(title=title, margin={"t": 40, "b": 10, "l": 10})
    return fig


# --- the machine context: one click from any chart or table that shows machines ----------------
CTX_KEY = "machine_ctx"


def open_context(source: str, factor: str, choices: list[str] | None = None) -> None:
    """Open ``factor``'s context (``source``: machine, detection_machine or forward)."""
    st.session_state[CTX_KEY] = {"source": source, "factor": factor,
                                 "choices": choices or []}
    st.session_state.pop("ctx_pick", None)
    state.set_query_param("machine", factor)
    state.set_query_param("mkind", None if source in ("machine", "forward") else source)


def close_context() -> None:
    st.session_state.pop(CTX_KEY, None)
    st.session_state["ctx_closed"] = True
    state.set_query_param("machine", None)
    state.set_query_param("mkind", None)


def current_context() -> dict[str, Any] | None:
    """The open context: this session's, else the link's (``machine``, ``mkind``)."""
    ctx = st.session_state.get(CTX_KEY)
    if ctx:
        return ctx
    if st.session_state.pop("ctx_closed", False):
        return None
    factor = state.query_param("machine")
    if not factor:
        return None
    source = "forward" if not backward else (
        state.query_param("mkind") if state.query_param("mkind") in MACHINE_KINDS
        else "machine")
    return {"source": source, "factor": factor, "choices": []}


def _selection(event: Any) -> list[Any]:
    """The rows or points of a table's or chart's selection (empty when none)."""
    try:
        sel = dict(event["selection"])
    except (KeyError, TypeError):
        return []
    return list(sel.get("rows") or sel.get("points") or [])


def picked(event: Any, key: str) -> Any | None:
    """The first row or point of a new selection of ``key`` (None when nothing is selected
    or the selection was handled already: a dismissed context stays closed)."""
    items = _selection(event)
    mark = f"{key}.handled"
    if not items:
        st.session_state.pop(mark, None)
        return None
    if st.session_state.get(mark) == repr(items):
        return None
    st.session_state[mark] = repr(items)
    return items[0]


def chart_pick(event: Any, key: str, kinds: dict[str, str] | str) -> None:
    """A click on a chart with machines on its category axis opens the clicked machine's
    context (``kinds``: the source, or each factor's kind)."""
    p = picked(event, key)
    if not isinstance(p, dict):
        return
    # the category axis holds the raw name: x on a pareto, y on the lift chart
    name = next((v for v in (p.get("x"), p.get("y")) if isinstance(v, str)), None)
    source = kinds if isinstance(kinds, str) else kinds.get(name or "")
    if name and source:
        open_context(source, name)


def row_pick(event: Any, key: str, names: list[str], kinds: list[str] | str) -> None:
    """A row of a table opens its machine's context (``names``, ``kinds`` per row)."""
    row = picked(event, key)
    if not isinstance(row, int) or row >= len(names):
        return
    source = kinds if isinstance(kinds, str) else kinds[row]
    if source:
        open_context(source, names[row])


def lot_pick(event: Any, key: str, machines: list[list[str]]) -> None:
    """A lot of the lot detail opens the context of its first upstream machine, with its
    other machines to pick from."""
    row = picked(event, key)
    if isinstance(row, int) and row < len(machines) and machines[row]:
        open_context("machine", machines[row][0], machines[row])


CLICK_HINT = N_("Click a bar or a row to open a machine's context (its lots, defects over "
                "time, maintenance jobs).")


def _jobs_of(name: str) -> pa.Table | None:
    """A machine's maintenance jobs in the analysis' window (one query)."""
    with state.guarded(_("Loading maintenance jobs")):
        return machine_jobs(lanes, name, request.end, settings)
    return None


def context_body(ctx: dict[str, Any]) -> None:
    """The machine context (inside the dialog): the machine in plain words, its lots'
    defects over time with its maintenance jobs on the same axis, its jobs, its lots."""
    factor = ctx["factor"]
    if ctx.get("choices"):
        factor = st.selectbox(_("Machine of this lot"), ctx["choices"], key="ctx_pick",
                              index=ctx["choices"].index(factor)
                              if factor in ctx["choices"] else 0)
    name = machine_name(factor)
    if ctx["source"] == "forward":
        forward_context(name)
        return
    back = result.backward
    assert back is not None
    table = back.factors
    row = table.filter(pc.and_(pc.equal(table["factor_kind"], ctx["source"]),
                               pc.equal(table["factor"], factor))).to_pylist()
    if not row:
        st.info(_("{name} is not among this analysis' machines.").format(
            name=md_escape(factor)))
        return
    sus = {**row[0], "kind": ctx["source"]}
    lots = back.exposed_lots(ctx["source"], factor)  # read once: the timeline and the table
    jobs = _jobs_of(name)  # one query: the chart's marks and the table
    st.markdown(md_escape(describe_suspect(sus, k["detection_lots"])))
    factor_timeline(back, sus, "ctx", lots, jobs)
    if jobs is not None:
        st.caption(_("Maintenance jobs ({n})").format(n=fmt.count(jobs.num_rows)))
        show(view(jobs.drop_columns(["resourcename"]), {}), key="ctx_jobs")
    st.caption(_("Its lots at detection ({n}): when they (or an ancestor) passed it, their "
                 "input and defects.").format(n=fmt.count(len(lots))))
    show(view(lots.drop(columns=["containerid"]), CTX_LOT_VIEW), key="ctx_lots")


def forward_context(name: str) -> None:
    """A later machine: the defective lots' descendants it ran, their rejects on it per
    day, its maintenance jobs."""
    fwd = result.forward or {}
    lots = forward_machine_lots(fwd, name)
    if lots.empty:
        st.info(_("No descendant of the defective lots passed {name}.").format(
            name=md_escape(name)))
        return
    days = forward_machine_days(lots)
    st.markdown(_("**{name}**: {lots} descendants of the defective lots entered it "
                  "({pcs} pcs); {rejects} pcs rejected there.").format(
        name=md_escape(name), lots=fmt.count(lots["containerid"].nunique()),
        pcs=fmt.count(lots["input"].sum()), rejects=fmt.count(lots["rejects"].sum())))
    if not days.empty:
        st.plotly_chart(machine_days_figure(days["day"], days["rejects"],
                                            y_title=glossary.label("downstream_rejects")),
                        key="ctx_fwd_days")
        show(view(days, FWD_VIEW), key="ctx_fwd_days_table")
    jobs = _jobs_of(name)
    if jobs is not None:
        st.caption(_("Maintenance jobs ({n})").format(n=fmt.count(jobs.num_rows)))
        show(view(jobs.drop_columns(["resourcename"]), {}), key="ctx_jobs")
    st.caption(_("Its lots ({n}): descendants of the defective lots, their first track-in "
                 "there and their rejects there.").format(n=fmt.count(len(lots))))
    show(view(lots.drop(columns=["containerid"]), FWD_LOT_VIEW), key="ctx_fwd_lots")


def context_dialog() -> None:
    """The open machine context as a dialog over the page (closing it clears the link)."""
    ctx = current_context()
    if not ctx:
        return
    title = _("Machine context: {name}").format(name=md_escape(machine_name(ctx["factor"])))
    st.dialog(title, width="large", on_dismiss=close_context)(context_body)(ctx)


# --- suspects ----------------------------------------------------------------------------------
def suspects_tab(back: Any, total_lots: int) -> None:
    """The ranked suspects across every factor kind: cards in plain words for the first
    three, their lifts with intervals, and the table (CSV)."""
    tops = back.suspects(20)
    tested = int(pc.sum(back.factors["tested"]).as_py() or 0)
    st.caption(_(
        "Factors of every kind (machines, material lots, wafer lots, detection machines) "
        "with at least {min_lots} lots and some lots that did not pass them are tested "
        "({tested} of {factors}); a suspect's lots fail more often than the rest (lift > 1). "
        "Ranked by q, the Fisher p adjusted for the number of factors tested "
        "(Benjamini-Hochberg), then by the lift's 95 % low end. Correlation, not proof: "
        "check the machine's maintenance jobs and the lots.").format(
        min_lots=fmt.count(settings.suspect_min_lots), tested=fmt.count(tested),
        factors=fmt.count(back.factors.num_rows)))
    if not tops:
        st.info(_("No tested factor's lots fail more than the rest. Factors with fewer than "
                  "{min_lots} lots are not tested (setting suspect_min_lots); the tabs list "
                  "every factor.").format(min_lots=fmt.count(settings.suspect_min_lots)))
        return
    kind_names = {kid: _(text) for kid, text in KIND_NAMES.items()}
    for i, sus in enumerate(tops[:3], start=1):
        with st.container(border=True):
            st.markdown(f"**#{i} · {md_escape(kind_names.get(sus['kind'], sus['kind']))}** · "
                        + md_escape(describe_suspect(sus, total_lots)))
            buttons = st.container(horizontal=True, gap="small")  # wraps when narrow
            params = containment_params(sus, request.start, request.end)
            if params and buttons.button(_("Contain: lots, descendants, serials"),
                                         key=f"contain_{i}", icon=":material/shield:"):
                st.switch_page("views/containment.py", query_params=params)
            if sus["kind"] in MACHINE_KINDS:
                buttons.button(_("Machine context"), key=f"ctx_card_{i}",
                          icon=":material/precision_manufacturing:",
                          on_click=open_context, args=(sus["kind"], sus["factor"]))
    table = pa.Table.from_pylist(tops)
    kinds = {t["factor"]: t["kind"] for t in tops if t["kind"] in MACHINE_KINDS}
    event = st.plotly_chart(lift_chart(table.rename_columns(
        [c if c != "kind" else "factor_kind" for c in table.column_names]),
        _("Suspects: lift with its 95 % interval")), key="chart_suspects",
        on_select="rerun", selection_mode="points")
    chart_pick(event, "chart_suspects", kinds)
    df = table.to_pandas()
    shown = view(df.assign(kind=[kind_names.get(x, x) for x in df["kind"]],
                           detail=df["detail"].fillna("")), FACTOR_VIEW)
    st.caption(_(CLICK_HINT))
    event = show(shown, key="table_suspects", on_select="rerun",
                 selection_mode="single-row")
    row_pick(event, "table_suspects", list(df["factor"]),
             [x if x in MACHINE_KINDS else "" for x in df["kind"]])
    st.download_button(_("Download suspects (CSV)"),
                       lambda d=table: csv_of(d, FACTOR_VIEW),
                       f"defects_suspects_{file_range}.csv", "text/csv", key="dl_suspects")
    window_section(back, [t for t in tops if t["kind"] in ("machine", "material")])


def window_section(back: Any, timed: list[dict[str, Any]]) -> None:
    """Since when: one suspect's defect rate per day or week (by when its lots passed it),
    its maintenance jobs on the same axis, and the window where it stands above the
    lots that never passed it, which the engineer can move before containing."""
    if not timed:
        return
    st.subheader(_("Suspect window: since when?"))
    names = [t["factor"] for t in timed]
    q_pick = state.query_param("window_of")
    pick = st.selectbox(_("Suspect"), names, key="window_of",
                        index=names.index(q_pick) if q_pick in names else 0,
                        format_func=lambda f: f.rpartition(" / ")[2] + f"  ({f})")
    state.set_query_param("window_of", pick if pick != names[0] else None)
    sus = next(t for t in timed if t["factor"] == pick)
    factor_timeline(back, sus, "window", back.exposed_lots(sus["kind"], pick),
                    _jobs_of(machine_name(pick)) if sus["kind"] == "machine" else None)


PERIODS = {"day": N_("Day"), "week": N_("Week")}


def factor_timeline(back: Any, sus: dict[str, Any], prefix: str, lots: Any,
                    jobs: pa.Table | None) -> None:
    """One factor's defect rate per day or week (by when its lots passed it), its
    maintenance jobs on the same axis (machines), and the window where it stands above the
    lots that never passed it, movable, with its lots one click from containment."""
    pick = sus["factor"]
    suggested = suggest_period(lots)
    q_period = state.query_param(f"{prefix}_period")
    period = st.radio(_("Period"), list(PERIODS), horizontal=True,
                      format_func=lambda p: _(PERIODS[p]),
                      key=f"{prefix}_period_{pick}",
                      index=list(PERIODS).index(q_period if q_period in PERIODS
                                                else suggested),
                      help=_("Week when most days carry too few of the lots to judge."))
    state.set_query_param(f"{prefix}_period", period if period != suggested else None)
    rates, found = back.suspect_window(sus["kind"], pick, period=period, lots=lots)
    if rates.empty:
        st.info(_("No time is known for this factor's lots."))
        return
    first, last = rates["period"].iloc[0], rates["period"].iloc[-1]
    marks = [(r["createdate"].date(), r["jobmodelname"] or r["jobordername"] or "job")
             for r in (jobs.to_pylist() if jobs is not None else [])
             if r["createdate"] is not None and first <= r["createdate"].date() <= last]
    axis = list(rates["period"])
    last_day = axis[-1] + dt.timedelta(days=6 if period == "week" else 0)
    default = (found.start, found.end) if found.found else (axis[0], last_day)
    lo, hi = st.slider(_("Window (move its ends if you know better)"), min_value=axis[0],
                       max_value=last_day, value=(default[0], min(default[1], last_day)),
                       key=f"{prefix}_range_{pick}_{period}", format="YYYY-MM-DD")
    chosen = window_between(rates, lo, hi, period=period)
    st.plotly_chart(suspect_window_figure(
        rates, baseline_pct=(sus["rate_unexposed"] or 0.0) * 100,
        window=(lo, hi), marks=marks, y_title=glossary.label("rate_exposed_pct")),
        key=f"chart_{prefix}")
    st.caption(window_rule() + (" " + _("Blue dashed lines: the machine's {n} maintenance "
                                        "jobs in the range.").format(n=len(marks))
                                if marks else ""))
    if found.found:
        st.markdown(md_escape(_(
            "Elevated from {start} to {end}: {lots} lots, defect rate {rate} vs {base} for "
            "the lots that never passed it.").format(
            start=fmt.date(found.start), end=fmt.date(found.end), lots=fmt.count(found.lots),
            rate=fmt.percent(found.rate * 100), base=fmt.percent(found.baseline * 100))))
    else:
        st.markdown(_("No run of elevated periods: these lots do not stand above the rest "
                      "in any stretch of the range."))
    st.markdown(md_escape(_(
        "Chosen window {start} to {end}: {lots} lots, defect rate {rate}.").format(
        start=fmt.date(chosen.start), end=fmt.date(chosen.end), lots=fmt.count(chosen.lots),
        rate=fmt.percent(chosen.rate * 100))) if chosen.found
        else _("The chosen window has no lots."))
    params = containment_params(sus, chosen.start, chosen.end)
    if params and chosen.found and st.button(_("Contain the lots of this window"),
                                             key=f"contain_{prefix}",
                                             icon=":material/shield:"):
        st.switch_page("views/containment.py", query_params=params)


def machine_picker(names: list[str]) -> None:
    """The Machines tab's picker: the open context's machine, or choose one."""
    ctx = current_context()
    now = ctx["factor"] if ctx and ctx["source"] == "machine" and ctx["factor"] in names \
        else "–"
    st.session_state["ctx_machine"] = now

    def picked() -> None:
        value = st.session_state.get("ctx_machine")
        if value and value != "–":
            open_context("machine", value)
        else:
            close_context()

    st.selectbox(_("Machine context (or click a bar or a row)"), ["–", *names],
                 key="ctx_machine", on_change=picked,
                 format_func=lambda f: f.rpartition(" / ")[2] + f"  ({f})"
                 if f != "–" else "–")


def sort_control(kind: str, q_sort: str) -> str:
    """The sort of every factor tab, one value in the URL (``sort``): a change in one
    tab sorts them all."""
    def changed() -> None:
        by = st.session_state.get(f"sort_{kind}") or "evidence"
        state.set_query_param("sort", None if by == "evidence" else by)
        for other, _t in KIND_TABS:
            st.session_state[f"sort_{other}"] = by

    st.session_state[f"sort_{kind}"] = q_sort
    return st.radio(_("Sort by"), list(SORTS), horizontal=True,
                    format_func=lambda s: _(SORTS[s]), key=f"sort_{kind}",
                    on_change=changed, help=_(SORT_HELP))


def factor_tab(back: Any, kind: str, title: str, q_sort: str) -> None:
    completeness_banner(result.completeness_of(kind), title)
    by = sort_control(kind, q_sort)
    factors = back.factors
    if kind == "machine":
        groups_, models = machine_facets(factors)
        f1, f2 = st.columns(2)
        pick_groups = f1.multiselect(
            _("Station groups"), groups_, key="machine_groups", placeholder=_("All"),
            default=[g for g in state.query_param_list("mgroup") if g in groups_])
        pick_models = f2.multiselect(
            _("Machine models"), models, key="machine_models", placeholder=_("All"),
            default=[m for m in state.query_param_list("mmodel") if m in models])
        state.set_query_param("mgroup", pick_groups)
        state.set_query_param("mmodel", pick_models)
        factors = only_machines(factors, pick_groups, pick_models)
    machines = kind in MACHINE_KINDS
    click = {"on_select": "rerun", "selection_mode": "points"} if machines else {}
    sort_name = _(SORTS[by]) if is_zh() else _(SORTS[by]).lower()  # in a sentence
    chart_title = _("{title}: top 10 by {sort}").format(title=title, sort=sort_name)
    if by in ("evidence", "lift"):
        event = st.plotly_chart(lift_chart(ranked(factors, kind, by), chart_title),
                                key=f"chart_{kind}", **click)
        st.caption(_("Bars: lift (the exposed lots' defect rate ÷ the other lots'), whiskers: "
                     "its 95 % interval, lots as the units; right of the dotted line at 1 "
                     "the factor's lots fail more than the rest."))
    else:
        top = pareto(factors, kind, by=by, top=10, exposures=back.exposures,
                     seeds=back.seeds)
        event = st.plotly_chart(pareto_chart(
            top, chart_title, value=by,
            line_name=_("Coverage: % of defects on lots exposed to these (distinct lots)")),
            key=f"chart_{kind}", **click)
        others_note(top, by)
        st.caption(_("A lot counts for every factor it touched, so bars overlap and do not "
                     "add up; the line shows the share of all defects on lots exposed to any "
                     "factor so far."))
    if machines:
        chart_pick(event, f"chart_{kind}", kind)
    full = ranked(factors, kind, by)  # the core's order: undefined lift last
    df = full.to_pandas().drop(columns=["factor_kind"])
    shown = view(df.assign(lift=[fmt_lift(v, n) for v, n in zip(
        df["lift"], df["lift_note"], strict=True)]), FACTOR_VIEW)
    lift_col = {"lift": st.column_config.TextColumn(glossary.label("lift"),
                                                    help=glossary.help_text("lift"))}
    if machines:
        st.caption(_(CLICK_HINT))
        event = show(shown, key=f"table_{kind}", column_config=lift_col,
                     on_select="rerun", selection_mode="single-row")
        row_pick(event, f"table_{kind}", list(df["factor"]), kind)
    else:
        show(shown, key=f"table_{kind}", column_config=lift_col)
    # the download holds the data: an undefined lift is an empty cell, not "–"
    st.download_button(_("Download {what} (CSV)").format(
                           what=title if is_zh() else title.lower()),
                       lambda d=full: csv_of(d, FACTOR_VIEW),
                       f"defects_{kind}_{file_range}.csv", "text/csv", key=f"dl_{kind}")
    if kind == "machine" and full.num_rows:
        machine_picker(full["factor"].to_pylist())


def trend_tab(back: Any) -> None:
    trend = back.trend.to_pandas()
    st.plotly_chart(defect_trend_figure(
        trend["day"], defects=trend["defects"], rate_pct=list(trend["rate"] * 100),
        lots=[(glossary.label("defective_lots"), trend["defective_lots"]),
              (glossary.label("clean_lots"), trend["clean_lots"])],
        partial=list(trend["partial"]), defects_title=glossary.label("detection_defects"),
        rate_title=glossary.label("detection_defect_rate_pct"),
        lots_title=glossary.label("detection_lots")), key="chart_trend")
    st.caption(_("Above: defects at detection per day (bars) and the defect rate (line, "
                 "right axis); below: the lots that passed the station, with and without "
                 "defects."))
    if bool(trend["partial"].any()):
        days = ", ".join(fmt.date(d) for d, p in zip(trend["day"], trend["partial"],
                                                      strict=True) if p)
        st.caption(_("Hatched: {days}, covered only in part (the data end within the day); "
                     "its counts are not comparable with a whole day's.").format(days=days))
    show(view(trend, TREND_VIEW), key="table_trend")
    st.download_button(_("Download trend (CSV)"), lambda d=back.trend: csv_of(d, TREND_VIEW),
                       f"defects_trend_{file_range}.csv", "text/csv")


def lots_tab(back: Any) -> None:
    completeness_banner(result.completeness_of("lot_detail"), _("Lot detail"))
    n_rows = back.lot_rows()  # counted once per result
    try:
        lots, _page = paged(lambda offset, size: (
            _lot_page(job.id, offset // size + 1, size, back), n_rows),
            key="lot", param="lots_page", settings=settings)
        df = lots.to_pandas()
        st.caption(_("Click a lot to open the context of its upstream machines."))
        event = show(view(df, LOT_VIEW), key="table_lots", selection_mode="single-row",
                     on_select="rerun")
        lot_pick(event, "table_lots", [lot_machines(v) for v in
                                       df.get("upstream_machines", [])])
    except ResultExpired as exc:
        st.info(md_escape(exc))
    st.caption(_("{n} rows: one per lot and loss reason.").format(n=fmt.count(n_rows)))
    # the whole detail is built only when the download is clicked (~1 s for 70K lots)
    st.download_button(_("Download lot detail (CSV, all rows)"),
                       lambda: csv_of(back.lot_detail(), LOT_VIEW),
                       f"defects_lots_{file_range}.csv", "text/csv")


measures_help("defects")
q_sort = state.query_param("sort", "evidence")
q_sort = q_sort if q_sort in SORTS else "evidence"

if result.backward is not None:
    back = result.backward
    marks = {kid: status_mark(result.completeness_of(kid)) for kid, _t in KIND_TABS}
    marks["lots"] = status_mark(result.completeness_of("lot_detail"))
    tabs = tabs_in_url(BACK_TABS, marks)
    with tabs["suspects"]:
        suspects_tab(back, k["detection_lots"])
    for kind, title in KIND_TABS:
        with tabs[kind]:
            factor_tab(back, kind, _(title), q_sort)
    with tabs["reasons"]:
        reasons = pa.table({"factor": back.reasons["reason"],
                            "defects": back.reasons["defects"],
                            "cumulative_pct": back.reasons["cumulative_pct"]})
        st.plotly_chart(pareto_chart(reasons, _("Loss reasons at detection")),
                        key="chart_reasons")
        show(view(back.reasons, REASON_VIEW), key="table_reasons")
        st.download_button(_("Download reasons (CSV)"),
                           lambda d=back.reasons: csv_of(d, REASON_VIEW),
                           f"defects_reasons_{file_range}.csv", "text/csv")
    with tabs["trend"]:
        trend_tab(back)
    with tabs["lots"]:
        lots_tab(back)
    with tabs["summary"]:
        st.markdown(summary)
    context_dialog()
else:
    fwd = result.forward or {}
    mark = status_mark(result.completeness_of("forward"))  # every table: lineage, rejects
    amp = k.get("amplification")
    if amp is not None:
        kpi_row([card("amplification", fmt.ratio(amp, 2))])
    if not (k.get("downstream_rejects") or k.get("downstream_uncharged")):
        reached = int(pc.sum(fwd["lots"]["stations_reached"]).as_py() or 0) if isinstance(
            fwd.get("lots"), pa.Table) else 0
        st.info((_("Nothing to show downstream: the defective lots' descendants reached no "
                   "station after {station}.").format(station=md_escape(request.station))
                 if not reached else
                 _("Nothing to show downstream: the descendants passed later stations but "
                   "no reject was booked on them."))
                + " " + _("Try an earlier detection station or a longer range."))
        with st.expander(_("Summary")):
            st.markdown(summary)
        st.stop()
    tabs = tabs_in_url(FWD_TABS, {tid: mark for tid, _t in FWD_TABS if tid != "summary"})
    with tabs["lots"]:
        lots_table = fwd.get("lots")
        if isinstance(lots_table, pa.Table):
            st.caption(_("Each defective lot at detection: its descendants, the later "
                         "stations they reached, their rejects there and the station with "
                         "the most."))
            show(view(lots_table.drop_columns(["containerid"]), {}), key="fwd_table_lots")
            st.download_button(_("Download by lot (CSV)"),
                               lambda d=lots_table: csv_of(d.drop_columns(["containerid"])),
                               f"defects_forward_lots_{file_range}.csv", "text/csv",
                               key="fwd_dl_lots")
    with tabs["matrix"]:
        matrix = fwd.get("matrix")
        if isinstance(matrix, pa.Table) and matrix.num_rows:
            wide = matrix.to_pandas().pivot_table(index="reason", columns="station_group",
                                                  values="rejects", aggfunc="sum",
                                                  fill_value=0)
            st.caption(_("Charged rejects of the descendants by loss reason (rows) and "
                         "later station group (columns)."))
            wide.columns = [str(c) for c in wide.columns]
            show(wide.reset_index(), key="fwd_table_matrix", column_config={
                c: st.column_config.NumberColumn(c, format="localized")
                for c in wide.columns if c != "reason"})
            st.download_button(_("Download reason × station (CSV)"),
                               lambda d=matrix: csv_of(d, {"rejects": (
                                   "downstream_rejects", 1), "uncharged": (
                                   "downstream_uncharged", 1)}),
                               f"defects_forward_matrix_{file_range}.csv", "text/csv",
                               key="fwd_dl_matrix")
    dim_titles = {"station": N_("Downstream rejects by station"),
                  "machine": N_("Downstream rejects by machine"),
                  "reason": N_("Downstream rejects by reason")}
    for dim in ("station", "machine", "reason"):
        with tabs[dim]:
            completeness_banner(result.completeness_of(dim), _(dim_titles[dim]))
            table = fwd.get(dim)
            if not isinstance(table, pa.Table) or table.num_rows == 0:
                st.info(_("No rejects of the defective lots' descendants at later stations."))
                continue
            machines = dim == "machine"
            click = {"on_select": "rerun", "selection_mode": "points"} if machines else {}
            top = pa.Table.from_pandas(fold_others(
                table.to_pandas(), "factor", 10, sums=("rejects", "uncharged")),
                preserve_index=False)
            event = st.plotly_chart(pareto_chart(top, _(dim_titles[dim]), value="rejects"),
                                    key=f"fwd_{dim}", **click)
            _items, rest = split_others(top.to_pandas(), "factor")
            if rest is not None:  # the bars are the top 10: the rest is said, not cut
                st.caption(_("Not drawn: the other {n}, with {pcs} pcs rejected there.").format(
                    n=fmt.count(others_count(rest["factor"])), pcs=fmt.count(rest["rejects"])))
            if machines:
                chart_pick(event, f"fwd_{dim}", "forward")
            mapping = {"factor": (FWD_DIMS[dim], 1), **FWD_VIEW}
            shown = view(table, mapping)
            if machines:
                st.caption(_(CLICK_HINT))
                event = show(shown, key=f"fwd_table_{dim}", selection_mode="single-row",
                             on_select="rerun")
                row_pick(event, f"fwd_table_{dim}", table["factor"].to_pylist(), "forward")
            else:
                show(shown, key=f"fwd_table_{dim}")
            st.download_button(_("Download {what} (CSV)").format(what=_(dim_titles[dim])),
                               lambda d=table, m=mapping: csv_of(d, m),
                               f"defects_forward_{dim}_{file_range}.csv",
                               "text/csv", key=f"fwd_dl_{dim}")
    with tabs["summary"]:
        st.markdown(summary)
    context_dialog()
