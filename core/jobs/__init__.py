"""Long work as jobs: keys, jobs, their spools, the backend that runs them, expiry.

Why a package of its own: traces, defect analyses and reject-history loads all run as
jobs with the same rules (one key rule, stage progress, Cancel, shared by key, a Parquet
spool per job, results expiring after ``job_ttl_s``). They lived in core.trace, which
made defects and rejects import the trace engine for them. Here they are in one place,
behind a small ``JobBackend`` interface so a second backend (issue 18: python-rq on
Redis, see core.jobs._backend) can be plugged in without touching the callers.

Public API:

    job_key(kind, fields, scope="") -> "kind:digest"; key_prefix(kind)
    Job, Stage, STATES, CANCEL_WAIT_S
    JobBackend (Protocol); ThreadBackend(settings) (today's); JobManager = ThreadBackend
    Spool(path) / Spool.create(settings); SpoolError
"""

from core.jobs._backend import JobBackend
from core.jobs._job import CANCEL_WAIT_S, STATES, Job, Stage
from core.jobs._keys import job_key, key_prefix
from core.jobs._spool import Spool, SpoolError
from core.jobs._threads import ThreadBackend

JobManager = ThreadBackend
"""The process's job manager: the thread backend until a setting chooses another."""

__all__ = [
    "CANCEL_WAIT_S",
    "STATES",
    "Job",
    "JobBackend",
    "JobManager",
    "Spool",
    "SpoolError",
    "Stage",
    "ThreadBackend",
    "job_key",
    "key_prefix",
]
