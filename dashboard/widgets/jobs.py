"""A job progress block: one line per stage (batches done/total, rows) and a Cancel button.

Why: a long trace runs as a background job (core.trace.jobs); the page only reads the
job's snapshot. The block re-runs itself every second as a fragment while the job is
active and reruns the whole page once it has finished, so results appear by themselves.
"""

from __future__ import annotations

import streamlit as st

from core.trace import Job

POLL_S = 1.0


def _render(job: Job, key: str) -> None:
    snap = job.snapshot()
    for stage in snap["stages"]:
        total = stage["total"]
        done = stage["done"]
        label = f"**{stage['name']}**: {done:,}" + (f" / {total:,}" if total else "")
        label += f" · {stage['rows']:,} rows · {stage['seconds']:.1f} s"
        if stage["message"]:
            label += f" · {stage['message']}"
        if total:
            st.progress(min(1.0, done / total), text=label)
        else:
            st.caption(label)
    if job.active and st.button("Cancel", key=f"{key}.cancel", icon=":material/cancel:"):
        job.cancel()
        st.rerun()


def job_progress(job: Job, *, key: str) -> None:
    """Progress of ``job``; while it runs, refreshes every second; reruns when done."""
    if not job.active:
        return

    @st.fragment(run_every=POLL_S)
    def block() -> None:
        with st.status(f"{job.label}: {job.state}…", expanded=True):
            _render(job, key)
        if not job.active:
            st.rerun(scope="app")

    block()
