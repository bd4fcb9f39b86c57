"""Reject-history loads as background jobs: stage progress, Cancel, one load per key.

Why: a 365-day load on the warehouse can take tens of seconds. Run inside the page it
blocked the session behind a spinner and could not be stopped: the query kept its
slow-lane permit until it finished or hit its deadline. As a job (core.jobs, one
manager per server process) the page shows the stages and a Cancel button that
interrupts the query and returns its permit and connection within 2 s, and managers
opening the same morning view share one load.

Design: ``RejectRequest`` is the primary inputs only (a range, or the container
values); its ``key`` names the load, so every toggle, filter and click slices the same
finished ``RejectView`` (the prepared rows held by a local ``Slicer``) without a query.
A finished load stays with its job for ``job_ttl_s``, among the latest
``reject_cache_entries`` loads of the process that together hold at most
``reject_cache_mb`` (``JobManager.keep_latest``; the newest is always kept). A load over
``cache_max_ids`` containers is never shared: the job marks itself private, so only
the session that started it reads it, another session asking for the same list loads
it again, and the page forgets it as soon as its session asks for something else (the
issue's rule: nothing over the limit is cached).

On a worker (``job_backend = rq``, ``Job.remote``) the load does not build the slicer:
it writes the loaded rows to the job's spool (in the shared spool directory) and returns
a small ``SpooledRejects``; whichever replica serves the session ``restore``s the
``RejectView`` from the spool (core.jobs.rq), so no rows travel through Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from core.db import local_threads
from core.i18n import N_
from core.jobs import job_key, key_prefix
from core.rejects._load import Loaded, load_containers, load_range, values_digest
from core.rejects._slicer import Slicer

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.jobs import Job

KEY_PREFIX = key_prefix("rejects")
SPOOL_DOMAIN = "rejects"
"""The spool file a worker's load writes its rows to."""


@dataclass(frozen=True)
class RejectRequest:
    """The primary inputs of one load: a whole-day range, or container values."""

    mode: str  # "range" or "list"
    start: date | None = None
    end: date | None = None
    values: tuple[str, ...] = ()

    def key(self, settings: Settings) -> str:
        """The job key (core.jobs._keys): one load per range or value list and database."""
        fields: dict[str, object] = {"mode": self.mode}
        if self.mode == "range":
            fields.update(start=self.start, end=self.end)
        else:
            fields["values"] = values_digest(list(self.values))
        return job_key("rejects", fields,
                       scope=f"{settings.effective_db_url}|{settings.schema}")

    @property
    def label(self) -> str:
        """The job's label: a msgid with ``label_args`` (core.jobs.job_label)."""
        if self.mode == "range":
            return N_("Reject history {start} ~ {end}")
        return N_("Reject history of {n:,} listed value(s)")

    @property
    def label_args(self) -> dict[str, object]:
        if self.mode == "range":
            return {"start": str(self.start), "end": str(self.end)}
        return {"n": len(self.values)}


@dataclass(frozen=True)
class RejectView:
    """A finished load ready to slice: its facts (range, unmatched values, containers;
    the Arrow table itself is let go) and the slicer that holds the rows."""

    loaded: Loaded
    slicer: Slicer

    @property
    def size_bytes(self) -> int:
        """Memory the load holds (its slicer): what ``reject_cache_mb`` bounds."""
        return self.slicer.memory_bytes


@dataclass(frozen=True)
class SpooledRejects:
    """A worker's finished load (its facts; the rows are in the spool): what travels."""

    loaded: Loaded

    def restore(self, spool: Any) -> RejectView:
        """The view on this replica: the slicer built from the spooled rows."""
        table = pq.read_table(spool.file(SPOOL_DOMAIN))
        return RejectView(self.loaded, Slicer(table))


def run_reject_load(job: Job, lanes: Any, request: RejectRequest,
                    settings: Settings) -> RejectView:
    """The job's work: the primary query (stage progress), then the local slicer."""
    cancel = job.cancel_token
    if request.mode == "range":
        assert request.start is not None and request.end is not None
        job.stage(N_("Reject records (slow lane)"))
        loaded = load_range(lanes, request.start, request.end, cancel=cancel)
    else:
        stage = job.stage(N_("Reject records (matched containers, IN-list batches)"))
        loaded = load_containers(lanes, list(request.values),
                                 max_matches=settings.seed_max_matches, cancel=cancel,
                                 progress=job.progress_for(stage))
        if max(len(request.values), loaded.containers or 0) > settings.cache_max_ids:
            job.private = True  # over the cache limit: this session's, never shared
    job.progress_for(job.stages[-1])(rows=loaded.table.num_rows)
    empty = replace(loaded, table=loaded.table.schema.empty_table())
    if job.remote:  # on a worker: the replica serving the session builds the slicer
        job.stage(N_("Spool (for the dashboard's slicer)"))
        job.spool.write_table(SPOOL_DOMAIN, loaded.table)
        return SpooledRejects(empty)  # type: ignore[return-value]
    job.stage(N_("Local slicer"))
    slicer = Slicer(loaded.table, threads=local_threads(lanes, settings))
    return RejectView(empty, slicer)
