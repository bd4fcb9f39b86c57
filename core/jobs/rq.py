"""The team backend (issue 18): jobs on python-rq workers, shared by every replica.

Why: with ``job_backend = thread`` a job is a thread of one Streamlit process: a restart
loses it, two replicas run the same 114K-container trace twice, and one process carries
everyone's analysis. Here a job is an RQ job on the configured Redis, run by ``mesdash
worker`` processes (any number, any machine that mounts the shared ``spool_dir``):

- Queue: ``<rq_queue>-<digest of db_url and schema>``: the replicas and workers of one
  warehouse meet there, and a worker never takes another database's job.
- Identity: the request's key (core.jobs._keys). ``<queue>:key:<key>`` in Redis names the
  RQ job serving it; under a lock, ``submit`` from any session on any replica returns
  that job while it is queued, running or done (not failed, cancelled or expired), else
  enqueues a new one (``fresh``: a retry). ``by_key`` finds it after a replica restart.
- What travels: a ``Task`` (core.jobs._task: the function by name and the request, no
  lanes); the worker runs it with its own lanes against a local ``Job`` whose spool is in
  the shared spool directory. Progress (stages, batches done/total) goes to the RQ job's
  meta every ``REPORT_S``; the outcome (state, error, the typed exception) is the RQ
  job's return value. A result whose pickle is over ``job_result_redis_kb`` is written to
  the spool instead (``result.pickle``): tables and container sets never sit in Redis.
  A result with ``restore(spool)`` (a reject-history load) is rebuilt where it is read:
  the slicer is built on whichever replica serves the session, from the spooled rows.
- Cancel: a flag key the worker polls every ``CANCEL_POLL_S``; it cancels the job's
  CancelToken, which interrupts the running query, so permits and connections return
  within ``CANCEL_WAIT_S``. A queued job is withdrawn from the queue at once.
- Worker lost: ``MesdashWorker`` renews its own RQ heartbeat and its running execution's
  every third of ``worker_lease_s``; a worker SIGKILLed mid-job stops renewing, and the
  next reader runs RQ's ``StartedJobRegistry.cleanup`` (abandoned jobs to the failed
  registry) and shows "worker lost" (``WorkerLost``): at most one lease later. Its
  throttle permits lapse with their own lease (core.db's RedisThrottle).
- No worker: a job queued while no worker is alive for ``worker_wait_s`` is withdrawn and
  fails with ``NoWorker`` (CLI exit 4); Redis down is ``QueueUnavailable`` (exit 3).
- Expiry: RQ keeps results ``job_ttl_s``; every spool is in a sorted set by its expiry,
  and ``sweep`` (replicas and workers) deletes the folders whose time has come.

The page-side ``RqJob`` is a ``Job`` (core.jobs._job) read from Redis, so pages and the
CLI use it exactly like the thread backend's. Nothing in here calls Streamlit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from rq import Queue, SimpleWorker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job as RqNativeJob
from rq.job import JobStatus
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from core.errors import InputError
from core.i18n import _
from core.jobs._backend import ByKey
from core.jobs._errors import NoWorker, QueueUnavailable, WorkerLost
from core.jobs._job import CANCEL_WAIT_S, Job, Stage, beyond_newest, overview_row
from core.jobs._spool import Spool, spool_root
from core.jobs._task import Task
from core.redact import mask_url

log = logging.getLogger("mesdash.jobs")

REPORT_S = 0.5
"""How often a worker writes a running job's stages to its meta (when they changed)."""
CANCEL_POLL_S = 0.2
"""How often a worker looks at a running job's cancel flag."""
REFRESH_S = 0.2
"""A page-side job reads Redis at most this often (pages poll every second)."""
CLEANUP_S = 1.0
"""How often a backend asks RQ to move abandoned jobs (a lost worker's) to failed."""
WORKERS_S = 1.0
"""How often a backend counts the workers alive."""
SWEEP_S = 30.0
"""How often a backend deletes expired spools."""
RESULT_FILE = "result.pickle"
LOST = "AbandonedJobError"


def scope_of(settings: Any) -> str:
    """A short digest of the data source: a worker runs only jobs for its own database."""
    text = f"{settings.effective_db_url}|{settings.schema}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def queue_name(settings: Any, name: str | None = None) -> str:
    """The RQ queue of ``rq_queue`` (or ``name``) for this database: replicas and workers
    of one warehouse meet there, and a worker never takes another database's job."""
    return f"{name or settings.rq_queue}-{scope_of(settings)}"


def connect(settings: Any, *, worker: bool = False) -> redis.Redis:
    """A Redis client for the queue; a worker's waits block longer than any timeout."""
    return redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=settings.redis_timeout_s,
        socket_timeout=None if worker else max(settings.redis_timeout_s, 5.0),
        health_check_interval=30)


def _unavailable(settings: Any, exc: BaseException) -> QueueUnavailable:
    return QueueUnavailable(_(
        "The job queue (Redis at {url}) is unreachable: {error}. With job_backend = rq, "
        "traces, defect traces, containments and reject-history loads run on workers "
        "through Redis: start Redis, or set job_backend = thread to run them in this "
        "process.").format(url=mask_url(str(settings.redis_url)), error=exc))


class RqJob(Job):
    """A job on the queue as a page or the CLI sees it: the ``Job`` attributes, read from
    Redis (at most every ``REFRESH_S``); a finished one is read once and kept."""

    def __init__(self, backend: RqBackend, rq_id: str, key: str, label: str,
                 spool: Spool, task: Task | None = None,
                 label_args: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self.id = rq_id
        self.key = key
        self.label = label
        self.label_args = dict(label_args or {})
        self.spool = spool
        self.task = task
        self.owner: str | None = None
        self.private = False
        self.remote = True
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.cancel_token = _RemoteCancel(self)
        self._state = "queued"
        self._stages: list[dict[str, Any]] = []
        self._error: str | None = None
        self._exception: BaseException | None = None
        self._result: Any = None
        self._result_read = False
        self._read_at = 0.0
        self._no_worker_since: float | None = None
        self._lock = threading.Lock()
        self._thread = None

    # --- what pages read ------------------------------------------------------------------
    @property
    def state(self) -> str:  # type: ignore[override]
        self.refresh()
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value

    @property
    def stages(self) -> list[Stage]:  # type: ignore[override]
        self.refresh()
        return [Stage(s["name"], s["done"], s["total"], s["rows"], s["message"], s["state"],
                      message_args=dict(s.get("message_args") or {}))
                for s in self._stages]

    @stages.setter
    def stages(self, value: Any) -> None:
        pass

    @property
    def error(self) -> str | None:  # type: ignore[override]
        self.refresh()
        return self._error

    @error.setter
    def error(self, value: str | None) -> None:
        self._error = value

    @property
    def exception(self) -> BaseException | None:  # type: ignore[override]
        self.refresh()
        return self._exception

    @exception.setter
    def exception(self, value: BaseException | None) -> None:
        self._exception = value

    @property
    def result(self) -> Any:  # type: ignore[override]
        self.refresh()
        if self._state != "done":
            return None
        with self._lock:
            if not self._result_read:
                self._result = self.backend._read_result(self)
                self._result_read = True
            return self._result

    @result.setter
    def result(self, value: Any) -> None:
        self._result = value

    @property
    def result_bytes(self) -> int:
        """Memory its result holds here (0 until read: a reject slicer is built on read)."""
        return int(getattr(self._result, "size_bytes", 0) or 0) if self._result_read else 0

    @property
    def lost(self) -> bool:
        return isinstance(self._exception, WorkerLost)

    @property
    def retryable(self) -> bool:
        """It failed for want of a worker (lost or none), not for its input or data."""
        return self.task is not None and isinstance(self._exception, (WorkerLost, NoWorker))

    def resubmit(self) -> Job:
        """Run it again (a retry after 'worker lost' or 'no worker')."""
        assert self.task is not None
        return self.backend.submit(self.key, self.task, label=self.label, fresh=True,
                                   owner=self.owner, label_args=self.label_args)

    def snapshot(self) -> dict[str, Any]:
        self.refresh()
        return {"id": self.id, "key": self.key, "label": self.label,
                "label_args": dict(self.label_args), "state": self._state,
                "stages": [dict(s) for s in self._stages], "error": self._error,
                "created": self.created, "started": self.started, "finished": self.finished}

    def cancel(self, wait_s: float = CANCEL_WAIT_S) -> bool:
        return self.backend._cancel(self, wait_s)

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self.refresh(force=True)
            if self._state not in ("queued", "running"):
                return True
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            time.sleep(REFRESH_S if left is None else min(REFRESH_S, left))

    def run(self, fn: Callable[[Job], Any]) -> None:  # pragma: no cover - runs on workers
        raise RuntimeError("an RQ job runs on a worker (mesdash worker), not in this process")

    # --- reading Redis ----------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        if self._state not in ("queued", "running"):
            return  # a finished job never changes
        now = time.monotonic()
        if not force and now - self._read_at < REFRESH_S:
            return
        self._read_at = now
        self.backend._refresh(self)


class _RemoteCancel:
    """The page-side job's cancel token: cancelling asks the worker (the flag key)."""

    def __init__(self, job: RqJob) -> None:
        self._job = job
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True
        self._job.backend._request_cancel(self._job.id)


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class RqBackend(ByKey):
    """Jobs on an RQ queue in Redis, shared by every process using the same queue.
    Implements ``core.jobs._backend.JobBackend`` and the thread backend's other calls."""

    kind = "rq"

    def __init__(self, settings: Any, *, connection: redis.Redis | None = None) -> None:
        self.settings = settings
        self.ttl_s = int(settings.job_ttl_s)
        self.queue_name = settings.rq_queue
        self.scope = scope_of(settings)
        self.redis = connection or connect(settings)
        self.queue = Queue(queue_name(settings), connection=self.redis)
        self._jobs: dict[str, RqJob] = {}  # rq id -> the job as this process reads it
        self._lock = threading.Lock()
        self._cleaned = 0.0
        self._swept = 0.0
        self._workers = (-WORKERS_S, 0)

    # --- keys --------------------------------------------------------------------------------
    def _pointer(self, key: str) -> str:
        return f"mesdash:rq:{self.queue.name}:key:{key}"

    def _cancel_key(self, rq_id: str) -> str:
        return f"mesdash:rq:{self.queue.name}:cancel:{rq_id}"

    @property
    def _spools_key(self) -> str:
        return f"mesdash:rq:{self.queue.name}:spools"

    def _new_id(self, key: str) -> str:
        kind, _sep, digest = key.partition(":")
        return f"{self.queue_name}-{self.scope}-{kind}-{digest[:16]}-{uuid.uuid4().hex[:8]}"

    @contextmanager
    def _redis(self) -> Iterator[redis.Redis]:
        """The connection; a Redis that does not answer is a ``QueueUnavailable``."""
        try:
            yield self.redis
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _unavailable(self.settings, exc) from exc

    # --- the JobBackend interface ------------------------------------------------------------
    def submit(self, key: str, fn: Callable[[Job], Any], *, label: str,
               fresh: bool = False, owner: str | None = None,
               label_args: dict[str, Any] | None = None) -> Job:
        """The job for ``key``: the one queued, running or done on the queue (unless it is
        private to another owner or ``fresh`` is asked), else a new one enqueued."""
        if not isinstance(fn, Task):
            raise TypeError("job_backend = rq runs a core.jobs.Task (a function by name and "
                            "its request), not a closure")
        self.sweep()
        with self._redis() as r, r.lock(f"{self._pointer(key)}:lock", timeout=10,
                                        blocking_timeout=5):
            old = self.by_key(key)
            if (old is not None and not fresh and old.state in ("queued", "running", "done")
                    and not (old.private and old.owner != owner)):
                if old.task is None:
                    old.task = fn
                return old
            if old is not None and old.active and not old.private:
                self._request_cancel(old.id)
            rq_id = self._new_id(key)
            spool = Spool(spool_root(self.settings) / rq_id)
            payload = {"task": fn, "key": key, "label": label, "label_args": label_args,
                       "owner": owner,
                       "spool": str(spool.path), "scope": self.scope}
            self.queue.enqueue_call(
                execute, args=(payload,), job_id=rq_id, timeout=self.settings.job_timeout_s,
                result_ttl=self.ttl_s, failure_ttl=self.ttl_s, ttl=self.ttl_s,
                description=label,
                meta={"key": key, "label": label, "label_args": dict(label_args or {}),
                      "owner": owner, "spool": str(spool.path),
                      "stages": [], "private": False})
            r.set(self._pointer(key), rq_id, ex=self.ttl_s + int(self.settings.job_timeout_s))
            r.zadd(self._spools_key, {str(spool.path): time.time() + self.ttl_s
                                      + self.settings.job_timeout_s})
        job = RqJob(self, rq_id, key, label, spool, fn, label_args)
        job.owner = owner
        with self._lock:
            self._jobs[rq_id] = job
        return job

    def by_key(self, key: str) -> RqJob | None:
        """The job serving ``key`` (any replica's), None when there is none or it expired."""
        with self._redis() as r:
            rq_id = r.get(self._pointer(key))
        return None if rq_id is None else self.get(rq_id.decode())

    def get(self, job_id: str) -> RqJob | None:
        """The job by its id (the RQ job id), None when unknown or expired."""
        if not job_id:
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None and (job._state in ("queued", "running")
                                or (job.finished or 0) + self.ttl_s > time.time()):
            return job
        with self._redis() as r:
            try:
                native = RqNativeJob.fetch(job_id, connection=r)
            except NoSuchJobError:
                with self._lock:
                    self._jobs.pop(job_id, None)
                return None
            if job is None:
                meta = native.meta or {}
                job = RqJob(self, job_id, meta.get("key", ""), meta.get("label", job_id),
                            Spool(meta.get("spool") or spool_root(self.settings) / job_id),
                            label_args=meta.get("label_args"))
                job.owner = meta.get("owner")
                job.created = _ts(native.created_at) or time.time()
                self._apply(job, native)
                with self._lock:
                    self._jobs[job_id] = job
        return job

    def jobs(self) -> list[RqJob]:
        with self._lock:
            return list(self._jobs.values())

    # --- reading one job ---------------------------------------------------------------------
    def _refresh(self, job: RqJob) -> None:
        with self._redis() as r:
            self._cleanup()
            try:
                native = RqNativeJob.fetch(job.id, connection=r)
            except NoSuchJobError:
                job._state, job._error = "failed", _("The job expired or was removed.")
                job.finished = time.time()
                return
            self._apply(job, native)
            if job._state == "queued":
                self._check_workers(job, native)

    def _apply(self, job: RqJob, native: RqNativeJob) -> None:
        """The RQ job's status, meta and outcome onto the page-side job."""
        meta = native.meta or {}
        job._stages = list(meta.get("stages") or [])
        job.private = bool(meta.get("private"))
        job.owner = meta.get("owner", job.owner)
        job.started = _ts(native.started_at)
        status = native.get_status(refresh=False)
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, None):
            job._state = "queued"
        elif status == JobStatus.STARTED:
            job._state = "running"
        elif status == JobStatus.FINISHED:  # the outcome without the result (meta)
            outcome = meta.get("final") or native.return_value() or {}
            job._error = outcome.get("error")
            job._exception = _exception(outcome)
            job.private = bool(outcome.get("private", job.private))
            job._stages = list(outcome.get("stages") or job._stages)
            job.finished = _ts(native.ended_at) or time.time()
            job._state = outcome.get("state", "failed")
        elif status == JobStatus.CANCELED:
            job.finished = _ts(native.ended_at) or time.time()
            if meta.get("no_worker"):
                job._exception = NoWorker(self.queue_name, self.settings.worker_wait_s)
                job._state, job._error = "failed", str(job._exception)
            else:
                job._state, job._error = "cancelled", _("Cancelled.")
        else:  # failed, stopped
            job.finished = _ts(native.ended_at) or time.time()
            latest = native.latest_result()
            info = (latest.exc_string if latest is not None else "") or ""
            if LOST in info or (status == JobStatus.STOPPED and not self._cancel_asked(job.id)):
                job._exception = WorkerLost()
                self.redis.zadd(self._spools_key, {str(job.spool.path): time.time() + self.ttl_s})
            else:
                last = info.strip().splitlines()[-1] if info.strip() else str(status)
                job._exception = RuntimeError(last)
            if status == JobStatus.STOPPED and self._cancel_asked(job.id):
                job._state, job._error = "cancelled", _("Cancelled.")
            else:
                job._state, job._error = "failed", str(job._exception)

    def _cancel_asked(self, rq_id: str) -> bool:
        return bool(self.redis.exists(self._cancel_key(rq_id)))

    def _check_workers(self, job: RqJob, native: RqNativeJob) -> None:
        """A queued job while no worker is alive: after ``worker_wait_s`` it is withdrawn
        and fails with ``NoWorker`` (every replica then reads the same)."""
        if self.workers_alive() > 0:
            job._no_worker_since = None
            return
        now = time.monotonic()
        if job._no_worker_since is None:
            job._no_worker_since = now
            return
        if now - job._no_worker_since < self.settings.worker_wait_s:
            return
        native.meta["no_worker"] = True
        native.save_meta()
        native.cancel()
        self._apply(job, native)
        if job._state == "queued":  # cancelled meanwhile by another reader: read again
            self._apply(job, RqNativeJob.fetch(job.id, connection=self.redis))

    def _cleanup(self) -> None:
        """RQ's own clean-up of abandoned jobs (a lost worker's): at most every CLEANUP_S."""
        now = time.monotonic()
        if now - self._cleaned < CLEANUP_S:
            return
        self._cleaned = now
        StartedJobRegistry(queue=self.queue).cleanup()

    def _read_result(self, job: RqJob) -> Any:
        with self._redis() as r:
            native = RqNativeJob.fetch(job.id, connection=r)
            outcome = native.return_value() or {}
        if outcome.get("spooled"):
            value = pickle.loads((job.spool.path / RESULT_FILE).read_bytes())
        else:
            value = outcome.get("result")
        restore = getattr(value, "restore", None)
        return restore(job.spool) if callable(restore) else value

    # --- cancel ------------------------------------------------------------------------------
    def _request_cancel(self, rq_id: str) -> None:
        with self._redis() as r:
            r.set(self._cancel_key(rq_id), 1, ex=self.ttl_s)
            try:
                native = RqNativeJob.fetch(rq_id, connection=r)
            except NoSuchJobError:
                return
            if native.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.DEFERRED,
                                                    JobStatus.SCHEDULED):
                native.cancel()

    def _cancel(self, job: RqJob, wait_s: float) -> bool:
        job.cancel_token._cancelled = True
        self._request_cancel(job.id)
        return job.wait(wait_s)

    # --- the team's view (System page, db check) ---------------------------------------------
    def workers_alive(self) -> int:
        """Workers listening on the queue whose heartbeat has not lapsed (asked at most
        every WORKERS_S: every session's queued job asks while it waits)."""
        now = time.monotonic()
        if now - self._workers[0] >= WORKERS_S:
            with self._redis():
                self._workers = (now, len(SimpleWorker.all(queue=self.queue)))
        return self._workers[1]

    def status(self) -> dict[str, Any]:
        """Backend, queue length, workers alive, jobs running (raises QueueUnavailable)."""
        with self._redis():
            self._cleanup()
            return {"backend": "rq", "queue": self.queue_name, "queued": self.queue.count,
                    "workers": self.workers_alive(),
                    "running": StartedJobRegistry(queue=self.queue).count,
                    "redis": mask_url(str(self.settings.redis_url))}

    def overview(self, now: float | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """One row per job on the queue (queued, running, recently finished), newest first."""
        now = time.time() if now is None else now
        with self._redis():
            ids = [*self.queue.get_job_ids(), *StartedJobRegistry(queue=self.queue)
                   .get_job_ids(), *FinishedJobRegistry(queue=self.queue).get_job_ids()]
            ids += self.queue.failed_job_registry.get_job_ids()
            ids += self.queue.canceled_job_registry.get_job_ids()
        rows = []
        for rq_id in dict.fromkeys(ids):
            job = self.get(rq_id)
            if job is None:
                continue
            rows.append(overview_row(job, now))
        rows.sort(key=lambda r: r["age_s"])
        return rows[:limit]

    # --- bounds and expiry -------------------------------------------------------------------
    def keep_latest(self, prefix: str, n: int, *, max_bytes: int | None = None) -> list[str]:
        """Let go of the results this process holds (a reject load's slicer) beyond the
        ``n`` newest of ``prefix`` and ``max_bytes``: they stay on the queue and in the
        spool, and are rebuilt here if asked for again."""
        with self._lock:
            done = sorted((j for j in self._jobs.values() if j.key.startswith(prefix)
                           and j._result_read), key=lambda j: j.finished or 0.0, reverse=True)
        gone = beyond_newest(done, n, max_bytes)
        with self._lock:
            for job in gone:
                self._jobs.pop(job.id, None)
        return [j.id for j in gone]

    def forget(self, job_id: str) -> bool:
        """Remove a finished job now (a private result its owner is done with): from the
        queue, this process and disk. A running one is left alone."""
        job = self.get(job_id)
        if job is None or job.active:
            return False
        with self._lock:
            self._jobs.pop(job_id, None)
        with self._redis() as r:
            try:
                RqNativeJob.fetch(job_id, connection=r).delete()
            except NoSuchJobError:
                pass
            if (r.get(self._pointer(job.key)) or b"").decode() == job_id:
                r.delete(self._pointer(job.key))
            r.zrem(self._spools_key, str(job.spool.path))
        job.spool.delete()
        return True

    def sweep(self, now: float | None = None, force: bool = False) -> list[str]:
        """Delete the spools whose jobs expired (any process's), at most every SWEEP_S;
        forget expired jobs this process held."""
        mono = time.monotonic()
        if not force and mono - self._swept < SWEEP_S:
            return []
        self._swept = mono
        cutoff = time.time() - self.ttl_s
        with self._lock:  # this process's view of jobs that expired on the queue
            for rq_id in [i for i, j in self._jobs.items()
                          if j.finished is not None and j.finished < cutoff]:
                del self._jobs[rq_id]
        return sweep_spools(self.redis, self._spools_key, self.settings, now)

    def close(self) -> None:
        """Let go of this process's view (jobs keep running on the workers: shared)."""
        with self._lock:
            self._jobs.clear()
        self.redis.close()


def sweep_spools(r: redis.Redis, key: str, settings: Any, now: float | None = None
                 ) -> list[str]:
    """Delete every spool folder in ``key`` (a sorted set by expiry) whose time came."""
    now = time.time() if now is None else now
    try:
        due = [p.decode() for p in r.zrangebyscore(key, "-inf", now)]
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise _unavailable(settings, exc) from exc
    root = spool_root(settings).resolve()
    for path in due:
        p = Path(path)
        if p.resolve().parent == root:  # only our own folders, never elsewhere
            Spool(p).delete() if p.exists() else None
        r.zrem(key, path)
    return due


def _exception(outcome: dict[str, Any]) -> BaseException | None:
    """The job's typed exception back from the worker (pickled), or one like it."""
    data = outcome.get("exc")
    if data:
        try:
            exc = pickle.loads(data)
            if isinstance(exc, BaseException):
                return exc
        except Exception:
            pass
    if not outcome.get("error"):
        return None
    if outcome.get("input"):
        return InputError(outcome["error"])
    return RuntimeError(outcome["error"])


# --- the worker side -------------------------------------------------------------------------
class _WorkerContext:
    """One worker process's settings and lanes (opened on the first job, then kept)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.scope = scope_of(settings)
        self._lanes: Any = None
        self._objects: dict[type, Any] = {}
        self._lock = threading.Lock()

    def provide(self, cls: type) -> Any:
        """This worker's one ``cls(settings)`` (a task's process-local helper)."""
        with self._lock:
            if cls not in self._objects:
                self._objects[cls] = cls(self.settings)
            return self._objects[cls]

    def lanes(self) -> Any:
        with self._lock:
            if self._lanes is None:
                from core.db import open_lanes

                self._lanes = open_lanes(self.settings)
            return self._lanes

    def close(self) -> None:
        if self._lanes is not None:
            self._lanes.close()
            self._lanes = None


_CONTEXT: _WorkerContext | None = None


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """An RQ job's function, on a worker: run the task against a local ``Job`` whose
    stages go to the RQ job's meta and whose cancel flag is polled; return the outcome."""
    ctx = _CONTEXT
    native = get_current_job()
    if ctx is None or native is None:
        raise RuntimeError("core.jobs.rq.execute runs on `mesdash worker` only")
    settings = ctx.settings
    job = Job(payload["key"], payload["label"], Spool(payload["spool"]),
              payload.get("label_args"))
    job.id, job.owner, job.remote = native.id, payload.get("owner"), True
    if payload.get("scope") != ctx.scope:
        return {"state": "failed", "error": _(
            "This worker serves another database than the dashboard that asked: check "
            "that the workers and the dashboard have the same db_url and schema.")}
    task: Task = payload["task"].bound(ctx.lanes(), settings, ctx.provide)
    cancel_key = f"mesdash:rq:{native.origin}:cancel:{native.id}"
    stop = threading.Event()
    reporter = threading.Thread(target=_report, args=(native, job, cancel_key, stop),
                                daemon=True, name=f"mesdash-report-{native.id}")
    reporter.start()
    try:
        job.run(task)
    finally:
        stop.set()
        reporter.join(5)
    snap = job.snapshot()
    outcome: dict[str, Any] = {"state": job.state, "error": job.error,
                               "private": job.private, "stages": snap["stages"]}
    if job.exception is not None:
        outcome["input"] = isinstance(job.exception, InputError)
        try:
            data = pickle.dumps(job.exception)
            pickle.loads(data)
            outcome["exc"] = data
        except Exception:
            pass
    native.meta.update(final=dict(outcome))  # what readers need, without the result
    native.save_meta()
    if job.state == "done":
        value = job.result
        transport = getattr(value, "for_transport", None)
        if callable(transport):
            value = transport(job.spool)
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > settings.job_result_redis_kb * 1024:
            (job.spool.path / RESULT_FILE).write_bytes(data)
            outcome["spooled"] = True
        else:
            outcome["result"] = value
    native.connection.zadd(f"mesdash:rq:{native.origin}:spools",
                           {payload["spool"]: time.time() + settings.job_ttl_s})
    return outcome


def _report(native: RqNativeJob, job: Job, cancel_key: str, stop: threading.Event) -> None:
    """A running job's reporter: stages to meta, the cancel flag to the CancelToken."""
    last: Any = None
    next_report = 0.0
    while not stop.wait(CANCEL_POLL_S):
        try:
            if not job.cancel_token.cancelled and native.connection.exists(cancel_key):
                job.cancel_token.cancel()  # interrupts the running query
            now = time.monotonic()
            if now >= next_report:
                next_report = now + REPORT_S
                stages = job.snapshot()["stages"]
                seen = [(s["name"], s["done"], s["total"], s["rows"], s["message"],
                         sorted(s["message_args"].items()), s["state"])
                        for s in stages]
                if seen != last:
                    native.meta.update(stages=stages, private=job.private)
                    native.save_meta()
                    last = seen
        except (redis.ConnectionError, redis.TimeoutError):
            log.warning("job %s: Redis did not answer its report", native.id)


class MesdashWorker(SimpleWorker):
    """An RQ worker running our jobs in its own process (no fork: the lanes, their pools
    and the throttle stay open between jobs), whose heartbeat lease is ``worker_lease_s``:
    a thread renews it, and the running execution's, every third of the lease."""

    def __init__(self, *args: Any, lease_s: float, **kwargs: Any) -> None:
        self.lease_s = lease_s
        super().__init__(*args, worker_ttl=max(1, int(lease_s)), **kwargs)
        self._beating = threading.Event()
        self._beat = threading.Thread(target=self._beat_loop, daemon=True,
                                      name="mesdash-worker-heartbeat")

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return max(1, int(self.lease_s))

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        super().heartbeat(max(1, int(self.lease_s)), pipeline=pipeline)

    def _beat_loop(self) -> None:
        while not self._beating.wait(self.lease_s / 3):
            try:
                self.heartbeat()
                execution = getattr(self, "execution", None)
                job = self.get_current_job() if execution is not None else None
                if execution is not None and job is not None:
                    ttl = self.get_heartbeat_ttl(job)
                    with self.connection.pipeline() as pipe:
                        execution.heartbeat(job.started_job_registry, ttl, pipeline=pipe)
                        job.heartbeat(datetime.now(UTC), ttl, pipeline=pipe)
                        pipe.execute()
            except Exception:
                log.warning("worker heartbeat failed", exc_info=True)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self._beat.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._beating.set()


def run_worker(settings: Any, *, burst: bool = False, name: str | None = None,
               queue: str | None = None) -> bool:
    """`mesdash worker`: serve the queue until stopped (or, ``burst``, until it is empty).
    Raises QueueUnavailable when Redis does not answer."""
    global _CONTEXT
    conn = connect(settings, worker=True)
    try:
        conn.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise _unavailable(settings, exc) from exc
    _CONTEXT = _WorkerContext(settings)
    q = Queue(queue_name(settings, queue), connection=conn)
    worker = MesdashWorker([q], connection=conn, lease_s=settings.worker_lease_s,
                           name=name or f"mesdash-{socket.gethostname()}-{os.getpid()}")
    try:
        sweep_spools(conn, f"mesdash:rq:{q.name}:spools", settings)
        return worker.work(burst=burst, with_scheduler=False,
                           logging_level=os.environ.get("MES_WORKER_LOG", "INFO"))
    finally:
        _CONTEXT.close()
        _CONTEXT = None
