"""The two database lanes: realtime for live widgets, slow for trace and history work.

Why (shared/domain.md, "The incident"): one pool served both, and a 114K-container trace
starved the live widgets for minutes. So:

- RealtimeLane: its own pooled engine (QueuePool: size, overflow, checkout timeout,
  pre-ping, recycle), a short driver-enforced deadline per query.
- SlowLane: an engine of its own (never the realtime pool), a throttle permit per query
  (process-local, or across processes via Redis), a longer driver-enforced deadline,
  streaming fetch as Arrow record batches, and IN-list batching with a small worker pool.
  It yields to live queries: before each query, and between the record batches of a
  stream, it waits (briefly, bounded) while live queries are running, so on a two-core
  machine a trace does not double the live widgets' latency.

Every permit and connection is returned on success, error, timeout, cancel and on a
consumer closing a stream half-way: each resource is taken in a ``with`` or ``try/finally``
inside the generator that uses it.

A cancel is sticky (``_Interrupter``): the statement registers with its CancelToken
before it is sent and checks the token right after registering; a cancel that finds it
registered interrupts it, and keeps interrupting it until it ends. A driver's cancel is
a no-op on a connection whose statement has not reached the server yet (PostgreSQL's
cancel request, DuckDB's interrupt), so one interrupt alone could be lost in the gap
between the check and the execute, and the query would hold its permit and connection
until its deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Executable

from core.db._cancel import CancelToken
from core.db._drivers import Driver, driver_for
from core.db._engines import raw_connection_of
from core.db._errors import (
    DatabaseUnavailable,
    LaneBusy,
    LaneError,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
)
from core.db._stats import LaneStats
from core.db._throttle import Throttle

DEFAULT_BATCH_ROWS = 65_536


class LiveGate:
    """Counts live queries in flight; the slow lane waits for quiet before each step."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._last_live = float("-inf")
        self.yields = 0
        self.yield_seconds = 0.0

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def live(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._last_live = time.monotonic()
                if self._active == 0:
                    self._cond.notify_all()

    def live_recently(self, window_s: float) -> bool:
        """A live query is running, or ended less than ``window_s`` ago."""
        return self._active > 0 or time.monotonic() - self._last_live < window_s

    def wait_quiet(self, max_wait_s: float) -> float:
        """Wait until no live query runs (at most ``max_wait_s``); return seconds waited."""
        if self._active == 0 or max_wait_s <= 0:
            return 0.0
        start = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0, timeout=max_wait_s)
        waited = time.monotonic() - start
        self.yields += 1
        self.yield_seconds += waited
        return waited


def _unavailable(exc: BaseException, url_display: str) -> DatabaseUnavailable:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    return DatabaseUnavailable(
        f"Cannot connect to the database at {url_display}: {reason}. Check that the "
        "server is running and reachable, and the URL and credentials in MES_DB_URL or "
        ".streamlit/secrets.toml [connections.mes]."
    )


class _Interrupter:
    """Interrupts one statement when its token is cancelled, and again after
    ``REPEAT_S`` (doubling up to ``REPEAT_MAX_S``) until the statement ends (``close``)
    or its deadline has passed (the driver stops it then): an interrupt that reached the
    connection before its statement did is lost, the next one is not. ``close`` returns
    only when no interrupt is in flight, so the connection can safely serve its next
    statement (or its rollback)."""

    REPEAT_S = 0.05
    REPEAT_MAX_S = 1.0

    def __init__(self, driver: Driver, raw: Any, deadline_s: float) -> None:
        self._driver = driver
        self._raw = raw
        self._deadline_s = deadline_s
        self._lock = threading.Lock()
        self._closed = False
        self._ended = threading.Event()
        self.requested = threading.Event()

    def __call__(self) -> None:
        """The token's callback: runs in the cancelling thread (or at registration)."""
        with self._lock:
            if self._closed or self.requested.is_set():
                return
            self.requested.set()
            self._interrupt()
        threading.Thread(target=self._repeat, name="mesdash-cancel", daemon=True).start()

    def _interrupt(self) -> None:  # with self._lock held
        try:
            self._driver.interrupt(self._raw)
        except Exception:  # a connection already broken: its statement is over anyway
            pass

    def _repeat(self) -> None:
        pause, until = self.REPEAT_S, time.monotonic() + self._deadline_s
        while not self._ended.wait(pause) and time.monotonic() < until:
            with self._lock:
                if self._closed:
                    return
                self._interrupt()
            pause = min(pause * 2, self.REPEAT_MAX_S)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._ended.set()


class _Lane:
    """Shared mechanics: checkout, deadline, cancel, stream, statistics."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        *,
        deadline_s: float,
        url_display: str,
        driver: Driver | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self.deadline_s = deadline_s
        self.url_display = url_display
        self.driver = driver or driver_for(engine.dialect.name)
        self.stats = LaneStats(name)
        self._checkout_waiting = 0
        self._lock = threading.Lock()
        self.driver.attach(self)

    def retry_hint(self) -> float:
        """Seconds after which a busy caller may try again: a pooled connection is held
        at most one deadline."""
        return self.deadline_s

    # --- connections ---------------------------------------------------------------------
    def _connect(self) -> Connection:
        with self._lock:
            self._checkout_waiting += 1
        try:
            return self.engine.connect()
        except sa.exc.TimeoutError as exc:
            self.stats.count_busy()
            raise LaneBusy(
                self.name, "every pooled connection is in use", self.retry_hint()
            ) from exc
        except (sa.exc.DBAPIError, OSError) as exc:
            raise _unavailable(exc, self.url_display) from exc
        finally:
            with self._lock:
                self._checkout_waiting -= 1

    def pool_status(self) -> dict[str, int]:
        pool = self.engine.pool
        size = getattr(pool, "size", None)
        return {
            "size": int(size()) if callable(size) else 0,
            "checked_out": int(pool.checkedout()) if hasattr(pool, "checkedout") else 0,
            "overflow": max(0, int(pool.overflow())) if hasattr(pool, "overflow") else 0,
            "waiting": self._checkout_waiting,
        }

    # --- one query -----------------------------------------------------------------------
    def _stream(
        self,
        stmt: Executable,
        *,
        deadline_s: float | None,
        cancel: CancelToken | None,
        batch_rows: int,
        between_batches: Callable[[], None] | None = None,
        small: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        deadline = self.deadline_s if deadline_s is None else deadline_s
        if cancel is not None and cancel.cancelled:
            raise QueryCancelled(self.name)
        started = time.perf_counter()
        self.stats.started()
        rows = 0
        outcome = "error"
        conn = self._connect()
        invalidate = False
        interrupter: _Interrupter | None = None
        try:
            interrupter = _Interrupter(self.driver, raw_connection_of(conn), deadline)
            armed = self.driver.arm(conn, deadline)
            try:
                # Registered before the statement is sent; checked right after registering
                # (a cancel that came earlier fired the callback at registration).
                with (cancel.on_cancel(interrupter) if cancel else _nullcontext()):
                    if interrupter.requested.is_set():
                        raise QueryCancelled(self.name)
                    source = (
                        self._fetched(conn, stmt)
                        if small and self.driver.backend != "duckdb"
                        else self.driver.stream(conn, stmt, batch_rows)
                    )
                    with closing(source) as batches:
                        for batch in batches:
                            if interrupter.requested.is_set():  # sticky: no batch after it
                                raise QueryCancelled(self.name)
                            rows += batch.num_rows
                            yield batch
                            if between_batches is not None:
                                between_batches()
                outcome = "ok"
            except GeneratorExit:
                outcome = "cancelled"
                raise
            except QueryCancelled:
                outcome = "cancelled"
                raise
            except LaneBusy:
                outcome = "busy"
                self.stats.count_busy()
                raise
            except Exception as exc:
                if self.driver.is_interrupt(exc):
                    if interrupter.requested.is_set() or (
                        cancel is not None and cancel.cancelled
                    ):
                        outcome = "cancelled"
                        raise QueryCancelled(self.name) from exc
                    outcome = "timeout"
                    invalidate = self.driver.invalidate_on_timeout
                    raise QueryTimeout(self.name, deadline) from exc
                if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
                    raise _unavailable(exc, self.url_display) from exc
                if self.driver.is_db_error(exc):
                    raise QueryFailed(self.name, exc) from exc
                raise
            finally:
                interrupter.close()  # no interrupt after this: the rollback is safe
                self.driver.disarm(conn, armed)
        finally:
            if interrupter is not None:
                interrupter.close()
            try:
                if invalidate:
                    conn.invalidate()
                else:
                    conn.rollback()
            except Exception:
                try:
                    conn.invalidate()
                except Exception:
                    pass
            conn.close()
            self.stats.finished(time.perf_counter() - started, rows=rows, outcome=outcome)

    def _fetched(self, conn: Connection, stmt: Executable) -> Iterator[pa.RecordBatch]:
        table = self.driver.fetch(conn, stmt)
        yield from table.to_batches() or [
            pa.RecordBatch.from_pylist([], schema=table.schema)
        ]

    def _table(self, batches: Iterator[pa.RecordBatch]) -> pa.Table:
        with closing(batches) as it:
            collected = list(it)
        return pa.Table.from_batches(collected) if collected else pa.table({})


    def fetch_arrow(self, stmt: Executable, *, deadline_s: float | None = None) -> pa.Table:
        raise NotImplementedError  # pragma: no cover - each lane defines it

    def fetch_df(self, stmt: Executable, *, deadline_s: float | None = None) -> Any:
        return self.fetch_arrow(stmt, deadline_s=deadline_s).to_pandas()

    def scalar(self, stmt: Executable, *, deadline_s: float | None = None) -> Any:
        table = self.fetch_arrow(stmt, deadline_s=deadline_s)
        if table.num_rows == 0 or table.num_columns == 0:
            return None
        return table.column(0)[0].as_py()

    def close(self) -> None:
        self.engine.dispose()


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class RealtimeLane(_Lane):
    """Pooled, short deadlines, for the live widgets. Never throttled, never waits."""

    def __init__(self, engine: Engine, *, gate: LiveGate, **kw: Any) -> None:
        super().__init__("realtime", engine, **kw)
        self.gate = gate

    def fetch_arrow(
        self, stmt: Executable, *, deadline_s: float | None = None, live: bool = True
    ) -> pa.Table:
        """``live=False`` for reference lookups (station map, exclusion list): a few
        rows read on behalf of a page or a job, not a live widget. They do not make the
        slow lane narrow to one batch for ``live_recent_s`` (a trace's own station
        map lookup did, and halved the speed of its first history fetch)."""
        with self.gate.live() if live else _nullcontext():
            return self._table(
                self._stream(stmt, deadline_s=deadline_s, cancel=None,
                             batch_rows=DEFAULT_BATCH_ROWS, small=True)
            )

    def status(self) -> dict[str, Any]:
        return {"pool": self.pool_status(), **self.stats.snapshot()}


@dataclass
class BatchResult:
    """One IN-list batch of a batched stream: its table, or the error it raised.

    ``offset``/``size`` place the batch in the caller's id list (``ids_total`` long), so
    progress is ids done / ids_total; the number of batches is not fixed in advance
    because batches shrink while live widgets are active."""

    index: int
    offset: int
    size: int
    ids_total: int
    first_id: str
    last_id: str
    table: pa.Table | None
    error: LaneError | None
    seconds: float


class SlowLane(_Lane):
    """Throttled, isolated, streaming; for trace, history and analysis queries."""

    def __init__(
        self,
        engine: Engine,
        *,
        throttle: Throttle,
        gate: LiveGate,
        wait_s: float,
        workers: int,
        in_list_max: int,
        yield_to_live: bool = True,
        yield_max_wait_s: float = 2.0,
        live_recent_s: float = 1.0,
        live_batch_size: int = 250,
        **kw: Any,
    ) -> None:
        super().__init__("slow", engine, **kw)
        self.throttle = throttle
        self.gate = gate
        self.wait_s = wait_s
        self.workers = workers
        self.in_list_max = in_list_max
        self.yield_to_live = yield_to_live
        self.yield_max_wait_s = yield_max_wait_s
        self.live_recent_s = live_recent_s
        self.live_batch_size = live_batch_size

    def _give_way(self) -> None:
        if self.yield_to_live:
            self.gate.wait_quiet(self.yield_max_wait_s)

    def live_active(self) -> bool:
        """Live widgets queried within ``live_recent_s`` (and the lane gives way to them):
        batches narrow to one at a time, and local work started now (a defect analysis)
        keeps to one thread as well."""
        return self.yield_to_live and self.gate.live_recently(self.live_recent_s)

    def _width(self, workers: int) -> int:
        """Batches allowed in flight now: one while the live widgets are active."""
        return 1 if self.live_active() else workers

    def _queued(self, workers: int) -> int:
        """Batches submitted and not yet consumed: one per worker in flight plus one
        waiting per worker, so the workers go on fetching while the caller writes a
        result (at most ``workers`` run at once: the pool has that many threads). While
        the live widgets are active: one, and nothing queued behind it."""
        width = self._width(workers)
        return width if width == 1 else 2 * width

    def _step(self, size: int) -> int:
        """Ids in the next batch: smaller while the live widgets are active, so a live
        query never shares the machine with a long batch."""
        if self.driver.shrink_batches_for_live and self.live_active():
            return min(size, self.live_batch_size)
        return size

    def retry_hint(self) -> float:
        """Seconds until a permit can free: the oldest held permit's deadline here, the
        earliest lease of another process, at most the lease (Throttle.free_in_s)."""
        return max(1.0, self.throttle.free_in_s(self.deadline_s))

    def stream(
        self,
        stmt: Executable,
        *,
        deadline_s: float | None = None,
        cancel: CancelToken | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        wait_s: float | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Record batches of one query. Close it (or exhaust it) to free its permit;
        ``with contextlib.closing(lane.stream(...))`` makes that explicit."""
        self._give_way()
        wait = self.wait_s if wait_s is None else wait_s
        try:
            permit = self.throttle.acquire(wait, cancel, self.retry_hint)
        except LaneBusy:
            self.stats.count_busy()
            raise
        try:
            yield from self._stream(
                stmt,
                deadline_s=deadline_s,
                cancel=cancel,
                batch_rows=batch_rows,
                between_batches=self._give_way,
            )
        finally:
            permit.issuer.release(permit)

    def fetch_arrow(
        self,
        stmt: Executable,
        *,
        deadline_s: float | None = None,
        cancel: CancelToken | None = None,
        wait_s: float | None = None,
    ) -> pa.Table:
        return self._table(
            self.stream(stmt, deadline_s=deadline_s, cancel=cancel, wait_s=wait_s)
        )

    def stream_batched(
        self,
        build: Callable[[list[str]], Executable],
        ids: Sequence[str] | pa.Array | pa.ChunkedArray,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        deadline_s: float | None = None,
        cancel: CancelToken | None = None,
        on_error: str = "raise",
        transform: Callable[[pa.Table], pa.Table] | None = None,
    ) -> Iterator[BatchResult]:
        """Run ``build(chunk)`` for each IN-list chunk of ``ids`` with a few workers.

        Yields a BatchResult per chunk as it completes. ``on_error="collect"`` yields
        failed chunks (with their id range) and goes on; ``"raise"`` stops at the first
        failure. Closing the iterator, an error, or cancelling ``cancel`` stops pending
        chunks, interrupts running queries, and returns every permit and connection
        before the iterator finishes. ``transform`` (thread-safe) shapes each batch's
        table in the worker thread, in parallel with the other workers' fetches.
        """
        size = min(batch_size or self.in_list_max, self.in_list_max)
        if size < 1:
            raise ValueError("batch_size must be at least 1")
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        arrow = isinstance(ids, pa.Array)  # Python strings made one chunk at a time
        if not arrow:
            ids = list(ids)
        total = len(ids)
        n_workers = max(1, workers or self.workers)
        own = CancelToken(cancel)

        def run(index: int, offset: int, chunk: list[str]) -> BatchResult:
            t0 = time.perf_counter()
            table: pa.Table | None = None
            error: LaneError | None = None
            try:
                table = self.fetch_arrow(build(chunk), deadline_s=deadline_s, cancel=own)
                if transform is not None:
                    table = transform(table)
            except LaneError as exc:
                error = exc
            return BatchResult(index, offset, len(chunk), total, chunk[0], chunk[-1], table,
                               error, time.perf_counter() - t0)

        pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="mesdash-slow")
        pending: set[Future[BatchResult]] = set()
        position = index = 0
        try:
            while position < total or pending:
                while (
                    position < total and len(pending) < self._queued(n_workers)
                    and not own.cancelled
                ):
                    self._give_way()
                    part = ids[position : position + self._step(size)]
                    chunk = part.to_pylist() if arrow else part
                    pending.add(pool.submit(run, index, position, chunk))
                    position += len(chunk)
                    index += 1
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: f.result().index):
                    result = fut.result()
                    if result.error is not None:
                        if cancel is not None and cancel.cancelled:
                            raise QueryCancelled(self.name)
                        if on_error == "raise":
                            raise result.error
                    yield result
                if cancel is not None and cancel.cancelled:
                    raise QueryCancelled(self.name)
        finally:
            own.cancel()
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            own.detach()

    def status(self) -> dict[str, Any]:
        return {
            "pool": self.pool_status(),
            "throttle": self.throttle.status(),
            "yields": {"count": self.gate.yields, "seconds": round(self.gate.yield_seconds, 3)},
            **self.stats.snapshot(),
        }

    def close(self) -> None:
        self.throttle.close()
        super().close()
