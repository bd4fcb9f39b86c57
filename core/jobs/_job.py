"""One job: its state, stages (progress), cancel token, spool and outcome.

Why its own module: a job is what pages and the CLI hold and read (``state``,
``stages``, ``result``, ``error``, ``spool``, ``cancel_token``, ``wait``, ``private``,
``result_bytes``), whichever backend runs it. Today every job runs on a thread of the
server process (core.jobs._threads); a later backend (issue 18: python-rq workers on
Redis) gives the page the same object, filled from the worker's reports. The outcome
rules are here, once: a cancelled query is "cancelled", a lane error is "failed" (or
"cancelled" when Cancel caused it), the user's input error (an ``InputError``, core.errors:
``input_error``) keeps its message, anything else is logged with its traceback.
Nothing in here calls Streamlit.
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
from core.jobs._spool import Spool

log = logging.getLogger("mesdash.jobs")

STATES = ("queued", "running", "done", "failed", "cancelled")
CANCEL_WAIT_S = 2.0


@dataclass
class Stage:
    """One stage of a job. ``name`` and ``message`` are catalog msgids (marked ``N_`` where
    made) and ``message_args`` the message's named format arguments: a job runs on a
    thread or a worker and is read by sessions of any language, so the text is made where
    it is shown (``stage_text``), in the reader's language."""

    name: str
    done: int = 0
    total: int | None = None
    rows: int = 0
    message: str = ""
    state: str = "running"  # running, done
    started: float = field(default_factory=time.time)
    finished: float | None = None
    message_args: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "done": self.done, "total": self.total, "rows": self.rows,
                "message": self.message, "message_args": dict(self.message_args),
                "state": self.state,
                "seconds": round((self.finished or time.time()) - self.started, 2)}


def message_text(message: str, args: dict[str, Any] | None = None) -> str:
    """A msgid made on a job's thread and its named arguments, as text in the current
    language: ``_(message).format(**args)``. A message whose arguments do not fit its
    text (a catalog entry from another version) is shown untranslated."""
    from core.i18n import _

    if not message:
        return ""
    args = args or {}
    for template in (_(message), message):
        try:
            return template.format(**args) if args else template
        except (KeyError, IndexError, ValueError):
            continue
    return message


def stage_text(stage: dict[str, Any]) -> tuple[str, str]:
    """A stage (``Stage.as_dict``, also from an RQ job's meta) as (name, message) in the
    current language (``message_text``)."""
    return (message_text(stage.get("name") or ""),
            message_text(stage.get("message") or "", stage.get("message_args")))


def job_label(job: Job) -> str:
    """A job's label (a msgid and ``label_args``, shared by sessions of any language) in
    the current language."""
    return message_text(job.label, getattr(job, "label_args", None))


def overview_row(job: Job, now: float) -> dict[str, Any]:
    """A job as one row of the System page's jobs table (both backends): its label and
    stage in the reader's language, how long it ran, what it keeps on disk and in memory."""
    snap = job.snapshot()
    stage = snap["stages"][-1] if snap["stages"] else None
    progress = ""
    if stage is not None:
        progress = stage_text(stage)[0]  # the reader's language
        if stage["total"]:
            progress += f" {stage['done']:,}/{stage['total']:,}"
    end = job.finished or now
    return {
        "id": job.id, "job": job_label(job), "state": snap["state"], "stage": progress,
        "seconds": round(end - (job.started or job.created), 1),
        "age_s": round(now - job.created, 1), "private": job.private,
        "spool_mb": round(job.spool.size_bytes() / 2**20, 1),
        "memory_mb": round(job.result_bytes / 2**20, 1), "error": snap["error"] or "",
    }


class Job:
    """One unit of long work: what runs it sets ``state`` and ``stages``; its ``fn``
    writes large results to ``spool`` and returns the small ``result``."""

    def __init__(self, key: str, label: str, spool: Spool,
                 label_args: dict[str, Any] | None = None) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.key = key
        self.label = label  # a msgid (N_) with label_args: shown through job_label
        self.label_args = dict(label_args or {})
        self.spool = spool
        self.state = "queued"
        self.stages: list[Stage] = []
        self.cancel_token = CancelToken()
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None  # the typed error, for the CLI
        self.owner: str | None = None  # who submitted it (a page session), if known
        self.private = False  # set by the job: its result is for its owner only
        self.remote = False  # run by a worker (core.jobs.rq): its result travels
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
                   message: str | None = None,
                   message_args: dict[str, Any] | None = None) -> None:
            """``message``: a msgid (``N_``) with named placeholders filled from
            ``message_args`` where it is shown (``stage_text``)."""
            with self._lock:
                if done is not None:
                    stage.done = done
                if total is not None:
                    stage.total = total
                if rows is not None:
                    stage.rows = rows
                if message is not None:
                    stage.message = message
                    stage.message_args = dict(message_args or {})
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
                "id": self.id, "key": self.key, "label": self.label,
                "label_args": dict(self.label_args), "state": self.state,
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
            log.exception("job %s failed", self.id)
            self._end("failed", error=f"{type(exc).__name__}: {exc}")

    def _end(self, state: str, *, error: str | None = None) -> None:
        with self._lock:
            for s in self.stages:
                if s.state == "running":
                    s.state, s.finished = "done", time.time()
            self.error = error
            self.finished = time.time()
            self.state = state


def beyond_newest(done: list[Job], n: int, max_bytes: int | None) -> list[Job]:
    """The jobs of ``done`` (newest first) beyond the ``n`` newest and beyond
    ``max_bytes`` of results in all (the newest is always kept): what ``keep_latest``
    lets go of, the same rule on both backends."""
    kept, held = 0, 0
    for job in done:
        held += job.result_bytes
        if kept >= max(0, n) or (kept and max_bytes is not None and held > max_bytes):
            break
        kept += 1
    return done[kept:]
