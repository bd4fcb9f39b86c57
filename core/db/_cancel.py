"""Cancellation that reaches into a running query.

Why: a Cancel button that only stops *pending* work leaves a 60 s query running and its
permit and connection held. A CancelToken carries callbacks registered by running queries
(each one calls the driver's own cancel: DuckDB interrupt(), psycopg cancel_safe(),
oracledb cancel()); cancelling the token fires them all. Child tokens let a batch stream
cancel its own queries when its consumer stops, without cancelling the caller's token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class CancelToken:
    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next = 0
        self._parent = parent
        self._parent_handle: int | None = None
        if parent is not None:
            self._parent_handle = parent._add(self.cancel)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True as soon as the token is cancelled."""
        return self._event.wait(timeout)

    def cancel(self) -> None:
        if self._event.is_set():
            return
        self._event.set()
        with self._lock:
            callbacks = list(self._callbacks.values())
        for cb in callbacks:
            try:
                cb()
            except Exception:  # a failing interrupter must not stop the others
                pass

    def _add(self, cb: Callable[[], None]) -> int:
        with self._lock:
            self._next += 1
            handle = self._next
            self._callbacks[handle] = cb
        if self._event.is_set():
            try:
                cb()
            except Exception:
                pass
        return handle

    def _remove(self, handle: int) -> None:
        with self._lock:
            self._callbacks.pop(handle, None)

    @contextmanager
    def on_cancel(self, cb: Callable[[], None]) -> Iterator[None]:
        """Run ``cb`` if the token is cancelled while the block runs."""
        handle = self._add(cb)
        try:
            yield
        finally:
            self._remove(handle)

    def detach(self) -> None:
        """Stop listening to the parent (call when a child's work is over)."""
        if self._parent is not None and self._parent_handle is not None:
            self._parent._remove(self._parent_handle)
            self._parent_handle = None
