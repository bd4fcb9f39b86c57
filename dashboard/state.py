"""Process-wide resources and small helpers shared by the frame (app.py) and every page.

Why: Streamlit re-executes the script on every interaction. Settings must be read once and
the database lanes (two engines, two pools, a throttle) must exist once per process, not
once per rerun or per session, or the pools multiply and the incident in domain.md comes
back. ``st.cache_resource`` gives exactly that; ``on_release`` closes the lanes when the
cache is cleared. Pages also share a few presentation helpers here (URL masking, error
boxes that never show a traceback, state kept in ``st.query_params``) so they stay thin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import streamlit as st

from core import fmt, i18n, realtime
from core.config import Settings, load_settings, shown_value
from core.db import DatabaseUnavailable, LaneBusy, LaneError, Lanes, QueryTimeout, open_lanes
from core.errors import InputError
from core.i18n import _
from core.redact import mask_text, mask_url
from core.text import md_escape

log = logging.getLogger("mesdash.dashboard")


# ---------------------------------------------------------------------------------------------
# Cached resources
# ---------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    """Settings, read and validated once per process (SettingsError is not cached)."""
    return load_settings()


def _close_lanes(lanes: Lanes) -> None:
    try:
        lanes.close()
    except Exception:  # closing must never break a cache clear
        log.exception("closing the database lanes failed")


@st.cache_resource(show_spinner=False, on_release=_close_lanes)
def _lanes_for(_settings: Settings, key: str) -> Lanes:
    # ``key`` (the settings' repr) is the cache key; ``_settings`` itself is not hashed.
    lanes = open_lanes(_settings)
    try:
        # One round trip when the lanes are first opened, so an unreachable server is
        # reported by the frame (with what to check) rather than by the first widget.
        realtime.ping(lanes)
    except BaseException:
        _close_lanes(lanes)
        raise
    return lanes


def get_lanes(settings: Settings) -> Lanes:
    """The one Lanes of this process for these settings; raises DatabaseUnavailable."""
    return _lanes_for(settings, repr(settings))


def reset_lanes() -> None:
    """Forget the cached lanes (closing them), so the next get_lanes reconnects."""
    _lanes_for.clear()


_LANES_PROBLEM_KEY = "mesdash.lanes_problem"


def set_lanes_problem(problem: str | None) -> None:
    """The frame records whether this session's run could open the lanes."""
    st.session_state[_LANES_PROBLEM_KEY] = problem


def lanes_or_none(settings: Settings) -> Lanes | None:
    """The lanes, or None when the frame already reported the database unavailable (a
    page that can work without a database uses this instead of get_lanes)."""
    if st.session_state.get(_LANES_PROBLEM_KEY):
        return None
    try:
        return get_lanes(settings)
    except Exception:
        return None


def show_lane_notices() -> None:
    """A warning per notice of the process's lanes (the shared throttle fell back to a
    local one): the frame shows them above every page, a job's progress block while it
    runs, so whoever is running something sees it, not only the System page."""
    lanes = lanes_or_none(get_settings())
    for notice in lanes.notices() if lanes is not None else []:
        st.warning(notice[:1].upper() + notice[1:], icon=":material/warning:")


# ---------------------------------------------------------------------------------------------
# Cached reads of the live snapshot
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def wip_summary_at(
    _lanes: Lanes, _settings: Settings, url: str, snapshot: datetime | None
) -> dict[str, Any]:
    """WIP summary, recomputed only when the snapshot time (or the database) changes."""
    return realtime.wip_summary(_lanes, _settings)


# ---------------------------------------------------------------------------------------------
# Presentation helpers
# ---------------------------------------------------------------------------------------------


def displayed_setting(settings: Settings, name: str) -> str:
    """A setting's value as text, with credentials masked (``shown_value``)."""
    value = shown_value(name, getattr(settings, name))
    if isinstance(value, tuple):
        return "; ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if value in (None, ""):
        return _("(empty)")
    return str(value)


def unreachable_message(settings: Settings, exc: BaseException) -> str:
    """What failed, where (URL masked), and what to check: for st.error."""
    url = mask_url(settings.effective_db_url)
    if settings.uses_demo:
        hint = _(
            "No database is configured, so the dashboard uses its demo file "
            "`{path}`. Check that the file is not being written by another "
            "program; delete it to have it rebuilt on the next start, or set `MES_DB_URL`."
        ).format(path=settings.demo_db_path)
    else:
        hint = _("The System page shows the settings in effect and can test the connection "
                 "again.")
    detail = mask_text(str(exc).strip()) or type(exc).__name__
    if not settings.uses_demo and "check" not in detail.lower():
        # The lanes' own messages already say what to check; add it when one does not.
        hint = _(
            "Check that the server is running and reachable from this machine (host, port, "
            "firewall, VPN) and that the user and password in `MES_DB_URL` (or "
            "`[connections.mes] url` in .streamlit/secrets.toml) are right."
        ) + " " + hint
    head = _("**Cannot reach the MES database** at `{url}`.").format(url=url)
    return f"{head}\n\n{detail}\n\n{hint}"


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Show a failure of ``what`` as a message box instead of a traceback.

    Bad input (``core.errors.InputError``: seeds, dates, requests, a link's parameters) is
    a warning with its message; lane errors already carry a plain-language message;
    anything else is logged with its traceback on the server and summarised on the page.
    Every message is escaped (``md_escape``): it may quote the input or the data.
    The app wraps every page in it, so an input error no page catches still ends as a
    message. Streamlit's st.stop / st.rerun are not ``Exception``s and pass through.
    """
    try:
        yield
    except InputError as exc:
        st.warning(f"{what}: {md_escape(exc)}")
    except LaneBusy as exc:
        st.warning(f"{what}: {md_escape(exc)}")
    except QueryTimeout as exc:
        st.warning(f"{what}: {md_escape(exc)}")
    except DatabaseUnavailable as exc:
        st.error(_("{what}: the database is unavailable.").format(what=what)
                 + f" {md_escape(exc)}")
    except LaneError as exc:
        st.error(f"{what}: {md_escape(exc)}")
    except Exception as exc:
        log.exception("%s failed", what)
        st.error(_("{what} failed: {error}").format(
            what=what, error=f"{type(exc).__name__}: {md_escape(mask_text(str(exc)))}"))


def humanize_age(seconds: float) -> str:
    """'just now', '5 min ago', '2 h 10 min ago', '3 d 2 h ago' (core.fmt.age, in the
    current language)."""
    return fmt.age(seconds)


# ---------------------------------------------------------------------------------------------
# Language: chosen once per run, remembered per session
# ---------------------------------------------------------------------------------------------

LANG_KEY = "mesdash.lang"
LANG_PARAM = "lang"


def _session_language() -> str | None:
    """The session's language for runs that did not set one (fragment reruns)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(LANG_KEY)


i18n.set_resolver(_session_language)


def choose_language(settings: Settings) -> str:
    """This run's language: the URL's ``lang``, else the session's earlier choice (the
    sidebar, or a ``lang`` link followed before), else the ``language`` setting, else the
    browser's (zh-* is 繁體中文), else English. An explicit choice stays in the URL so a
    shared link opens in the same language."""
    url = i18n.normalize(query_param(LANG_PARAM))
    chosen = url or st.session_state.get(f"{LANG_KEY}.explicit")
    setting = None if settings.language == "auto" else settings.language
    try:
        browser = st.context.locale
    except Exception:  # outside a browser session (AppTest)
        browser = None
    lang = i18n.choose(chosen, setting, browser)
    if chosen:
        st.session_state[f"{LANG_KEY}.explicit"] = lang
        set_query_param(LANG_PARAM, lang)
    st.session_state[LANG_KEY] = lang
    i18n.set_language(lang)
    return lang


def choose_options() -> str:
    """The placeholder of an empty multiselect in the current language: Streamlit's own
    default ("Choose options") is English whatever the language. Pages pass
    ``placeholder=state.choose_options()``; ``choose_option()`` for a selectbox."""
    return _("Choose options")


def choose_option() -> str:
    return _("Choose an option")


def language_picker() -> None:
    """The sidebar's language switch (written to the URL and the session)."""
    codes = list(i18n.LANGUAGES)

    def picked() -> None:
        lang = st.session_state.get("mesdash.lang_picker")
        st.session_state[f"{LANG_KEY}.explicit"] = lang
        set_query_param(LANG_PARAM, lang)

    st.session_state["mesdash.lang_picker"] = i18n.current()
    st.selectbox("Language / 語言", codes, key="mesdash.lang_picker",
                 format_func=lambda c: i18n.LANGUAGES[c], on_change=picked)


# ---------------------------------------------------------------------------------------------
# Unknown page paths
# ---------------------------------------------------------------------------------------------

_UNKNOWN_KEY = "mesdash.unknown_pages"


def _pages_manager() -> Any:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.pages_manager


def unknown_page_path(known_paths: set[str]) -> str | None:
    """The page path this run was asked for when it names no page (``/nonexistent``),
    else None. Read from Streamlit's page manager (the browser sends the path on the
    first load; later reruns of that page send only its id, remembered here per session).
    """
    from streamlit.util import calc_hash

    manager = _pages_manager()
    if manager is None:
        return None
    name = (manager.intended_page_name or "").strip().strip("/")
    seen: dict[str, str] = st.session_state.setdefault(_UNKNOWN_KEY, {})
    if not name:
        name = seen.get(manager.intended_page_script_hash or "", "")
    if not name or name in known_paths or "/" in name:
        return None
    seen[calc_hash(name)] = name
    return name


def unknown_page_id(known_ids: set[str]) -> bool:
    """True when this run was asked for a page id no page has (a tab left open across an
    upgrade that renamed a page): Streamlit then runs the default page."""
    manager = _pages_manager()
    wanted = manager.intended_page_script_hash if manager is not None else None
    return bool(wanted) and wanted not in known_ids


def now_like(value: datetime) -> datetime:
    """The current time, naive or aware like ``value`` (snapshots are usually naive)."""
    if value.tzinfo is None:
        return datetime.now()
    return datetime.now(value.tzinfo)


# ---------------------------------------------------------------------------------------------
# Page state in the URL (shareable links)
# ---------------------------------------------------------------------------------------------


def session_id() -> str | None:
    """This browser session's id (the owner of the jobs it starts), None outside a run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def query_param(name: str, default: str | None = None) -> str | None:
    """A single value from the URL's query string."""
    value = st.query_params.get(name)
    return default if value in (None, "") else value


def query_param_list(name: str) -> list[str]:
    """Every value of a repeated query parameter (?lot=a&lot=b)."""
    return [v for v in st.query_params.get_all(name) if v]


def set_query_param(name: str, value: str | list[str] | None) -> None:
    """Set (or, with None or an empty value, remove) a query parameter."""
    if value is None or value == "" or value == []:
        if name in st.query_params:
            del st.query_params[name]
        return
    if st.query_params.get_all(name) == ([value] if isinstance(value, str) else value):
        return  # unchanged: writing would trigger a needless rerun
    st.query_params[name] = value


# ---------------------------------------------------------------------------------------------
# Trace: the small-set result cache (one per process)
# ---------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _trace_cache(_settings: Settings, key: str) -> Any:
    from core.trace import DomainCache

    return DomainCache(_settings)


def get_trace_cache(settings: Settings) -> Any:
    """The process's DomainCache (memory LRU + Redis when configured) for trace jobs: only
    container sets up to settings.cache_max_ids are ever stored, keyed by an id digest."""
    return _trace_cache(settings, repr(settings))
