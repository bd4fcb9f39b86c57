"""Per-lane counters and latency percentiles, cheap enough to update on every query.

Why: the incident was invisible until the web worker died. Every lane keeps its recent
latencies (a bounded ring) and its timeout/error/cancel counts, and the System page and
`mesdash db check` print them next to the pool and throttle state.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

RING = 4096


class LaneStats:
    def __init__(self, lane: str) -> None:
        self.lane = lane
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=RING)
        self.queries = 0
        self.timeouts = 0
        self.errors = 0
        self.cancelled = 0
        self.busy = 0
        self.rows = 0
        self.active = 0

    def started(self) -> None:
        with self._lock:
            self.active += 1

    def finished(self, seconds: float, *, rows: int = 0, outcome: str = "ok") -> None:
        with self._lock:
            self.active -= 1
            self.queries += 1
            self.rows += rows
            if outcome == "ok":
                self._latencies.append(seconds)
            elif outcome == "timeout":
                self.timeouts += 1
            elif outcome == "cancelled":
                self.cancelled += 1
            elif outcome == "busy":
                pass  # counted by count_busy, not an error
            else:
                self.errors += 1

    def count_busy(self) -> None:
        with self._lock:
            self.busy += 1

    def latency_ms(self) -> dict[str, float]:
        with self._lock:
            data = np.fromiter(self._latencies, dtype=float)
        if data.size == 0:
            return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "count": 0}
        p50, p95, p99 = np.percentile(data * 1000.0, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "count": int(data.size)}

    def snapshot(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "active": self.active,
            "rows": self.rows,
            "timeouts": self.timeouts,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "busy": self.busy,
            "latency_ms": self.latency_ms(),
        }
