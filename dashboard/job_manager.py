"""One job backend per server process, shared by every page and session.

Why: a trace or defect analysis runs as a background job (core.jobs) so the page stays
responsive; identical requests from two sessions must share one job, which needs one
backend per process: st.cache_resource gives exactly that. The ``job_backend`` setting
chooses it: ``thread`` runs jobs in this process (closed, jobs cancelled and spools
deleted, when the cache is cleared); ``rq`` puts them on the Redis queue for ``mesdash
worker`` processes, shared with every replica (closing lets go of this process's view
only).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import Settings
from core.jobs import make_backend


def _close(manager: Any) -> None:
    manager.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def _manager(_settings: Settings, key: str) -> Any:
    return make_backend(_settings)


def get_job_manager(settings: Settings) -> Any:
    return _manager(settings, repr(settings))
