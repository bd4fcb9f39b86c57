"""The trace engine: seeds → lineage → event domains, on the slow lane, spooled to disk.

Why: quality engineers trace lots backward (where did this serial come from) and forward
(where did this wafer lot end up). The incident in shared/domain.md (114K containers,
starved live widgets, 4–6 GB of memory) shaped it: every query is an IN-list batch on
the slow lane, results stream to Parquet files in the job's spool (core.jobs), only small
container sets are cached, and long traces run as cancellable background jobs.

This __init__ is the package's face (its modules are private, tests/test_layers.py):

    resolve_seeds(lanes, kind, values, settings=) -> SeedResult   (SeedError)
    trace_lineage(lanes, seed_ids, direction, settings=) -> Lineage
    DOMAINS; fetch_domain(lanes, name, ids, spool, settings=) -> DomainResult
    TraceRequest.build(seeds, direction, domains, settings, start=, end=); SEED_KINDS, MACHINE
    run_trace(job, lanes, request, settings, cache=) -> TraceResult
      (machine seeds: core.contain's exposed lots of the machines in the date range)
    DomainCache(settings): small-set cache (memory LRU + Redis), ids_digest(ids)
    history_query, materials_query: the event queries (bench); spool_query: a domain's rows
    lineage_frames, timeline_lots, timeline_events, seed_lots: the trace page's reads of a
      finished spool
    drawn_part, focus_matches, layered_positions, widest_layer, with_descendants: the
      lineage graph layout and what a selection of its nodes covers
Completeness records (shared with defects and the pages) are core.completeness.
"""

from core.trace._cache import DomainCache, ids_digest
from core.trace._domains import (
    DOMAINS,
    DomainError,
    DomainResult,
    DomainSpec,
    fetch_domain,
    spool_query,
)
from core.trace._layout import (
    drawn_part,
    focus_matches,
    layered_positions,
    widest_layer,
    with_descendants,
)
from core.trace._lineage import (
    DIRECTIONS,
    EDGE_KINDS,
    NODE_KINDS,
    Lineage,
    LineageError,
    trace_lineage,
)
from core.trace._queries import history_query, materials_query
from core.trace._seeds import KINDS, SeedError, SeedResult, resolve_seeds, split_values
from core.trace._spool_reads import (
    TIMELINE_COLUMNS,
    lineage_frames,
    seed_lots,
    timeline_events,
    timeline_lots,
)
from core.trace._trace_job import (
    DEFAULT_DOMAINS,
    MACHINE,
    SEED_KINDS,
    TraceRequest,
    TraceResult,
    run_trace,
)

__all__ = [
    "DEFAULT_DOMAINS",
    "DIRECTIONS",
    "DOMAINS",
    "EDGE_KINDS",
    "KINDS",
    "MACHINE",
    "NODE_KINDS",
    "SEED_KINDS",
    "TIMELINE_COLUMNS",
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
    "drawn_part",
    "fetch_domain",
    "focus_matches",
    "history_query",
    "ids_digest",
    "layered_positions",
    "lineage_frames",
    "materials_query",
    "resolve_seeds",
    "run_trace",
    "seed_lots",
    "split_values",
    "spool_query",
    "timeline_events",
    "timeline_lots",
    "trace_lineage",
    "widest_layer",
    "with_descendants",
]
