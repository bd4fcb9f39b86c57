"""Test double: a real driver with faults injected on demand, through the lanes' driver
seam (as httpx's MockTransport sits under a real client).

Why: "busy, try again in N s" and "stopped at its deadline" must reach the person at the
screen as a message (a page's warning, the CLI's exit code 4), never a traceback, and the
product must keep working once the fault is gone. Those paths are hard to reach on demand
with a real database, so this wrapper raises them on purpose while a real driver (DuckDB,
PostgreSQL) serves every other statement with real data. Nothing is mocked: the faults go
through the lane's own error paths (statistics, clean-up, retry hint).

Faults (``FaultPlan.parse``; the setting ``test_fault`` = ``MES_TEST_FAULT`` installs the
wrapper under the lane it names: a TEST HOOK, never set it in production):

    busy            every statement raises the lane's LaneBusy (its real retry hint)
    timeout         every statement is stopped as by its deadline (QueryTimeout)
    fail            every statement is rejected by the database (QueryFailed)
    KIND@N[,M...]   only the N-th, M-th... statement through this driver (1-based), e.g.
                    ``fail@3`` fails one batch of a stream_batched (with slow_workers=1
                    the batches reach the driver in order)
    LANE:...        the lane: ``slow`` (the default), ``realtime`` or ``all``, e.g.
                    ``realtime:busy`` (the live queries: WIP, `mesdash holds`)

In-process tests switch faults on live lanes (``driver.fault = FaultPlan.parse("busy")``
or ``None``) and widen the gaps around a cancel with the hooks ``before_arm`` (before the
statement registers with its CancelToken) and ``before_execute`` (after registering,
before the real driver sends the statement).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from core.db._drivers import Armed, Driver
from core.db._errors import LaneBusy

FAULT_KINDS = ("busy", "timeout", "fail")
FAULT_LANES = ("slow", "realtime", "all")
_SPEC = re.compile(r"^(?:(slow|realtime|all):)?(busy|timeout|fail)(?:@(\d+(?:,\d+)*))?$")


class InjectedInterrupt(Exception):
    """What the wrapped driver 'raises' for a timeout fault: the lane reads it as its
    driver's interrupt, so the lane's own deadline path makes the QueryTimeout."""


class InjectedFailure(Exception):
    """A statement 'rejected by the database' (the lane makes it a QueryFailed)."""


@dataclass(frozen=True)
class FaultPlan:
    kind: str
    statements: frozenset[int] = frozenset()  # empty: every statement
    spec: str = ""
    lane: str = "slow"

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """``[LANE:]KIND[@N[,M...]]`` (see the module docstring); ValueError else."""
        text = spec.strip().lower()
        m = _SPEC.match(text)
        if not m:
            raise ValueError(
                f"{spec!r} is not a fault: use busy, timeout or fail, optionally @N[,M] "
                "for only the N-th, M-th statement and a lane first (slow:, realtime:, "
                "all:), e.g. fail@3 or realtime:busy"
            )
        lane, kind, numbers_text = m.groups()
        numbers = (frozenset(int(n) for n in numbers_text.split(",")) if numbers_text
                   else frozenset())
        if 0 in numbers:
            raise ValueError(f"{spec!r}: statements are counted from 1")
        return cls(kind, numbers, text, lane or "slow")

    def hits(self, n: int) -> bool:
        return not self.statements or n in self.statements

    def applies_to(self, lane: str) -> bool:
        return self.lane in (lane, "all")


class FaultInjectingDriver(Driver):
    """A real driver (``inner``) that fails on purpose while ``fault`` is set."""

    def __init__(self, inner: Driver, fault: FaultPlan | str | None = None) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.invalidate_on_timeout = inner.invalidate_on_timeout
        self.shrink_batches_for_live = inner.shrink_batches_for_live
        self.fault: FaultPlan | None = (
            FaultPlan.parse(fault) if isinstance(fault, str) else fault
        )
        self.before_arm: Callable[[], None] | None = None
        self.before_execute: Callable[[], None] | None = None
        self.statements = 0  # statements that reached this driver
        self.injected = 0  # of which failed on purpose
        self._lane: Any = None
        self._lock = threading.Lock()

    # --- the seam's plumbing: everything else is the real driver's ---------------------
    def attach(self, lane: Any) -> None:
        self._lane = lane
        self.inner.attach(lane)

    def configure(self, settings: Any) -> None:
        self.inner.configure(settings)

    def session_connect_args(
        self, deadline_s: float, *, parallel_workers: int | None = None
    ) -> dict[str, Any]:
        return self.inner.session_connect_args(deadline_s, parallel_workers=parallel_workers)

    def arm(self, conn: Connection, deadline_s: float) -> Armed:
        if self.before_arm is not None:
            self.before_arm()
        return self.inner.arm(conn, deadline_s)

    def disarm(self, conn: Connection, armed: Armed) -> None:
        self.inner.disarm(conn, armed)

    def interrupt(self, raw: Any) -> None:
        self.inner.interrupt(raw)

    def is_interrupt(self, exc: BaseException) -> bool:
        return isinstance(exc, InjectedInterrupt) or self.inner.is_interrupt(exc)

    def is_db_error(self, exc: BaseException) -> bool:
        return isinstance(exc, InjectedFailure) or self.inner.is_db_error(exc)

    # --- statements ----------------------------------------------------------------------
    def _inject(self) -> None:
        """Count the statement and raise its fault, if the plan hits it."""
        with self._lock:
            self.statements += 1
            n, plan = self.statements, self.fault
            hit = plan is not None and plan.hits(n)
            if hit:
                self.injected += 1
        if self.before_execute is not None:
            self.before_execute()
        if not hit or plan is None:
            return
        what = f"injected test fault {plan.spec or plan.kind}, statement {n}"
        if plan.kind == "busy":
            lane = self._lane
            name = getattr(lane, "name", "slow")
            hint = lane.retry_hint() if lane is not None else 1.0
            raise LaneBusy(name, what, hint)
        if plan.kind == "timeout":
            raise InjectedInterrupt(what)
        raise InjectedFailure(what)

    def fetch(self, conn: Connection, stmt: Executable) -> pa.Table:
        self._inject()
        return self.inner.fetch(conn, stmt)

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        self._inject()
        yield from self.inner.stream(conn, stmt, batch_rows)


def inject(lane: Any, fault: FaultPlan | str | None = None) -> FaultInjectingDriver:
    """The lane's FaultInjectingDriver (wrapping its real driver the first time), with
    ``fault`` set: ``inject(lanes.slow, "fail@2")`` in a test, ``inject(lane)`` for the
    hooks alone. Set ``.fault = None`` on the result to lift the fault."""
    driver = lane.driver
    if not isinstance(driver, FaultInjectingDriver):
        driver = FaultInjectingDriver(driver)
        driver.attach(lane)
        lane.driver = driver
    driver.fault = FaultPlan.parse(fault) if isinstance(fault, str) else fault
    return driver
