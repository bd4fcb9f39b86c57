"""The trace engine: seeds → lineage → event domains, on the slow lane, spooled to disk.

Why: quality engineers trace lots backward (where did this serial come from) and forward
(where did this wafer lot end up). The incident in shared/domain.md (114K containers,
starved live widgets, 4–6 GB of memory) shaped it: every query is an IN-list batch on
the slow lane, results stream to Parquet files in the job's spool (core.jobs), only small
container sets are cached, and long traces run as cancellable background jobs.

Public API:

    resolve_seeds(lanes, kind, values, settings=) -> SeedResult   (SeedError)
    trace_lineage(lanes, seed_ids, direction, settings=) -> Lineage
    DOMAINS; fetch_domain(lanes, name, ids, spool, settings=) -> DomainResult
    TraceRequest.build(...); run_trace(job, lanes, request, settings, cache=) -> TraceResult
    DomainCache(settings): small-set cache (memory LRU + Redis), ids_digest(ids)
    core.trace.completeness: fetched(...) / derive(own, inputs): completeness records
"""

from core.trace.cache import DomainCache, ids_digest
from core.trace.domains import DOMAINS, DomainError, DomainResult, DomainSpec, fetch_domain
from core.trace.lineage import (
    DIRECTIONS,
    EDGE_KINDS,
    NODE_KINDS,
    Lineage,
    LineageError,
    trace_lineage,
)
from core.trace.seeds import KINDS, SeedError, SeedResult, resolve_seeds, split_values
from core.trace.trace_job import DEFAULT_DOMAINS, TraceRequest, TraceResult, run_trace

__all__ = [
    "DEFAULT_DOMAINS",
    "DIRECTIONS",
    "DOMAINS",
    "EDGE_KINDS",
    "KINDS",
    "NODE_KINDS",
    "DomainCache",
    "DomainError",
    "DomainResult",
    "DomainSpec",
    "Lineage",
    "LineageError",
    "SeedError",
    "SeedResult",
    "TraceRequest",
    "TraceResult",
    "fetch_domain",
    "ids_digest",
    "resolve_seeds",
    "run_trace",
    "split_values",
    "trace_lineage",
]
