"""What runs jobs: the small interface every job backend implements.

Why: by default every job runs on a thread of the server process (``ThreadBackend``,
core.jobs._threads): fine for one server, but a job dies with its process and cannot be
shared between servers. ``core.jobs.rq.RqBackend`` (issue 18) runs them on python-rq
workers through Redis instead (the worker runs the job's ``Task`` against a Job whose
stages and outcome it reports to Redis; the page's Job reads them back; the spool sits on
storage both can reach). The ``job_backend`` setting chooses one (``core.jobs.make_backend``,
used by dashboard/job_manager.py and the CLI). Callers that only know a request's key
(core.jobs._keys) use these methods; pages that hold the Job read its attributes directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from core.jobs._job import Job


@runtime_checkable
class JobBackend(Protocol):
    def submit(self, key: str, fn: Callable[[Job], Any], *, label: str,
               fresh: bool = False, owner: str | None = None,
               label_args: dict[str, Any] | None = None) -> Job:
        """The job for ``key``: the one already queued, running or done, else a new one.
        ``label``: a msgid (N_) formatted with ``label_args`` where shown (job_label)."""
        ...

    def by_key(self, key: str) -> Job | None:
        """Get the job for ``key`` (None when there is none or it expired)."""
        ...

    def cancel(self, key: str, wait_s: float = ...) -> bool:
        """Cancel the job for ``key``; True when it has ended."""
        ...

    def progress(self, key: str) -> dict[str, Any] | None:
        """State, stages and error of the job for ``key``."""
        ...

    def result(self, key: str) -> Any:
        """The finished job's result (None until done)."""
        ...

    def close(self) -> None:
        """Cancel every job and release what they hold."""
        ...
