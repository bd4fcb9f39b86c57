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

from core.jobs._job import CANCEL_WAIT_S, Job


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


class ByKey:
    """The JobBackend methods asked by key, written once for every backend: each backend
    provides ``by_key`` (and its jobs' ``cancel``/``snapshot``/``state``/``result``)."""

    def by_key(self, key: str) -> Job | None:  # pragma: no cover - each backend's own
        raise NotImplementedError

    def cancel(self, key: str, wait_s: float = CANCEL_WAIT_S) -> bool:
        """Cancel the job for ``key``; True when it has ended (or there is none)."""
        job = self.by_key(key)
        return True if job is None else job.cancel(wait_s)

    def progress(self, key: str) -> dict[str, Any] | None:
        """The job's snapshot (state, stages, error), None without a job for ``key``."""
        job = self.by_key(key)
        return None if job is None else job.snapshot()

    def result(self, key: str) -> Any:
        """The finished job's result, None while it runs, failed or is unknown."""
        job = self.by_key(key)
        return job.result if job is not None and job.state == "done" else None
