"""The lanes' promises on real DuckDB and PostgreSQL: driver deadlines, cancel, no leaked
permits or connections, isolation of the live widgets from a saturated slow lane."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing

import pyarrow as pa
import pyarrow.compute
import pytest
import sqlalchemy as sa

from core.db import (
    CancelToken,
    LaneBusy,
    Lanes,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
    open_lanes,
)
from core.db._faults import inject
from core.db._idlist import ID_SEPARATOR, in_ids, sorted_ids
from core.db._lanes import LiveGate
from tests.conftest import make_settings

IDS = sa.Table(
    "ids", sa.MetaData(), sa.Column("id", sa.String), sa.Column("n", sa.Integer), schema="dwh"
)
N_IDS = 5000


def long_query(backend: str) -> sa.Executable:
    """A query that runs far longer than any deadline in these tests (minutes)."""
    if backend == "postgresql":
        return sa.select(sa.func.pg_sleep(30).label("slept"))
    return sa.select(
        sa.func.sum(sa.func.hash(sa.literal_column("range"))).label("h")
    ).select_from(sa.func.range(sa.literal_column("1000000000000")))


def short_sleep(backend: str, seconds: float) -> sa.Executable:
    if backend == "postgresql":
        return sa.select(sa.func.pg_sleep(seconds).label("slept"))
    # DuckDB has no sleep: a bounded amount of hashing (about `seconds` on this machine
    # is not needed; any noticeable duration works for the tests that use it).
    return sa.select(
        sa.func.sum(sa.func.hash(sa.literal_column("range"))).label("h")
    ).select_from(sa.func.range(sa.literal_column(str(int(seconds * 30_000_000)))))


@pytest.fixture(params=["duckdb", "postgresql"])
def raw_lanes(
    request: pytest.FixtureRequest, empty_duckdb_url: str, pg_url: str
) -> Iterator[Lanes]:
    """Lanes over a database holding one table dwh.ids(id, n) of N_IDS rows."""
    backend = request.param
    if backend == "duckdb":
        import duckdb

        path = empty_duckdb_url.removeprefix("duckdb:///")
        con = duckdb.connect(path)
        con.execute(
            "CREATE SCHEMA dwh; CREATE TABLE dwh.ids AS "
            f"SELECT printf('%016X', range) AS id, range AS n FROM range({N_IDS})"
        )
        con.close()
        settings = make_settings(empty_duckdb_url, slow_permits=2, slow_connections=3,
                                 slow_wait_s=1.0)
        lanes = open_lanes(settings)
        yield lanes
        lanes.close()
    else:
        schema = f"lanes_{int(time.time() * 1000) % 10**9}"
        eng = sa.create_engine(pg_url)
        with eng.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            c.execute(sa.text(
                f'CREATE TABLE "{schema}".ids AS SELECT lpad(upper(to_hex(g)), 16, \'0\') '
                f"AS id, g AS n FROM generate_series(0, {N_IDS - 1}) g"
            ))
        settings = make_settings(pg_url, schema=schema, slow_permits=2, slow_connections=3,
                                 slow_wait_s=1.0)
        lanes = open_lanes(settings)
        yield lanes
        lanes.close()
        with eng.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        eng.dispose()


def all_returned(lanes: Lanes) -> bool:
    st = lanes.stats()
    return (
        st["slow"]["pool"]["checked_out"] == 0
        and st["slow"]["throttle"]["in_use"] == 0
        and st["realtime"]["pool"]["checked_out"] == 0
        and st["slow"]["active"] == 0
    )


def ids_query(chunk: list[str]) -> sa.Select:
    return sa.select(IDS.c.id, IDS.c.n).where(in_ids(IDS.c.id, chunk)).order_by(IDS.c.n)


def all_ids() -> list[str]:
    return [f"{i:016X}" for i in range(N_IDS)]


def test_fetch_and_stream_return_typed_arrow(raw_lanes: Lanes) -> None:
    table = raw_lanes.slow.fetch_arrow(ids_query(all_ids()[:10]))
    assert table.schema == pa.schema([("id", pa.string()), ("n", pa.int64())])
    assert table.column("n").to_pylist() == list(range(10))
    with closing(raw_lanes.slow.stream(sa.select(IDS.c.id), batch_rows=1000)) as batches:
        sizes = [b.num_rows for b in batches]
    assert sum(sizes) == N_IDS and max(sizes) <= 1000
    empty = raw_lanes.realtime.fetch_arrow(sa.select(IDS.c.id).where(IDS.c.id == "none"))
    assert empty.num_rows == 0 and empty.schema.field("id").type == pa.string()
    assert all_returned(raw_lanes)


@pytest.mark.parametrize("lane_name", ["slow", "realtime"])
def test_deadline_stops_a_long_query_and_lane_stays_healthy(
    raw_lanes: Lanes, lane_name: str
) -> None:
    lane = getattr(raw_lanes, lane_name)
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout) as info:
        lane.fetch_arrow(long_query(raw_lanes.backend), deadline_s=1.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.5, f"deadline of 1 s took {elapsed:.2f} s"
    assert "deadline" in str(info.value)
    assert lane.stats.timeouts == 1
    # The lane serves the next query on the same pool.
    for _ in range(3):
        assert lane.scalar(sa.select(sa.func.count()).select_from(IDS)) == N_IDS
    assert all_returned(raw_lanes)


def test_cancel_interrupts_a_running_query(raw_lanes: Lanes) -> None:
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(QueryCancelled):
        raw_lanes.slow.fetch_arrow(long_query(raw_lanes.backend), cancel=token)
    assert time.monotonic() - t0 < 2.0
    assert raw_lanes.slow.stats.cancelled == 1
    assert all_returned(raw_lanes)
    assert raw_lanes.slow.fetch_arrow(ids_query(["0000000000000001"])).num_rows == 1


@pytest.mark.parametrize("gap", ["before_arm", "before_execute"])
def test_a_cancel_in_the_gap_before_the_statement_runs_is_not_lost(
    raw_lanes: Lanes, gap: str
) -> None:
    """Issue 15, "the lost cancel": a cancel that came after the lane's "already
    cancelled?" check but before the statement reached the server was a no-op (an
    idle connection has nothing to interrupt) and the query then held its permit and
    connection until its deadline. The gap is widened on purpose: ``before_arm`` stops
    the query before it registers with its token, ``before_execute`` after registering,
    just before the real driver sends the statement."""
    lane = raw_lanes.slow
    driver = inject(lane)
    in_gap, go_on = threading.Event(), threading.Event()

    def wait_in_gap() -> None:
        in_gap.set()
        go_on.wait(10)

    setattr(driver, gap, wait_in_gap)
    token = CancelToken()
    deadline_s = 4.0  # short, so the lost cancel shows as a QueryTimeout, not a hang
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            lane.fetch_arrow(long_query(raw_lanes.backend), cancel=token, deadline_s=deadline_s)
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert in_gap.wait(10)
    st = raw_lanes.stats()["slow"]
    assert st["pool"]["checked_out"] == 1 and st["throttle"]["in_use"] == 1
    token.cancel()
    t0 = time.monotonic()
    go_on.set()
    t.join(deadline_s + 5)
    elapsed = time.monotonic() - t0
    assert len(outcome) == 1 and isinstance(outcome[0], QueryCancelled), outcome
    assert elapsed < deadline_s / 2, f"the cancel took {elapsed:.2f} s"
    assert lane.stats.cancelled == 1 and lane.stats.timeouts == 0
    assert all_returned(raw_lanes)
    setattr(driver, gap, None)
    assert lane.fetch_arrow(ids_query(["0000000000000001"])).num_rows == 1


def test_cancel_while_the_stream_is_being_read_is_a_cancel(raw_lanes: Lanes) -> None:
    """Cancelled between two batches of a streaming result (DuckDB reports it through
    Arrow's reader as an OSError): still QueryCancelled, with everything returned."""
    token = CancelToken()
    n = sa.literal_column("5000000")
    pg = raw_lanes.backend == "postgresql"
    rows, col = ((sa.func.generate_series(1, n), "generate_series") if pg
                 else (sa.func.range(n), "range"))
    big = sa.select((sa.literal_column(col) * 2).label("h")).select_from(rows)
    with pytest.raises(QueryCancelled), closing(
        raw_lanes.slow.stream(big, batch_rows=10_000, cancel=token)
    ) as batches:
        for i, _ in enumerate(batches):
            if i == 2:
                token.cancel()
    assert all_returned(raw_lanes)
    assert raw_lanes.slow.fetch_arrow(ids_query(["0000000000000001"])).num_rows == 1


def test_stream_closed_half_way_returns_permit_and_connection(raw_lanes: Lanes) -> None:
    stream = raw_lanes.slow.stream(sa.select(IDS.c.id), batch_rows=100)
    next(stream)
    st = raw_lanes.stats()["slow"]
    assert st["pool"]["checked_out"] == 1 and st["throttle"]["in_use"] == 1
    stream.close()
    assert all_returned(raw_lanes)


def test_error_inside_consumer_returns_everything(raw_lanes: Lanes) -> None:
    stream = raw_lanes.slow.stream(sa.select(IDS.c.id), batch_rows=100)
    with pytest.raises(RuntimeError, match="consumer failed"), closing(stream) as s:
        for _ in s:
            raise RuntimeError("consumer failed")
    with pytest.raises(QueryFailed, match="could not run"):
        raw_lanes.slow.fetch_arrow(sa.select(sa.literal_column("no_such_column")))
    assert raw_lanes.slow.stats.errors == 1
    assert all_returned(raw_lanes)


def test_batched_stream_limits_in_lists_and_covers_every_id(raw_lanes: Lanes) -> None:
    seen: list[int] = []

    def build(chunk: list[str]) -> sa.Select:
        seen.append(len(chunk))
        return ids_query(chunk)

    ids = all_ids()
    results = list(raw_lanes.slow.stream_batched(build, ids, batch_size=700))
    assert max(seen) == 700 and sum(seen) == N_IDS
    assert sorted(r.index for r in results) == list(range(len(seen)))
    assert sorted((r.offset, r.size) for r in results)[-1] == (N_IDS - seen[-1], seen[-1])
    assert all(r.ids_total == N_IDS for r in results)
    got = pa.concat_tables([r.table for r in results])
    assert sorted(got.column("id").to_pylist()) == ids
    # never more than the lane's in_list_max, whatever the caller asks for
    seen.clear()
    list(raw_lanes.slow.stream_batched(build, ids, batch_size=5000))
    assert max(seen) == raw_lanes.slow.in_list_max
    assert all_returned(raw_lanes)


def test_batched_stream_takes_an_arrow_id_set(raw_lanes: Lanes) -> None:
    chunks: list[list[str]] = []

    def build(chunk: list[str]) -> sa.Select:
        assert all(isinstance(i, str) for i in chunk)  # Python strings, one list at a time
        chunks.append(chunk)
        return ids_query(chunk)

    ids = sorted_ids(pa.chunked_array([all_ids()[::-1], [None, all_ids()[0]]]))
    assert ids.to_pylist() == all_ids()  # distinct, sorted, no nulls
    results = list(raw_lanes.slow.stream_batched(build, ids, batch_size=700))
    assert max(map(len, chunks)) == 700 and sum(map(len, chunks)) == N_IDS
    assert min(results, key=lambda r: r.index).first_id == all_ids()[0]
    got = pa.concat_tables([r.table for r in results])
    assert sorted(got.column("id").to_pylist()) == all_ids()
    assert all_returned(raw_lanes)


def test_batched_stream_closed_half_way_or_cancelled_leaks_nothing(raw_lanes: Lanes) -> None:
    it = raw_lanes.slow.stream_batched(lambda c: ids_query(c), all_ids(), batch_size=100)
    next(it)
    it.close()
    assert all_returned(raw_lanes)

    token = CancelToken()
    slow = short_sleep(raw_lanes.backend, 0.3)
    it = raw_lanes.slow.stream_batched(lambda c: slow, all_ids(), batch_size=100,
                                       cancel=token)
    next(it)
    token.cancel()
    t0 = time.monotonic()
    with pytest.raises(QueryCancelled):
        list(it)
    assert time.monotonic() - t0 < 2.0
    assert all_returned(raw_lanes)


def test_failing_batch_is_reported_with_its_id_range(raw_lanes: Lanes) -> None:
    ids = all_ids()[:300]
    bad = ids[100]

    def build(chunk: list[str]) -> sa.Executable:
        if bad in chunk:
            return long_query(raw_lanes.backend)
        return ids_query(chunk)

    results = list(raw_lanes.slow.stream_batched(
        build, ids, batch_size=100, deadline_s=0.5, on_error="collect"
    ))
    failed = [r for r in results if r.error is not None]
    assert len(results) == 3 and len(failed) == 1
    assert isinstance(failed[0].error, QueryTimeout)
    assert (failed[0].first_id, failed[0].last_id) == (ids[100], ids[199])
    with pytest.raises(QueryTimeout):
        list(raw_lanes.slow.stream_batched(build, ids, batch_size=100, deadline_s=0.5))
    assert all_returned(raw_lanes)


def test_busy_lane_says_try_again_instead_of_hanging(raw_lanes: Lanes) -> None:
    held = [raw_lanes.slow.throttle.acquire(1.0) for _ in range(raw_lanes.slow.throttle.permits)]
    try:
        t0 = time.monotonic()
        with pytest.raises(LaneBusy) as info:
            raw_lanes.slow.fetch_arrow(ids_query(["x"]), wait_s=0.3)
        assert time.monotonic() - t0 < 1.0
        assert info.value.retry_after_s >= 1
        assert "try again in about" in str(info.value)
    finally:
        for p in held:
            p.issuer.release(p)
    assert all_returned(raw_lanes)


def test_realtime_answers_while_slow_lane_is_saturated(raw_lanes: Lanes) -> None:
    backend = raw_lanes.backend
    idle = []
    q = sa.select(sa.func.count()).select_from(IDS)
    for _ in range(20):
        t0 = time.perf_counter()
        raw_lanes.realtime.scalar(q)
        idle.append(time.perf_counter() - t0)

    token = CancelToken()
    errors: list[BaseException] = []

    def hog() -> None:
        try:
            raw_lanes.slow.fetch_arrow(long_query(backend), cancel=token, wait_s=10)
        except QueryCancelled:
            pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    hogs = [threading.Thread(target=hog) for _ in range(3)]  # 2 permits + 1 waiting
    for t in hogs:
        t.start()
    try:
        deadline = time.monotonic() + 5
        while raw_lanes.slow.throttle.in_use() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert raw_lanes.slow.throttle.in_use() == 2
        busy = []
        for _ in range(20):
            t0 = time.perf_counter()
            assert raw_lanes.realtime.scalar(q) == N_IDS
            busy.append(time.perf_counter() - t0)
        assert raw_lanes.stats()["slow"]["throttle"]["waiting"] == 1
    finally:
        token.cancel()
        for t in hogs:
            t.join(5)
    assert not errors
    # "normal speed": generous bound, the benchmark measures the real ratio.
    assert sorted(busy)[10] < max(0.25, 10 * sorted(idle)[10])
    assert all_returned(raw_lanes)


def test_live_gate_makes_slow_work_wait_for_live_queries() -> None:
    gate = LiveGate()
    assert gate.wait_quiet(1.0) == 0.0
    release_after = 0.2

    def live_query() -> None:
        with gate.live():
            time.sleep(release_after)

    t = threading.Thread(target=live_query)
    t.start()
    time.sleep(0.05)
    waited = gate.wait_quiet(2.0)
    t.join()
    assert 0.05 <= waited < 1.0 and gate.yields == 1
    with gate.live():
        assert gate.wait_quiet(0.1) >= 0.09  # bounded: never waits past max_wait_s


def test_tricky_values_survive_streaming_identically(raw_lanes: Lanes) -> None:
    import datetime as dt

    stmt = sa.select(
        sa.literal('multi\nline, "quoted" 焊接_DB').label("text"),
        sa.literal("", sa.String).label("empty"),
        sa.cast(sa.null(), sa.String).label("missing"),
        sa.literal(dt.datetime(2026, 11, 28, 7, 29, 59, 123000)).label("ts"),
        sa.literal(3.25).label("num"),
        sa.literal(-7).label("whole"),
    )
    for table in (raw_lanes.slow.fetch_arrow(stmt), raw_lanes.realtime.fetch_arrow(stmt)):
        assert table.to_pylist() == [{
            "text": 'multi\nline, "quoted" 焊接_DB', "empty": "", "missing": None,
            "ts": dt.datetime(2026, 11, 28, 7, 29, 59, 123000), "num": 3.25, "whole": -7,
        }]


def test_in_ids_matches_a_plain_in_list(raw_lanes: Lanes) -> None:
    chunk = [*all_ids()[:50], "NOT-AN-ID", "", "'; DROP TABLE ids; --"]
    plain = sa.select(IDS.c.id).where(IDS.c.id.in_(chunk)).order_by(IDS.c.id)
    fast = sa.select(IDS.c.id).where(in_ids(IDS.c.id, chunk)).order_by(IDS.c.id)
    a, b = raw_lanes.slow.fetch_arrow(plain), raw_lanes.slow.fetch_arrow(fast)
    assert a.equals(b) and a.num_rows == 50
    # DuckDB sends the ids as one text split on ID_SEPARATOR; an id holding it (never
    # seen) takes the list parameter instead: the same rows either way
    for odd in (["焊接,DB", "x y"], [f"a{ID_SEPARATOR}b"]):
        odd_fast = sa.select(IDS.c.id).where(in_ids(IDS.c.id, [*chunk, *odd])).order_by(IDS.c.id)
        assert raw_lanes.slow.fetch_arrow(odd_fast).equals(a)
    assert raw_lanes.slow.fetch_arrow(
        sa.select(IDS.c.id).where(in_ids(IDS.c.id, []))
    ).num_rows == 0
    with pytest.raises(ValueError, match="exceeds 1000"):
        in_ids(IDS.c.id, all_ids()[:1001])


def test_csv_record_end_never_cuts_inside_quotes() -> None:
    from core.db._drivers import _csv_record_end

    buf = b'1,"a\nb"\n2,"say ""hi""\n"\n3,x'
    cut = _csv_record_end(buf, len(buf))
    assert buf[:cut] == b'1,"a\nb"\n2,"say ""hi""\n"\n'
    assert _csv_record_end(b'1,"open\nquote', 13) == 0


def test_postgres_copy_stream_cut_into_small_blocks_keeps_every_value(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.db._drivers.postgresql as drivers

    monkeypatch.setattr(drivers, "PG_COPY_BLOCK_BYTES", 256)  # many cuts
    lanes = open_lanes(make_settings(pg_url))
    try:
        n = sa.func.generate_series(1, 3000).table_valued("n").render_derived(name="g")
        text = sa.func.concat("lot ", n.c.n, '\n"note", ', sa.func.repeat("x", n.c.n % 7))
        stmt = sa.select(n.c.n.label("n"), sa.cast(text, sa.String).label("t")).order_by(n.c.n)
        got = pa.Table.from_batches(list(lanes.slow.stream(stmt, batch_rows=500)))
        assert got.column("n").to_pylist() == list(range(1, 3001))
        assert got.column("t").to_pylist() == [
            f'lot {i}\n"note", ' + "x" * (i % 7) for i in range(1, 3001)
        ]
    finally:
        lanes.close()


def test_slow_batches_shrink_and_serialise_while_live_widgets_are_active(
    raw_lanes: Lanes,
) -> None:
    sizes: list[int] = []
    lock = threading.Lock()

    def build(chunk: list[str]) -> sa.Select:
        with lock:
            sizes.append(len(chunk))
        return ids_query(chunk)

    slow = raw_lanes.slow
    slow.live_recent_s = 60.0
    raw_lanes.realtime.scalar(sa.select(sa.func.count()).select_from(IDS))  # a live query
    assert slow._width(2) == 1
    results = list(slow.stream_batched(build, all_ids()))
    expected = 250 if raw_lanes.backend == "postgresql" else 1000  # DuckDB scans per batch
    assert max(sizes) == expected and sum(sizes) == N_IDS
    assert len(results) == N_IDS // expected
    # nobody watching: full batches, all workers
    sizes.clear()
    slow.live_recent_s = 0.0
    list(slow.stream_batched(build, all_ids()))
    assert max(sizes) == 1000 and slow._width(2) == 2


def test_reference_lookups_do_not_narrow_the_slow_lane(raw_lanes: Lanes) -> None:
    """A station map or exclusion list read (``live=False``) is not a live widget: the
    slow lane keeps all its workers (a trace's own station map lookup used to halve the
    speed of its first history fetch)."""
    slow = raw_lanes.slow
    slow.live_recent_s = 60.0
    stmt = sa.select(sa.func.count()).select_from(IDS)
    assert raw_lanes.realtime.fetch_arrow(stmt, live=False).num_rows == 1
    assert slow._width(2) == 2 and raw_lanes.gate.active == 0
    raw_lanes.realtime.fetch_arrow(stmt)  # a live widget's query
    assert slow._width(2) == 1


def test_batched_stream_transforms_each_batch_in_the_workers(raw_lanes: Lanes) -> None:
    main = threading.get_ident()
    threads: set[int] = set()

    def transform(table: pa.Table) -> pa.Table:
        threads.add(threading.get_ident())
        return table.append_column("twice", pa.compute.multiply(table["n"], 2))

    results = list(raw_lanes.slow.stream_batched(ids_query, all_ids(), batch_size=500,
                                                 transform=transform))
    got = pa.concat_tables([r.table for r in results])
    assert got.column("twice").to_pylist() == [2 * n for n in got.column("n").to_pylist()]
    assert main not in threads  # shaped off the consumer's thread
    assert all_returned(raw_lanes)


def test_postgres_slow_sessions_cap_parallel_workers_and_realtime_ones_do_not(
    pg_url: str, demo_pg_schema: str
) -> None:
    setting = sa.select(
        sa.func.current_setting("max_parallel_workers_per_gather", type_=sa.String()).label("v")
    )
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        server_default = conn.execute(setting).scalar()
    engine.dispose()
    for cap in (0, 3):
        lanes = open_lanes(make_settings(pg_url, demo_pg_schema, slow_parallel_workers=cap))
        try:
            assert lanes.slow.fetch_arrow(setting)["v"].to_pylist() == [str(cap)]
            assert lanes.realtime.fetch_arrow(setting)["v"].to_pylist() == [server_default]
        finally:
            lanes.close()
