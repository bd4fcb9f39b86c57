"""One background-job manager per server process, shared by every page and session.

Why: a trace or defect analysis runs on a thread in the server process (core.jobs)
so the page stays responsive; identical requests from two sessions must share one job,
which needs one manager per process: st.cache_resource gives exactly that. The manager
is closed (jobs cancelled, spools deleted) when the cache is cleared.
"""

from __future__ import annotations

import streamlit as st

from core.config import Settings
from core.jobs import JobManager


def _close(manager: JobManager) -> None:
    manager.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def _manager(_settings: Settings, key: str) -> JobManager:
    return JobManager(_settings)


def get_job_manager(settings: Settings) -> JobManager:
    return _manager(settings, repr(settings))
