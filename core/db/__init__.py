"""Database access for the whole product: two lanes over one warehouse.

This __init__ is the package's face: other packages import only from ``core.db`` (its
modules are private, ``_lanes``, ``_throttle``, ``_drivers/`` ...; tests/test_layers.py).

    lanes = open_lanes(settings)
    lanes.realtime.fetch_arrow(stmt)            # live widgets: pooled, short deadline
    lanes.slow.fetch_arrow(stmt, cancel=token)  # heavy work: throttled, isolated
    lanes.slow.stream(stmt)                     # Arrow record batches
    lanes.slow.stream_batched(build, ids)       # IN lists of <= in_list_max ids
    lanes.stats()                               # pools, throttle, latency, errors

Errors are LaneError subclasses with messages for people: DatabaseUnavailable,
QueryTimeout, QueryCancelled, QueryFailed, LaneBusy.
"""

from core.db._cancel import CancelToken
from core.db._drivers import arrow_schema_for
from core.db._engines import PoolSpec, duckdb_path, make_engine, raw_connection_of
from core.db._errors import (
    DatabaseUnavailable,
    LaneBusy,
    LaneError,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
)
from core.db._faults import FaultPlan
from core.db._idlist import ID_SEPARATOR, IdSet, in_ids, sorted_ids
from core.db._lanes import BatchResult, LiveGate, RealtimeLane, SlowLane
from core.db._local import file_literal, local_duckdb, local_threads
from core.db._open import Lanes, open_lanes

__all__ = [
    "ID_SEPARATOR",
    "BatchResult",
    "CancelToken",
    "DatabaseUnavailable",
    "FaultPlan",
    "IdSet",
    "LaneBusy",
    "LaneError",
    "Lanes",
    "LiveGate",
    "PoolSpec",
    "QueryCancelled",
    "QueryFailed",
    "QueryTimeout",
    "RealtimeLane",
    "SlowLane",
    "arrow_schema_for",
    "duckdb_path",
    "file_literal",
    "in_ids",
    "local_duckdb",
    "local_threads",
    "make_engine",
    "open_lanes",
    "raw_connection_of",
    "sorted_ids",
]
