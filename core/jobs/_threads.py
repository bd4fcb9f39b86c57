"""Today's job backend: each job on a background thread of the server process.

Why: a trace of 100K containers takes tens of seconds; the page must stay responsive,
show progress by stage and offer Cancel, and two people starting the same trace should
not run it twice. A ``ThreadBackend`` (the page keeps one per process with
st.cache_resource, dashboard/job_manager.py; the CLI makes its own) runs each job on a
background thread. ``submit(key, fn)`` returns the existing job for an identical key
(core.jobs._keys) while it is queued, running or done (and not expired); a failed or
cancelled one is replaced. ``Job.cancel()`` cancels its CancelToken (which interrupts
running queries and stops pending batches) and waits up to ``CANCEL_WAIT_S`` for the
thread to return every permit and connection. Result expiry: finished jobs expire after
``settings.job_ttl_s``, their spools deleted; ``keep_latest`` also bounds how many
finished jobs of a kind (a key prefix) are kept, and how many bytes their results hold.
A job may mark itself ``private`` (its result is over the cache limit): it is then
served only to the ``owner`` that submitted it, never shared by key, and its owner
``forget``s it when done with it. ``overview`` lists the jobs for the System page.
Nothing in here calls Streamlit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.jobs._backend import ByKey
from core.jobs._job import Job, beyond_newest, overview_row
from core.jobs._spool import Spool


class ThreadBackend(ByKey):
    """Jobs of one process, by id and by key, each on its own thread; expired ones are
    swept on every call. Implements ``core.jobs._backend.JobBackend``."""

    def __init__(self, settings: Any, *, ttl_s: float | None = None) -> None:
        self.settings = settings
        self.ttl_s = float(settings.job_ttl_s if ttl_s is None else ttl_s)
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, fn: Callable[[Job], Any], *, label: str,
               fresh: bool = False, owner: str | None = None,
               label_args: dict[str, Any] | None = None) -> Job:
        """The job for ``key``: the existing one unless it failed, was cancelled, expired,
        is private to another owner (``Job.private``) or ``fresh`` is asked; else a new
        one started on a background thread."""
        self.sweep()
        with self._lock:
            old = self._jobs.get(self._by_key.get(key, ""))
            if (old is not None and not fresh and old.state in ("queued", "running", "done")
                    and not (old.private and old.owner != owner)):
                return old
            if old is not None and old.active and not old.private:
                old.cancel_token.cancel()
            job = Job(key, label, Spool.create(self.settings), label_args)
            job.owner = owner
            self._jobs[job.id] = job
            self._by_key[key] = job.id
            thread = threading.Thread(target=job.run, args=(fn,), daemon=True,
                                      name=f"mesdash-job-{job.id}")
            job._thread = thread
        thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        self.sweep()
        return self._jobs.get(job_id)

    def by_key(self, key: str) -> Job | None:
        self.sweep()
        return self._jobs.get(self._by_key.get(key, ""))

    # cancel / progress / result by key: core.jobs._backend.ByKey
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    kind = "thread"

    def status(self) -> dict[str, Any]:
        """Backend, queue length, workers, jobs running: this process runs its own."""
        running = sum(1 for j in self.jobs() if j.state == "running")
        queued = sum(1 for j in self.jobs() if j.state == "queued")
        return {"backend": "thread", "queue": None, "queued": queued, "workers": None,
                "running": running}

    def overview(self, now: float | None = None) -> list[dict[str, Any]]:
        """One row per job, newest first, for the System page: what runs or is held, at
        which stage, for how long, and how much spool it keeps on disk."""
        now = time.time() if now is None else now
        return [overview_row(job, now)
                for job in sorted(self.jobs(), key=lambda j: j.created, reverse=True)]

    def keep_latest(self, prefix: str, n: int, *, max_bytes: int | None = None) -> list[str]:
        """Forget all but the ``n`` most recently finished jobs whose key starts with
        ``prefix``, and, with ``max_bytes``, the older ones beyond that many bytes of
        results in all (a result's ``size_bytes``, 0 without one; the newest is always
        kept). Results held in memory, such as reject-history slicers, are bounded by
        count and size as well as by age; running jobs are kept."""
        with self._lock:
            done = sorted((j for j in self._jobs.values()
                           if j.key.startswith(prefix) and j.finished is not None),
                          key=lambda j: j.finished or 0.0, reverse=True)
        return self._forget(beyond_newest(done, n, max_bytes))

    def sweep(self, now: float | None = None) -> list[str]:
        """Forget finished jobs older than the TTL and delete their spools."""
        now = time.time() if now is None else now
        with self._lock:
            old = [j for j in self._jobs.values()
                   if j.finished is not None and now - j.finished > self.ttl_s]
        return self._forget(old)

    def forget(self, job_id: str) -> bool:
        """Forget one finished job now (its owner is done with a private result, which
        nobody else may be served); a running one is left alone. True when forgotten."""
        job = self._jobs.get(job_id)
        return job is not None and job.finished is not None and bool(self._forget([job]))

    def _forget(self, jobs: list[Job]) -> list[str]:
        """Drop ``jobs`` from both indexes, then delete their spools (outside the lock)."""
        gone: list[Job] = []
        with self._lock:
            for job in jobs:
                if self._jobs.pop(job.id, None) is not None:
                    gone.append(job)
                    if self._by_key.get(job.key) == job.id:
                        del self._by_key[job.key]
        for job in gone:
            job.spool.delete()
        return [j.id for j in gone]

    def close(self) -> None:
        """Cancel every job and delete every spool (cache_resource on_release)."""
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
            self._by_key.clear()
        for job in jobs:
            job.cancel()
            job.spool.delete()
