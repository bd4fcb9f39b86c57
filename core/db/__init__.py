"""Database access for the whole product: two lanes over one warehouse.

Public API (everything else in core.db is private detail):

    lanes = open_lanes(settings)
    lanes.realtime.fetch_arrow(stmt)            # live widgets: pooled, short deadline
    lanes.slow.fetch_arrow(stmt, cancel=token)  # heavy work: throttled, isolated
    lanes.slow.stream(stmt)                     # Arrow record batches
    lanes.slow.stream_batched(build, ids)       # IN lists of <= in_list_max ids
    lanes.stats()                               # pools, throttle, latency, errors

Errors are LaneError subclasses with messages for people: DatabaseUnavailable,
QueryTimeout, QueryCancelled, QueryFailed, LaneBusy.
"""

from core.db.cancel import CancelToken
from core.db.errors import (
    DatabaseUnavailable,
    LaneBusy,
    LaneError,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
)
from core.db.lanes import BatchResult, LiveGate, RealtimeLane, SlowLane
from core.db.open import Lanes, open_lanes

__all__ = [
    "BatchResult",
    "CancelToken",
    "DatabaseUnavailable",
    "LaneBusy",
    "LaneError",
    "Lanes",
    "LiveGate",
    "QueryCancelled",
    "QueryFailed",
    "QueryTimeout",
    "RealtimeLane",
    "SlowLane",
    "open_lanes",
]
