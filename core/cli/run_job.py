"""Running a job from the command line: submit, wait with a progress line, map the outcome.

Why: every command that runs long work (trace, defects, rejects) runs the same job as
the page (core.jobs), and each wrote its own wait loop and error mapping before. Here
it is once: the progress line on stderr (only when the output is text, so ``--json``
stdout stays one object), and what an unfinished job means for the exit code: the
user's input error raised inside the job (``Job.input_error``) and a lane error are
re-raised for ``main`` to say (exit 1; 3, or 4 for busy/timeout), anything else is
one line and 4 when cancelled, 3 when failed. ``job_manager`` gives the backend the
``job_backend`` setting names (``--local``: this process's threads whatever the
setting), and closes it when the command is done with it: the thread backend cancels
what still runs and deletes the spools; with ``rq`` the job stays on the queue, shared
(its result expires with ``job_ttl_s``). On the queue, "no worker" (``NoWorker``) and a
lost worker are re-raised too: exit 4 and 3 (core.cli.main), like Redis down (3).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.jobs import Job

POLL_S = 0.5
"""How often the progress line is redrawn."""
LINE_CHARS = 110


def add_local_flag(parser: Any) -> None:
    """``--local``: run the job in this process even when job_backend = rq."""
    parser.add_argument("--local", action="store_true",
                        help=_("run the job in this process, not on the job queue's workers "
                             "(job_backend = rq)"))


@contextmanager
def job_manager(settings: Settings, *, local: bool = False) -> Iterator[Any]:
    """The job backend for one command (``local``: the thread backend), closed after."""
    from core.jobs import ThreadBackend, make_backend

    manager = ThreadBackend(settings) if local else make_backend(settings)
    try:
        yield manager
    finally:
        manager.close()


def progress_line(job: Job) -> str:
    """The job's stages in one line: ``name done/total`` each."""
    from core.jobs import stage_text

    stages = job.snapshot()["stages"]
    return " · ".join(f"{stage_text(s)[0]} {s['done']}/{s['total'] or '?'}" for s in stages)


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
    from core.i18n import _

    print("mesdash: " + _("{what} {state}: {error}").format(what=what, state=_(job.state),
                                                            error=job.error), file=sys.stderr)
    return 4 if job.state == "cancelled" else 3
