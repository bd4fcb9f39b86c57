"""System page: the settings in effect, the database backend and the lanes' live statistics.

Why: in the incident of domain.md nobody could see the pool filling up or the live queries
slowing down until the web worker died. This page shows, refreshed every system_refresh_s
seconds in a fragment (the rest of the page does not rerun), each lane's pool use, throttle
permits, latency percentiles, timeouts and errors, the process's background jobs (with
Cancel), plus every setting with its allowed values and credentials masked, and a button
that tests the connection. It
also works when the database is unreachable, so the settings can be checked then.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psutil
import streamlit as st

from core import fmt, realtime
from core.config import ENV_PREFIX, SETTINGS_DOC, allowed
from core.i18n import _
from dashboard import state
from dashboard.job_manager import get_job_manager
from dashboard.widgets import tables
from dashboard.widgets.kpis import Kpi, kpi_row

settings = state.get_settings()
lanes = state.lanes_or_none(settings)

st.title(_("System"))

# --- connection ------------------------------------------------------------------------------
st.subheader(_("Database"))
if lanes is not None:
    st.markdown(_("Backend **{backend}** at `{url}`").format(backend=lanes.backend,
                                                          url=lanes.url_display))
else:
    st.markdown(_("Not connected. Configured URL: `{url}`").format(
        url=state.mask_url(settings.effective_db_url)))
if st.button(_("Test connection"), icon=":material/network_check:"):
    if lanes is None:
        state.reset_lanes()
        state.set_lanes_problem(None)
        st.rerun()  # the frame reconnects and reports
    with state.guarded(_("Test connection")):
        ms = realtime.ping(lanes)
        snap = realtime.snapshot_time(lanes)
        shown = fmt.datetime(snap) if snap else _("no snapshot rows")
        st.success(_("Connected: round trip {ms} ms; live snapshot as of {time}.").format(
            ms=fmt.number(ms, 1), time=shown))


# --- lane statistics -------------------------------------------------------------------------
def _num(value: Any, fmt: str = "{:,.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def _lane_panel(name: str, data: dict[str, Any]) -> None:
    pool = data.get("pool", {}) or {}
    lat = data.get("latency_ms", {}) or {}
    st.markdown(f"**{name}**")
    sampled = bool(lat.get("count"))  # no samples yet: show a dash, not a fake 0 ms
    kpi_row([
        Kpi(_("Checked out"), f"{_num(pool.get('checked_out'))} / {_num(pool.get('size'))}"),
        Kpi(_("Overflow"), _num(pool.get("overflow"))),
        Kpi(_("Waiting"), _num(pool.get("waiting"))),
        Kpi(_("Latency samples"), _num(lat.get("count"))),
        *(Kpi(f"{key} ms", _num(lat.get(key) if sampled else None, "{:,.1f}"))
          for key in ("p50", "p95", "p99")),
        Kpi(_("Timeouts / errors"),
            f"{_num(data.get('timeouts'))} / {_num(data.get('errors'))}"),
    ])


def _throttle_panel(throttle: dict[str, Any]) -> None:
    st.markdown("**{}**".format(_("Slow-lane throttle")))
    kpi_row([
        Kpi(_("Kind"), str(throttle.get("kind", "–"))),
        Kpi(_("Permits in use"),
            f"{_num(throttle.get('in_use'))} / {_num(throttle.get('permits'))}"),
        Kpi(_("Waiting"), _num(throttle.get("waiting"))),
    ])
    detail = throttle.get("detail") or ""
    if throttle.get("degraded"):
        st.warning(_("Throttle degraded: {detail}").format(detail=detail or _("no detail given")),
                   icon=":material/warning:")
    else:
        st.caption(":material/check_circle: " + _("Throttle healthy.") + f" {detail}")


@st.fragment(run_every=settings.system_refresh_s)
def lane_statistics() -> None:
    st.subheader(_("Lanes"))
    if lanes is None:
        st.info(_("No statistics: the database is not connected."))
        return
    with state.guarded(_("Lane statistics")):
        stats = lanes.stats()
        left, right = st.columns(2, gap="large")
        with left:
            _lane_panel(_("Realtime lane"), stats.get("realtime", {}) or {})
        with right:
            slow = stats.get("slow", {}) or {}
            _lane_panel(_("Slow lane"), slow)
            _throttle_panel(slow.get("throttle", {}) or {})
        rss = psutil.Process().memory_info().rss
        st.metric(_("Memory of this dashboard process (RSS)"),
                  f"{fmt.number(rss / 2**20)} MiB",
                  help=_("What the server process holds now: live data, finished jobs' "
                         "results (reject slicers, defect tables), caches. The incident's "
                         "three copies of a trace result ran a 7 GB machine out of memory."))
        st.caption(_("Refreshed every {seconds} s.").format(seconds=settings.system_refresh_s))
        with st.expander(_("Raw statistics")):
            st.json(stats)


lane_statistics()


# --- jobs ----------------------------------------------------------------------------------
def _backend_panel(status: dict[str, Any]) -> None:
    """Where jobs run (job_backend): this process, or the queue with its workers."""
    c = st.columns(4)
    if status["backend"] == "rq":
        c[0].metric(_("Job backend"), f"rq · {status['queue']}",
                    help=_("Jobs run on `mesdash worker` processes through Redis, shared "
                           "by every dashboard replica (setting job_backend)."))
        c[2].metric(_("Workers alive"), f"{status['workers']:,}")
        if not status["workers"]:
            st.warning(_("No worker is alive on the job queue: traces, defect traces, "
                         "containments and reject-history loads wait {s:g} s, then fail. "
                         "Start `mesdash worker`.").format(s=settings.worker_wait_s))
    else:
        c[0].metric(_("Job backend"), "thread",
                    help=_("Jobs run on threads of this dashboard process (setting "
                           "job_backend)."))
        c[2].metric(_("Workers alive"), "–")
    c[1].metric(_("Queued"), f"{status['queued']:,}")
    c[3].metric(_("Jobs running"), f"{status['running']:,}")


@st.fragment(run_every=settings.system_refresh_s)
def jobs_panel() -> None:
    """The background jobs of this server process (traces, defect traces, reject-history
    loads): what runs, what is held and for how long, with Cancel for a running one."""
    st.subheader(_("Jobs"))
    manager = get_job_manager(settings)
    rows = None
    with state.guarded(_("Job queue")):  # job_backend = rq: Redis may be down
        _backend_panel(manager.status())
        rows = manager.overview()
    if rows is None:
        return
    if not rows:
        st.caption(_("No background job in this process."))
        return
    shown = pd.DataFrame(rows).drop(columns=["id"])
    tables.show(shown.assign(state=[_(s) for s in shown["state"]]),  # its label: "Now"
                column_config={"private": st.column_config.CheckboxColumn()})
    active = {r["id"]: f"{r['job']} ({r['stage'] or r['state']})" for r in rows
              if r["state"] in ("queued", "running")}
    if active:
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(_("Running job"), list(active), format_func=active.get,
                            key="sys_job")
        if c2.button(_("Cancel job"), icon=":material/cancel:", key="sys_job_cancel"):
            job = manager.get(pick)
            if job is not None:
                job.cancel()
            st.rerun()
    st.caption(_("Finished jobs are kept {ttl} s (job_ttl_s); reject-history loads at most "
                 "{entries} (reject_cache_entries) holding at most {mb} MB "
                 "(reject_cache_mb).").format(ttl=fmt.count(settings.job_ttl_s),
                                               entries=fmt.count(settings.reject_cache_entries),
                                               mb=fmt.count(settings.reject_cache_mb)))


jobs_panel()

# --- settings ----------------------------------------------------------------------------------
st.subheader(_("Settings in effect"))
st.caption(
    _("Read once per process from the environment (`MES_<NAME>`), `.streamlit/secrets.toml` "
      "and the defaults; credentials are masked. *Allowed*: the values each setting accepts "
      "(anything else stops the app with a message naming it).")
)
rows = [
    {
        "setting": name,
        "setting_value": state.displayed_setting(settings, name),
        "setting_default": _("yes") if getattr(settings, name) == default else "",
        "setting_allowed": allowed(name),
        "setting_env": f"{ENV_PREFIX}{name.upper()}",
        "what_it_protects": _(doc),  # a catalog message (core.i18n.extract adds it)
    }
    for name, (doc, default) in SETTINGS_DOC.items()
]
tables.show(
    pd.DataFrame(rows),
    height="content",
    column_config={
        "setting_value": st.column_config.TextColumn(width="medium"),
        "what_it_protects": st.column_config.TextColumn(width="large"),
    },
)
