"""Background jobs for long traces, shared by key, cancellable, expiring with their spools.

Why: a trace of 100K containers takes tens of seconds; the page must stay responsive,
show progress by stage and offer Cancel, and two people starting the same trace should
not run it twice. A ``JobManager`` (the page keeps one per process with
st.cache_resource; the CLI makes its own) runs each job on a background thread of the
server process. ``submit(key, fn)`` returns the existing job for an identical key while
it is queued, running or done (and not expired); a failed or cancelled one is replaced.
``Job.cancel()`` cancels its CancelToken (which interrupts running queries and stops
pending batches) and waits up to ``CANCEL_WAIT_S`` for the thread to return every permit
and connection. Finished jobs expire after ``settings.job_ttl_s``; their spools are
deleted; ``keep_latest`` also bounds how many finished jobs of a kind (a key prefix) are
kept, and how many bytes their results hold. A job may mark itself ``private`` (its
result is over the cache limit): it is then served only to the ``owner`` that submitted
it, never shared by key, and its owner ``forget``s it when done with it. ``overview``
lists the jobs for the System page. Nothing in here calls Streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.db import CancelToken, LaneError, QueryCancelled
from core.errors import InputError
from core.trace.spool import Spool

log = logging.getLogger("mesdash.trace.jobs")

STATES = ("queued", "running", "done", "failed", "cancelled")
CANCEL_WAIT_S = 2.0


@dataclass
class Stage:
    name: str
    done: int = 0
    total: int | None = None
    rows: int = 0
    message: str = ""
    state: str = "running"  # running, done
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "done": self.done, "total": self.total, "rows": self.rows,
                "message": self.message, "state": self.state,
                "seconds": round((self.finished or time.time()) - self.started, 2)}


class Job:
    def __init__(self, key: str, label: str, spool: Spool) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.key = key
        self.label = label
        self.spool = spool
        self.state = "queued"
        self.stages: list[Stage] = []
        self.cancel_token = CancelToken()
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None  # the typed error, for the CLI
        self.owner: str | None = None  # who submitted it (a page session), if known
        self.private = False  # set by the job: its result is for its owner only
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- progress (called from the job's own thread) ----------------------------------
    def stage(self, name: str, total: int | None = None) -> Stage:
        """Start a stage (the previous one is marked done)."""
        with self._lock:
            for s in self.stages:
                if s.state == "running":
                    s.state, s.finished = "done", time.time()
            st = Stage(name, total=total)
            self.stages.append(st)
            return st

    def progress_for(self, stage: Stage) -> Callable[..., None]:
        def update(*, done: int | None = None, total: int | None = None, rows: int | None = None,
                   message: str | None = None) -> None:
            with self._lock:
                if done is not None:
                    stage.done = done
                if total is not None:
                    stage.total = total
                if rows is not None:
                    stage.rows = rows
                if message is not None:
                    stage.message = message
        return update

    # --- state -------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def input_error(self) -> bool:
        """It failed on the user's input (an ``InputError``): a message to fix the input,
        not a failure of the product."""
        return self.state == "failed" and isinstance(self.exception, InputError)

    @property
    def result_bytes(self) -> int:
        """Memory its result says it holds (``size_bytes``: a reject-history slicer), 0
        for a result that does not say (its data is in the spool)."""
        return int(getattr(self.result, "size_bytes", 0) or 0)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "id": self.id, "key": self.key, "label": self.label, "state": self.state,
                "stages": [s.as_dict() for s in self.stages], "error": self.error,
                "created": self.created, "started": self.started, "finished": self.finished,
            }

    def cancel(self, wait_s: float = CANCEL_WAIT_S) -> bool:
        """Cancel; wait up to ``wait_s`` for the thread to end. True when it ended."""
        self.cancel_token.cancel()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait_s)
            return not thread.is_alive()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return not self.active

    def run(self, fn: Callable[[Job], Any]) -> None:
        """Run ``fn(self)`` in the calling thread, recording the outcome."""
        self.state, self.started = "running", time.time()
        try:
            result = fn(self)
        except Exception as exc:
            self.exception = exc
            self._failed(exc)
        else:
            self.result = result
            self._end("cancelled" if self.cancel_token.cancelled else "done")

    def _failed(self, exc: Exception) -> None:
        try:
            raise exc
        except QueryCancelled:
            self._end("cancelled", error="Cancelled.")
        except LaneError as exc:
            self._end("cancelled" if self.cancel_token.cancelled else "failed", error=str(exc))
        except InputError as exc:  # the user's input (SeedError, LineageError, ...)
            self._end("failed", error=str(exc))
        except Exception as exc:
            log.exception("trace job %s failed", self.id)
            self._end("failed", error=f"{type(exc).__name__}: {exc}")

    def _end(self, state: str, *, error: str | None = None) -> None:
        with self._lock:
            for s in self.stages:
                if s.state == "running":
                    s.state, s.finished = "done", time.time()
            self.error = error
            self.finished = time.time()
            self.state = state


class JobManager:
    """Jobs of one process, by id and by key; expired ones are swept on every call."""

    def __init__(self, settings: Any, *, ttl_s: float | None = None) -> None:
        self.settings = settings
        self.ttl_s = float(settings.job_ttl_s if ttl_s is None else ttl_s)
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, fn: Callable[[Job], Any], *, label: str,
               fresh: bool = False, owner: str | None = None) -> Job:
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
            job = Job(key, label, Spool.create(self.settings))
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

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def overview(self, now: float | None = None) -> list[dict[str, Any]]:
        """One row per job, newest first, for the System page: what runs or is held, at
        which stage, for how long, and how much spool it keeps on disk."""
        now = time.time() if now is None else now
        rows = []
        for job in sorted(self.jobs(), key=lambda j: j.created, reverse=True):
            snap = job.snapshot()
            stage = snap["stages"][-1] if snap["stages"] else None
            progress = ""
            if stage is not None:
                progress = stage["name"]
                if stage["total"]:
                    progress += f" {stage['done']:,}/{stage['total']:,}"
            end = job.finished or now
            rows.append({
                "id": job.id, "job": job.label, "state": job.state, "stage": progress,
                "seconds": round(end - (job.started or job.created), 1),
                "age_s": round(now - job.created, 1),
                "private": job.private, "spool_mb": round(job.spool.size_bytes() / 2**20, 1),
                "memory_mb": round(job.result_bytes / 2**20, 1),
                "error": job.error or "",
            })
        return rows

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
        kept, held = 0, 0
        for job in done:
            held += job.result_bytes
            if kept >= max(0, n) or (kept and max_bytes is not None and held > max_bytes):
                break
            kept += 1
        return self._forget(done[kept:])

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
