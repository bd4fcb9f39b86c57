"""The dashboard's entry point: a router and the frame around every page.

Why: each page should only do its own job. Everything every page needs is done once here:
settings read and validated (a bad setting is a clear message, never a traceback), the
demo database built on the first run without a configured database, the database lanes
opened once per process (an unreachable database is a clear message naming the masked
URL and what to check), and a sidebar showing the backend, how fresh the live snapshot
is (re-checked cheaply every ``snapshot_refresh_s`` in a fragment, so the page itself is
not rerun) and the current WIP by status.

Run with ``streamlit run dashboard/app.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` without `pip install -e .`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from core import fmt, realtime  # noqa: E402
from core.config import Settings, SettingsError  # noqa: E402
from core.db import DatabaseUnavailable, Lanes  # noqa: E402
from core.i18n import N_, _  # noqa: E402
from core.redact import mask_text  # noqa: E402
from dashboard import first_run, state  # noqa: E402

log = logging.getLogger("mesdash.dashboard")

# Not "pages/": a folder of that name beside the entry point switches Streamlit into its
# legacy pages-directory mode, where a first visit to e.g. /system after a server start
# runs the page without this frame (no settings check, no sidebar) until "/" is visited.
# Re-checked on Streamlit 1.67 in Chromium (tests/test_browser_smoke.py deep-links first):
# with dashboard/pages/ the first /system shows file-name navigation and no frame.
PAGES_DIR = Path(__file__).resolve().parent / "views"

# (file, title, icon, url path)
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("trace.py", N_("Trace"), ":material/account_tree:", "trace"),
    ("defect_trace.py", N_("Defect trace"), ":material/bug_report:", "defect_trace"),
    ("reject_history.py", N_("Reject history"), ":material/bar_chart:", "reject_history"),
    ("wip_hold.py", N_("WIP hold"), ":material/pause_circle:", "wip_hold"),
    ("containment.py", N_("Containment"), ":material/shield:", "containment"),
    ("system.py", N_("System"), ":material/monitor_heart:", "system"),
)
SYSTEM_PAGE = "system"
DEFAULT_PAGE_RESERVED = "start"


def forward_to(page: st.Page, url_path: str) -> st.Page:
    """A hidden page at ``url_path`` (``page``'s own) that forwards to it with the query.

    Streamlit serves the default page (Trace) at "/" and only reserves its url path, so a
    link typed or shared as /trace?kind=...&values=... showed "Page not found" before the
    trace. The alias keeps such links working (repeated parameters included); the default
    page reserves ``DEFAULT_PAGE_RESERVED`` instead, which nothing links to."""

    def forward() -> None:
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        st.switch_page(page, query_params=params)

    return st.Page(forward, title=page.title, url_path=url_path, visibility="hidden")


def not_found_page(path: str) -> st.Page:
    """A hidden page at the unknown ``path`` a user typed or followed (``/nonexistent``):
    it says the page does not exist and links every page.

    Streamlit 1.67's st.navigation runs the default page (Trace) for an unknown path and
    the browser shows an English "Page not found" dialog over it, then rewrites the
    address to "/": a user saw Trace with no word about the link they followed. Registered
    at the requested path, the page is what st.navigation resolves, so the address stays
    as typed and no dialog comes."""

    def view() -> None:
        show_not_found(path)

    return st.Page(view, title=_("Page not found"), icon=":material/help:",
                   url_path=path, visibility="hidden")


def show_not_found(path: str | None) -> None:
    """The not-found message and a link to every page (``path`` None: a page of an
    earlier version of the app, known only by its id)."""
    st.title(_("Page not found"))
    if path:
        st.warning(_("The page `/{path}` does not exist.").format(path=path.replace("`", "'")),
                   icon=":material/link_off:")
    else:
        st.warning(_("The page you asked for does not exist."), icon=":material/link_off:")
    st.write(_("Open one of the pages:"))
    for file, title, icon, _url in PAGES:
        st.page_link(str(PAGES_DIR / file), label=_(title), icon=icon)


def settings_or_stop() -> Settings:
    try:
        return state.get_settings()
    except SettingsError as exc:
        problems = "\n".join(f"- {p}" for p in exc.problems)
        st.error(
            _("**The dashboard cannot start: its settings are invalid.**") + "\n\n"
            f"{problems}\n\n"
            + _("Fix the environment variables (`MES_<SETTING>`) or `.streamlit/secrets.toml`, "
                "then reload the page.")
        )
        st.stop()
        raise  # unreachable: st.stop() ends the run


def build_demo_or_stop(settings: Settings) -> None:
    """First run on the demo database: build it, showing progress. The box goes once the
    database is ready (the page is drawn below it on the same run)."""
    box = st.empty()
    with box.container(), st.status(
        _("Building the demo database (first run only)…"), expanded=True
    ) as status:
        st.write(
            _("No database is configured (`MES_DB_URL` is empty), so the dashboard builds "
              "its demo database `{path}` ({scale} scale).").format(
                path=settings.demo_db_path, scale=settings.demo_scale)
        )
        bar = st.progress(0.0, text=_("Starting…"))

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=_(stage))

        def waiting() -> None:
            st.write(_("Another session is building it right now; waiting for it to "
                       "finish…"))

        try:
            first_run.build_demo_file(settings, progress=progress, on_wait=waiting)
        except Exception as exc:
            log.exception("building the demo database failed")
            status.update(label=_("Building the demo database failed"), state="error")
            st.error(
                _("Building the demo database `{path}` failed: {error}").format(
                    path=settings.demo_db_path, error=f"{type(exc).__name__}: {exc}")
                + "\n\n" + _("Check that its folder is writable and has free space, or set "
                             "`MES_DB_URL` to a real database.")
            )
            st.stop()
        bar.progress(1.0, text=_("Done"))
    box.empty()  # the first-run message goes: the page follows on this same run
    st.toast(_("Demo database ready"), icon=":material/check_circle:")


def open_lanes_or_none(settings: Settings) -> Lanes | None:
    """The process's lanes, or None after showing why the database cannot be used."""
    try:
        with st.spinner(_("Connecting to the database…")):
            lanes = state.get_lanes(settings)
    except DatabaseUnavailable as exc:
        st.error(state.unreachable_message(settings, exc))
    except Exception as exc:
        log.exception("opening the database lanes failed")
        st.error(
            _("Opening the database at `{url}` failed: {error}").format(
                url=state.mask_url(settings.effective_db_url),
                error=f"{type(exc).__name__}: {mask_text(str(exc))}")
        )
    else:
        state.set_lanes_problem(None)
        state.show_lane_notices()  # above the page: e.g. the shared throttle fell back
        return lanes
    state.set_lanes_problem("unavailable")
    if st.button(_("Retry the connection"), icon=":material/refresh:"):
        state.reset_lanes()
        st.rerun()
    return None


def wip_markdown(wip: dict) -> str:
    def row(label: str, part: dict) -> str:
        return f"| {label} | {fmt.count(part['lots'])} | {fmt.count(part['qty'])} |"

    hold = wip["HOLD"]
    return "\n".join(
        [
            "| WIP | {lots} | {pcs} |".format(lots=_("LOT"), pcs=_("pcs")),
            "|:--|--:|--:|",
            row("RUN", wip["RUN"]),
            row("QUEUE", wip["QUEUE"]),
            row("HOLD", hold),
            row("↳ " + _("quality"), hold["quality"]),
            row("↳ " + _("non-quality"), hold["non_quality"]),
            row("**{}**".format(_("Total")), wip["total"]),
        ]
    )


def sidebar(settings: Settings, lanes: Lanes) -> None:
    st.caption(_("Backend **{backend}** · `{url}`").format(backend=lanes.backend,
                                                         url=lanes.url_display))

    @st.fragment(run_every=settings.snapshot_refresh_s)
    def live_panel() -> None:
        with state.guarded(_("Live snapshot")):
            snap = realtime.snapshot_time(lanes)
            if snap is None:
                st.warning(_("The live snapshot (dw_mes_lot_v) is empty: no WIP to show."))
                return
            age_s = (state.now_like(snap) - snap).total_seconds()
            text = _("Data as of {time}, {age}").format(
                time=fmt.datetime(snap, seconds=False), age=fmt.age(age_s))
            if settings.uses_demo:
                # the demo is a fixed snapshot: its age grows but it is never "stale"
                st.caption(":material/science: " + _(
                    "Data as of {time} (demo data: a fixed snapshot built with the demo "
                    "database, not live)").format(time=fmt.datetime(snap, seconds=False)))
            elif age_s > settings.snapshot_stale_s:
                st.warning(
                    _("{text}. The live snapshot is older than {limit}: it may be "
                      "stale.").format(text=text, limit=fmt.duration(settings.snapshot_stale_s)),
                    icon=":material/schedule:",
                )
            else:
                st.caption(f":material/schedule: {text}")
            wip = state.wip_summary_at(lanes, settings, settings.effective_db_url, snap)
            st.markdown(wip_markdown(wip))

    live_panel()


def main() -> None:
    st.set_page_config(layout="wide", page_title=_("MES dashboard"))
    settings = settings_or_stop()
    state.choose_language(settings)
    with st.sidebar:
        state.language_picker()
    if first_run.demo_needed(settings):
        build_demo_or_stop(settings)
    pages = [
        st.Page(str(PAGES_DIR / file), title=_(title), icon=icon,
                url_path=DEFAULT_PAGE_RESERVED if i == 0 else url, default=i == 0)
        for i, (file, title, icon, url) in enumerate(PAGES)
    ]
    alias = forward_to(pages[0], PAGES[0][3])
    known = [*pages, alias]
    unknown = state.unknown_page_path({p.url_path for p in known} | {"", DEFAULT_PAGE_RESERVED})
    try:
        missing = not_found_page(unknown) if unknown else None
    except st.errors.StreamlitAPIException:  # a path st.Page refuses: Streamlit's fallback
        missing = None
    current = st.navigation([*known, missing] if missing else known)
    if current.url_path == alias.url_path:
        current.run()  # forwards: nothing else to do on this run
    if missing is None and state.unknown_page_id({p._script_hash for p in known}):
        # an id of no page (an old tab after an upgrade): Streamlit fell back to Trace
        show_not_found(None)
        st.stop()
    lanes = open_lanes_or_none(settings)
    if lanes is None:
        if current.url_path == SYSTEM_PAGE or current is missing:
            with state.guarded(current.title):
                current.run()  # the System page works without a database (settings, retry)
        st.stop()
    with st.sidebar:
        sidebar(settings, lanes)
    with state.guarded(current.title):  # the one catch of InputError on a page
        current.run()


main()
