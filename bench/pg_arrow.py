"""Benchmark: PostgreSQL to Arrow through COPY (CSV) against the ADBC PostgreSQL driver.

Why (issue 14, item 13): the PostgreSQL slow lane renders a statement with its ids as SQL
literals into ``COPY (...) TO STDOUT (FORMAT csv)`` and parses the CSV back into Arrow,
typed by the statement's schema. adbc-driver-postgresql is Arrow-native (binary transfer,
bound parameters, types from the server). This bench measures both, side by side in ONE
run, on the workloads of bench/trace.py and bench/lanes.py, before any adoption:

- trace: the incident's history + materials IN-list batches (``stream_batched``, the
  trace's ~114K containers, slow_workers) fetched to Arrow and dropped, COPY and ADBC
  alternating ``--repeat`` times; wall and process CPU seconds, rows, and a check that
  both return the same rows with the same Arrow types;
- lanes: bench/lanes.py's replay (10.4K-lot snapshot, ``--ids`` containers x 15 rows of
  history): the live widgets' latency idle, then while the slow lane fetches the history
  through COPY, then through ADBC, alternating ``--rounds`` times, each live sample
  attributed to the transport running when it started.

The ADBC side here is a bench-only driver (``AdbcPostgresDriver``): the lane still checks
out its psycopg connection per statement (pre-ping + reset, a cost an adopted driver would
not pay: ~2 local round trips a batch) and runs the statement on an ADBC connection of
its own pool (at most slow_connections). Cancel is not wired (not measured here).

- memory: one large statement (the history of every container, ids as one array bind),
  each transport in a process of its own: wall, batches, peak RSS. ADBC runs a statement
  with bound parameters eagerly (the whole result at once, adbc #2065); only statements
  without parameters stream through its COPY (binary) path.

adbc-driver-postgresql is not a dependency of mesdash (not adopted: docs/benchmarks.md);
install it for this bench: ``pip install adbc-driver-postgresql``.

    python bench/pg_arrow.py [--repeat 5] [--ids 114000] [--rounds 3]
                             [--skip trace|memory|lanes ...]
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyarrow as pa  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _demo import ensure_incident  # noqa: E402
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.sql import Executable  # noqa: E402

from core import schema as t  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.db import open_lanes  # noqa: E402
from core.db._drivers import PostgresDriver, _conform, arrow_schema_for  # noqa: E402
from core.trace import (  # noqa: E402
    history_query,
    materials_query,
    trace_lineage,
)

PG_URL = os.environ.get("MES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DOLLAR = PGDialect_psycopg(paramstyle="numeric_dollar")


class AdbcPostgresDriver(PostgresDriver):
    """The slow lane's statements through adbc-driver-postgresql (bench only)."""

    def __init__(self, libpq_uri: str, size: int, options: str) -> None:
        super().__init__()
        self.uri = libpq_uri
        self.options = options
        self.size = size
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self.opened = 0

    def _take(self) -> Any:
        import adbc_driver_postgresql.dbapi as adbc

        self._slots.acquire()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            self.opened += 1
            return adbc.connect(f"{self.uri}?options={_quote(self.options)}")
        except BaseException:
            self._slots.release()
            raise

    def _give(self, conn: Any, ok: bool) -> None:
        try:
            if ok:
                conn.rollback()
                self._idle.put(conn)
            else:
                conn.close()
        finally:
            self._slots.release()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        wanted = arrow_schema_for(stmt)
        opts = conn.get_execution_options()
        compiled = stmt.compile(
            dialect=DOLLAR,
            schema_translate_map=opts.get("schema_translate_map"),
            render_schema_translate=bool(opts.get("schema_translate_map")),
            compile_kwargs={"render_postcompile": True},
        )
        params = [compiled.params[k] for k in (compiled.positiontup or [])]
        aconn = self._take()
        ok = False
        try:
            with aconn.cursor() as cur:
                cur.execute(compiled.string, parameters=params or None)
                reader = cur.fetch_record_batch()
                emitted = False
                for batch in reader:
                    emitted = True
                    yield _conform(_storage(batch), wanted)
                if not emitted:
                    yield _conform(_storage(
                        pa.RecordBatch.from_pylist([], schema=reader.schema)), wanted)
            ok = True
        finally:
            self._give(aconn, ok)


class AdbcCursorDriver(AdbcPostgresDriver):
    """ADBC through a server-side cursor: ``DECLARE ... CURSOR`` with the bound parameters,
    then ``FETCH batch_rows`` until a short batch (bounded memory for any result; one
    round trip more than a plain execute)."""

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        wanted = arrow_schema_for(stmt)
        opts = conn.get_execution_options()
        compiled = stmt.compile(
            dialect=DOLLAR,
            schema_translate_map=opts.get("schema_translate_map"),
            render_schema_translate=bool(opts.get("schema_translate_map")),
            compile_kwargs={"render_postcompile": True},
        )
        params = [compiled.params[k] for k in (compiled.positiontup or [])]
        aconn = self._take()
        ok = False
        try:
            with aconn.cursor() as cur:
                cur.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
                cur.execute(f"DECLARE mesdash_c NO SCROLL CURSOR FOR {compiled.string}",
                            parameters=params or None)
                emitted = False
                while True:
                    cur.execute(f"FETCH {int(batch_rows)} FROM mesdash_c")
                    table = cur.fetch_arrow_table()
                    if table.num_rows or not emitted:
                        for batch in table.to_batches() or [
                                pa.RecordBatch.from_pylist([], schema=table.schema)]:
                            emitted = True
                            yield _conform(_storage(batch), wanted)
                    if table.num_rows < batch_rows:
                        break
            ok = True
        finally:
            self._give(aconn, ok)


def _quote(options: str) -> str:
    from urllib.parse import quote

    return quote(options, safe="")


def _storage(batch: pa.RecordBatch) -> pa.RecordBatch:
    """ADBC delivers numeric as an opaque extension over its text: take the text."""
    if not any(isinstance(f.type, pa.ExtensionType) for f in batch.schema):
        return batch
    cols = [c.storage if isinstance(c.type, pa.ExtensionType) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def adbc_for(lanes: Any, settings: Any, cls: type = AdbcPostgresDriver) -> Any:
    url = sa.engine.make_url(settings.db_url)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    options = f"-c statement_timeout={max(1, int(settings.slow_deadline_s * 1000))}"
    options += f" -c max_parallel_workers_per_gather={int(settings.slow_parallel_workers)}"
    return cls(libpq, settings.slow_connections, options)


TRANSPORTS = ("copy", "adbc", "adbc-cursor")


def drivers_of(lanes: Any, settings: Any) -> dict[str, Any]:
    return {"copy": lanes.slow.driver, "adbc": adbc_for(lanes, settings),
            "adbc-cursor": adbc_for(lanes, settings, AdbcCursorDriver)}


def rotation(i: int, drivers: dict[str, Any]) -> list[tuple[str, Any]]:
    """The transports in a different order each run (no one always runs first)."""
    order = list(drivers.items())
    k = i % len(order)
    return order[k:] + order[:k]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- trace -------------------------------------------------------------------------------------

def trace_bench(repeat: int) -> None:
    ensure_incident(PG_URL, "incident")
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=PG_URL,
                             schema="incident", spool_dir=tempfile.mkdtemp())
    lanes = open_lanes(settings)
    drivers = drivers_of(lanes, settings)
    h = t.lotwiphistory
    seeds = lanes.slow.fetch_arrow(
        sa.select(h.c.containerid).where(h.c.workcentername == "TMTT").distinct()
    )["containerid"].to_pylist()
    ids = trace_lineage(lanes, seeds, "backward", settings=settings).container_ids
    print(f"\ntrace: {len(ids):,} containers, history + materials in IN lists of "
          f"{settings.in_list_max}, slow_workers {settings.slow_workers}; {load()}")

    def run(driver: Any) -> tuple[float, float, int, dict[str, pa.Schema]]:
        lanes.slow.driver = driver
        rows, schemas = 0, {}
        t0, c0 = time.perf_counter(), time.process_time()
        for name, build in (("history", history_query), ("materials", materials_query)):
            with closing(lanes.slow.stream_batched(build, ids)) as it:
                for res in it:
                    rows += res.table.num_rows
                    schemas[name] = res.table.schema
        return time.perf_counter() - t0, time.process_time() - c0, rows, schemas

    runs: dict[str, list[tuple[float, float, int]]] = {n: [] for n in TRANSPORTS}
    seen: dict[str, dict[str, pa.Schema]] = {}
    for i in range(repeat):
        for name, driver in rotation(i, drivers):
            wall, cpu, rows, schemas = run(driver)
            runs[name].append((wall, cpu, rows))
            seen[name] = schemas
    lanes.slow.driver = drivers["copy"]
    same_types = all(seen["copy"][d].equals(seen[n][d]) for d in seen["copy"] for n in seen)
    same_rows = len({r for rs in runs.values() for *_, r in rs}) == 1
    print(f"same Arrow types: {same_types}; same row counts: {same_rows} "
          f"({runs['copy'][0][2]:,} rows)")
    if not same_types:
        for d in seen["copy"]:
            for n in seen:
                print(f"  {d}: {n} {seen[n][d]}")
    print("| transport | wall s: median (min) | CPU s: median | runs |")
    print("|---|---:|---:|---|")
    for name, rs in runs.items():
        print(f"| {name} | {statistics.median(r[0] for r in rs):.2f} "
              f"({min(r[0] for r in rs):.2f}) | {statistics.median(r[1] for r in rs):.2f} | "
              + ", ".join(f"{r[0]:.2f}" for r in rs) + " |")
    med = {n: statistics.median(r[0] for r in rs) for n, rs in runs.items()}
    cpu = {n: statistics.median(r[1] for r in rs) for n, rs in runs.items()}
    for n in TRANSPORTS[1:]:
        print(f"{n} / copy: wall {med[n] / med['copy']:.2f}x, client CPU "
              f"{cpu[n] / cpu['copy']:.2f}x (ratio of medians); ADBC connections opened "
              f"{drivers[n].opened}")
        drivers[n].close()
    print(f"after: {load()}")
    lanes.close()


# --- one large statement: memory -------------------------------------------------------------

def one_statement(transport: str) -> None:
    """The trace's bound in one statement (the whole history of the trace's containers, its
    ids as one array bind), through one transport, in a process of its own: its peak RSS."""
    import resource

    from sqlalchemy.dialects.postgresql import ARRAY

    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=PG_URL,
                             schema="incident", spool_dir=tempfile.mkdtemp())
    lanes = open_lanes(settings)
    h = t.lotwiphistory
    ids = lanes.slow.fetch_arrow(sa.select(t.container.c.containerid))["containerid"]
    ids = ids.to_pylist()
    if transport != "copy":
        lanes.slow.driver = drivers_of(lanes, settings)[transport]
    arr = sa.bindparam("ids", ids, type_=ARRAY(sa.String()))
    stmt = sa.select(*h.c).where(
        h.c.containerid.in_(sa.select(sa.func.unnest(arr).table_valued().column)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, rows, batches, biggest = time.perf_counter(), 0, 0, 0
    with closing(lanes.slow.stream(stmt, deadline_s=600)) as it:
        for b in it:
            rows, batches = rows + b.num_rows, batches + 1
            biggest = max(biggest, b.num_rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {transport} | {time.perf_counter() - t0:.2f} | {rows:,} | {batches} | "
          f"{biggest:,} | {before:.0f} → {peak:.0f} (+{peak - before:.0f}) |")
    lanes.close()


def memory_bench() -> None:
    import subprocess

    print(f"\none statement, all {129_155:,} containers' history as one array bind "
          f"(a process each); {load()}")
    print("| transport | wall s | rows | batches | largest batch rows | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---|")
    for transport in TRANSPORTS:
        done = subprocess.run([sys.executable, __file__, "--one-statement", transport],
                              capture_output=True, text=True, cwd=ROOT)
        print(done.stdout.strip() or f"| {transport} | failed: "
              f"{(done.stderr.strip().splitlines() or ['?'])[-1]} |||||")


# --- lanes -------------------------------------------------------------------------------------

def lanes_bench(n_ids: int, idle_n: int, interval_s: float, rounds: int) -> None:
    import lanes as lb  # bench/lanes.py

    from core.db import in_ids
    from core.schema import lotwiphistory as h

    with tempfile.TemporaryDirectory() as tmp:
        url, schema = lb.setup("postgresql", n_ids, Path(tmp))
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=url, schema=schema)
    lanes = open_lanes(settings)
    drivers = drivers_of(lanes, settings)
    try:
        for _ in range(10):
            lb.wip_summary(lanes)
        print(f"\nlanes: {n_ids:,} ids x {lb.ROWS_PER_ID} rows, live every "
              f"{interval_s * 1000:.0f} ms; {load()}")
        samples: list[tuple[float, float]] = []  # (start, seconds)
        errors: list[str] = []
        phase: list[tuple[float, str]] = [(time.perf_counter(), "idle")]

        def live() -> None:
            i = 0
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    (lb.snapshot_time if i % 2 == 0 else lb.wip_summary)(lanes)
                    samples.append((t0, time.perf_counter() - t0))
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                i += 1
                stop.wait(max(0.0, interval_s - (time.perf_counter() - t0)))

        stop = threading.Event()
        th = threading.Thread(target=live)
        th.start()
        while len(samples) < idle_n:
            time.sleep(0.05)
        ids = [f"{i:016X}" for i in range(n_ids)]

        def build(chunk: list[str]) -> sa.Select:
            return sa.select(h.c.containerid, h.c.equipmentname, h.c.trackintimestamp,
                             h.c.trackoutqty).where(in_ids(h.c.containerid, chunk))

        slow: dict[str, list[float]] = {n: [] for n in TRANSPORTS}
        rows: dict[str, int] = {}
        for i in range(rounds):
            for name, driver in rotation(i, drivers):
                lanes.slow.driver = driver
                phase.append((time.perf_counter(), name))
                t0, n = time.perf_counter(), 0
                for res in lanes.slow.stream_batched(build, ids):
                    n += res.table.num_rows
                slow[name].append(time.perf_counter() - t0)
                rows[name] = n
                phase.append((time.perf_counter(), "between"))
        stop.set()
        th.join()
        lanes.slow.driver = drivers["copy"]

        def label(ts: float) -> str:
            cur = "idle"
            for start, name in phase:
                if start <= ts:
                    cur = name
            return cur

        by: dict[str, list[float]] = {n: [] for n in ("idle", *TRANSPORTS)}
        for ts, secs in samples:
            if label(ts) in by:
                by[label(ts)].append(secs)
        print("| live widgets during | n | p50 ms | p99 ms | p99 / idle p99 | slow s/run: "
              "median (runs) | rows |")
        print("|---|---:|---:|---:|---:|---|---:|")
        idle99 = lb.pct(by["idle"], 99)
        for name in ("idle", *TRANSPORTS):
            runs = slow.get(name, [])
            print(f"| {name} | {len(by[name])} | {lb.pct(by[name], 50):.2f} | "
                  f"{lb.pct(by[name], 99):.2f} | {lb.pct(by[name], 99) / idle99:.2f} | "
                  + (f"{statistics.median(runs):.2f} ("
                     + ", ".join(f"{r:.2f}" for r in runs) + ")" if runs else "")
                  + f" | {rows.get(name, '')} |")
        print(f"errors {len(errors)}{': ' + errors[0] if errors else ''}")
        for n in TRANSPORTS[1:]:
            print(f"{n} / copy: slow wall "
                  f"{statistics.median(slow[n]) / statistics.median(slow['copy']):.2f}x "
                  f"(ratio of medians); live p50 "
                  f"{lb.pct(by[n], 50) / lb.pct(by['copy'], 50):.2f}x, p99 "
                  f"{lb.pct(by[n], 99) / lb.pct(by['copy'], 99):.2f}x")
        print(f"after: {load()}")
    finally:
        for n in TRANSPORTS[1:]:
            drivers[n].close()
        lanes.close()
        lb.teardown("postgresql", url, schema)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="trace runs of each transport")
    ap.add_argument("--ids", type=int, default=114_000, help="lanes: containers")
    ap.add_argument("--idle", type=int, default=200, help="lanes: idle live samples")
    ap.add_argument("--interval-ms", type=float, default=100.0)
    ap.add_argument("--rounds", type=int, default=3, help="lanes: slow runs of each")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["trace", "memory", "lanes"])
    ap.add_argument("--one-statement", choices=TRANSPORTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    try:
        import adbc_driver_postgresql  # noqa: F401
    except ImportError:
        sys.exit("bench/pg_arrow.py needs adbc-driver-postgresql, not a mesdash dependency: "
                 "pip install adbc-driver-postgresql")
    if args.one_statement:
        one_statement(args.one_statement)
        return
    print(f"cores {os.cpu_count()}; {load()}")
    if "trace" not in args.skip:
        trace_bench(args.repeat)
    if "memory" not in args.skip:
        memory_bench()
    if "lanes" not in args.skip:
        lanes_bench(args.ids, args.idle, args.interval_ms / 1000, args.rounds)


if __name__ == "__main__":
    main()
