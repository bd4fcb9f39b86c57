"""Running a job from the command line: submit, wait with a progress line, map the outcome.

Why: every command that runs long work (trace, defects, rejects) runs the same job as
the page (core.jobs), and each wrote its own wait loop and error mapping before. Here
it is once: the progress line on stderr (only when the output is text, so ``--json``
stdout stays one object), and what an unfinished job means for the exit code: the
user's input error raised inside the job (``Job.input_error``) and a lane error are
re-raised for ``main`` to say (exit 1; 3, or 4 for busy/timeout), anything else is
one line and 4 when cancelled, 3 when failed. ``job_manager`` closes the manager
(cancelling what still runs and deleting the spools) when the command is done with it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.jobs import Job, JobManager

POLL_S = 0.5
"""How often the progress line is redrawn."""
LINE_CHARS = 110


@contextmanager
def job_manager(settings: Settings) -> Iterator[JobManager]:
    """A job manager for one command, closed (jobs cancelled, spools deleted) after."""
    from core.jobs import JobManager

    manager = JobManager(settings)
    try:
        yield manager
    finally:
        manager.close()


def progress_line(job: Job) -> str:
    """The job's stages in one line: ``name done/total`` each."""
    stages = job.snapshot()["stages"]
    return " · ".join(f"{s['name']} {s['done']}/{s['total'] or '?'}" for s in stages)


def wait_for(job: Job, *, what: str, show_progress: bool = True) -> int | None:
    """Wait for ``job``; None when done, else the exit code after saying why (or raise
    its ``InputError`` or ``LaneError`` for ``main`` to say)."""
    from core.db import LaneError

    last = ""
    while not job.wait(POLL_S):
        if show_progress:
            line = progress_line(job)
            if line != last:
                print(f"\r{line[:LINE_CHARS]:<{LINE_CHARS}}", end="", file=sys.stderr,
                      flush=True)
                last = line
    if show_progress and last:
        print(file=sys.stderr)
    if job.state == "done":
        return None
    exc = job.exception
    if job.input_error and exc is not None:
        raise exc  # main() says it and exits 1
    if job.state == "failed" and isinstance(exc, LaneError):
        raise exc  # main() says it and exits 4 (busy, timeout) or 3
    print(f"mesdash: {what} {job.state}: {job.error}", file=sys.stderr)
    return 4 if job.state == "cancelled" else 3
