"""One watchdog thread that fires query deadlines for drivers that have no timeout of
their own (embedded DuckDB: ``connection.interrupt()`` when the time is up).

Why: a ``threading.Timer`` per query starts and joins an OS thread for every batch; a
trace sends hundreds of batches, so that cost (~0.3 ms each, plus the hand-offs of the
GIL it forces) lands on the live widgets' latency. One long-lived thread keeps a heap
of (due time, action) entries instead and sleeps until the earliest is due.

Design: ``WATCHDOG.schedule(seconds, action)`` returns a ``Deadline``; ``cancel()`` it
when the query is done (the entry is then skipped, not searched for). ``fired`` tells a
deadline that went off from a cancel afterwards. Actions run on the watchdog thread and
must be quick (an interrupt call).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadline:
    """A scheduled action; ``cancel()`` before it is due and it never runs."""

    __slots__ = ("_lock", "action", "cancelled", "due", "fired")

    def __init__(self, due: float, action: Callable[[], None]) -> None:
        self.due = due
        self.action = action
        self.cancelled = False
        self.fired = False
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """After this returns the action has either run to its end or will never run, so
        the connection it would interrupt can safely serve its next query."""
        with self._lock:
            self.cancelled = True

    def _fire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
            try:
                self.action()
            except Exception:  # e.g. an interrupt of a connection closed meanwhile
                pass


class Watchdog:
    """A heap of deadlines served by one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, seconds: float, action: Callable[[], None]) -> Deadline:
        deadline = Deadline(time.monotonic() + seconds, action)
        with self._wake:
            heapq.heappush(self._heap, (deadline.due, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mesdash-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._wake.notify()  # the new deadline is the earliest: sleep less
        return deadline

    def pending(self) -> int:
        """Deadlines scheduled and neither fired nor cancelled (for tests and status)."""
        with self._wake:
            return sum(1 for _due, _n, d in self._heap if not d.cancelled)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _n, deadline = self._heap[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
            deadline._fire()


WATCHDOG = Watchdog()
"""The process's watchdog (one thread for every lane)."""
