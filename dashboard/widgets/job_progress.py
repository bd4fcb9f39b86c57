"""A job progress block: one line per stage (batches done/total, rows) and a Cancel button,
and ``job_result``: the one way a page waits for, shows and ends on a background job.

Why: long work (a trace, a defect trace, a reject-history load) runs as a background job
(core.jobs); the page only reads the job's snapshot. The block re-runs itself every
second as a fragment while the job is active and reruns the whole page once it has
finished, so results appear by themselves. Every page treats an unfinished, cancelled or
failed job the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import fmt
from core.config import Settings
from core.db import LaneBusy, QueryTimeout
from core.i18n import N_, _
from core.jobs import Job, job_label, stage_text
from core.text import md_escape
from dashboard import state

POLL_S = 1.0
_STATE_WORDS = (N_("queued"), N_("running"), N_("done"), N_("failed"), N_("cancelled"))


def _render(job: Job, key: str) -> None:
    snap = job.snapshot()
    if snap["state"] == "queued":  # job_backend = rq: every worker is busy (or none alive)
        st.caption(_("Queued: waiting for a free worker."))
    for stage in snap["stages"]:
        total = stage["total"]
        done = stage["done"]
        # stage names and messages are made on the job's thread (N_, with their format
        # arguments) for sessions of any language: translated here, where they are shown
        name, message = stage_text(stage)
        label = f"**{name}**: {fmt.count(done)}" + (
            f" / {fmt.count(total)}" if total else "")
        label += " · " + _("{rows} rows").format(rows=fmt.count(stage["rows"]))
        label += f" · {fmt.number(stage['seconds'], 1)} s"
        if message:
            label += f" · {md_escape(message)}"
        if total:
            st.progress(min(1.0, done / total), text=label)
        else:
            st.caption(label)
    if job.active and st.button(_("Cancel query"), key=f"{key}.cancel",
                                icon=":material/cancel:"):
        job.cancel()
        st.rerun()


def job_progress(job: Job, *, key: str) -> None:
    """Progress of ``job``; while it runs, refreshes every second; reruns when done."""
    if not job.active:
        return

    @st.fragment(run_every=POLL_S)
    def block() -> None:
        ended = False
        label = job_label(job)  # made on the job's side for any language: formatted here
        with state.guarded(label):  # job_backend = rq: Redis may go down meanwhile
            with st.status(f"{md_escape(label)}: {_(job.state)}…", expanded=True):
                _render(job, key)
            ended = not job.active
        state.show_lane_notices()  # e.g. the shared throttle fell back while it runs
        if ended:
            st.rerun(scope="app")

    block()


def job_result(job: Job, *, key: str, settings: Settings, what: str, again: str,
               retry: Callable[[], None] | None = None) -> Any:
    """The result of a finished ``job``. Otherwise the page shows its progress (with
    Cancel) or why it ended without a result, and stops there.

    A job is waited for ``job_inline_wait_s`` first, so a short one shows its result
    without a progress flash. A job that failed on the user's input (``Job.input_error``)
    shows a warning with the message alone; any other failure is an error naming ``what``.
    ``retry``: a "Run again" button calls it (pages whose form does not rerun)."""
    job.wait(settings.job_inline_wait_s)
    if job.active:
        job_progress(job, key=key)
        st.stop()
    if job.state == "done":
        return job.result
    if job.state == "cancelled":
        st.warning(_("{what} was cancelled.").format(what=what) + f" {again}")
    elif job.input_error:
        st.warning(md_escape(job.error or _("Bad input.")))
    elif isinstance(job.exception, (LaneBusy, QueryTimeout)):  # not broken: try again later
        st.warning(f"{what}: {md_escape(job.error)} {again}")
    else:
        st.error(_("{what} failed: {error}").format(what=what, error=md_escape(job.error))
                 + f" {again} " + _("The System page shows the database lanes."))
    if retry is None and getattr(job, "retryable", False):  # worker lost, or none alive
        retry = job.resubmit  # type: ignore[attr-defined]
    if retry is not None and st.button(_("Run again"), key=f"{key}.again"):
        retry()
        st.rerun()
    st.stop()
