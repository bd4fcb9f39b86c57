"""Long work as jobs: keys, jobs, their spools, the backend that runs them, expiry.

Why a package of its own: traces, defect analyses and reject-history loads all run as
jobs with the same rules (one key rule, stage progress, Cancel, shared by key, a Parquet
spool per job, results expiring after ``job_ttl_s``). They lived in core.trace, which
made defects and rejects import the trace engine for them. Here they are in one place,
behind a small ``JobBackend`` interface: the thread backend (in-process, the default) or
core.jobs.rq (issue 18: python-rq workers on Redis, shared by every dashboard replica),
chosen by the ``job_backend`` setting without touching the callers.

Public API:

    job_key(kind, fields, scope="") -> "kind:digest"; key_prefix(kind)
    Job, Stage, STATES, CANCEL_WAIT_S
    JobBackend (Protocol); ThreadBackend(settings) (the default); JobManager = ThreadBackend
    Task(fn, request, lanes=, settings=): what a job runs, picklable for a worker
    make_backend(settings): the backend the ``job_backend`` setting names (thread | rq;
    the rq one is core.jobs.rq.RqBackend, imported only then)
    QueueUnavailable, NoWorker, WorkerLost: why a job could not run on the queue
    Spool(path) / Spool.create(settings); SpoolError
"""

from typing import Any

from core.jobs._backend import JobBackend
from core.jobs._errors import NoWorker, QueueUnavailable, WorkerLost
from core.jobs._job import CANCEL_WAIT_S, STATES, Job, Stage, job_label, message_text, stage_text
from core.jobs._keys import job_key, key_prefix
from core.jobs._spool import Spool, SpoolError
from core.jobs._task import Task
from core.jobs._threads import ThreadBackend

JobManager = ThreadBackend
"""The process's job manager: the thread backend until a setting chooses another."""



def make_backend(settings: Any) -> Any:
    """The job backend the ``job_backend`` setting names: a ``ThreadBackend`` (thread),
    or an ``RqBackend`` on ``redis_url`` (rq; it connects on first use)."""
    if getattr(settings, "job_backend", "thread") == "rq":
        from core.jobs.rq import RqBackend

        return RqBackend(settings)
    return ThreadBackend(settings)


__all__ = [
    "CANCEL_WAIT_S",
    "STATES",
    "Job",
    "JobBackend",
    "JobManager",
    "NoWorker",
    "QueueUnavailable",
    "Spool",
    "SpoolError",
    "Stage",
    "Task",
    "ThreadBackend",
    "WorkerLost",
    "job_key",
    "job_label",
    "key_prefix",
    "make_backend",
    "message_text",
    "stage_text",
]
