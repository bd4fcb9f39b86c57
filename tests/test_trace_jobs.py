"""Trace jobs and the small-set cache on real backends (tiny demo, real Redis).

- the cache threshold, both sides: up to cache_max_ids the result is stored (Redis key,
  memory) and a second fetch sends no query; above it nothing is stored anywhere and the
  second fetch queries again;
- cancel mid-trace returns within 2 s with every permit and connection back;
- two sessions submitting the same trace share one job; finished jobs expire and their
  spools are deleted.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from core import schema as t
from core.db import Lanes, open_lanes
from core.errors import InputError
from core.jobs import JobManager, Spool
from core.trace import (
    DomainCache,
    TraceRequest,
    fetch_domain,
    run_trace,
)
from core.trace._cache import ids_digest
from tests.conftest import make_settings


def _ids(lanes: Lanes, n: int | None = None) -> list[str]:
    table = lanes.slow.fetch_arrow(
        sa.select(t.container.c.containerid).order_by(t.container.c.containerid)
    )
    ids = table["containerid"].to_pylist()
    return ids[:n] if n else ids


def _keys(client: redis.Redis, cache: DomainCache) -> list[bytes]:
    return list(client.scan_iter(match=f"{cache.namespace}:*"))


def _released(lanes: Lanes) -> bool:
    st = lanes.stats()["slow"]
    return st["pool"]["checked_out"] == 0 and st["throttle"]["in_use"] == 0 and st["active"] == 0


@pytest.fixture
def cache_lanes(lanes: Lanes, redis_url: str, tmp_path: Path):
    s = lanes.settings.replace(redis_url=redis_url, spool_dir=str(tmp_path), cache_max_ids=50)
    client = redis.Redis.from_url(redis_url)
    cache = DomainCache(s)
    for k in _keys(client, cache):
        client.delete(k)
    yield lanes, s, client
    for k in _keys(client, cache):
        client.delete(k)
    client.close()


def test_cache_at_the_threshold_stores_and_serves(cache_lanes) -> None:
    lanes, s, client = cache_lanes
    ids = _ids(lanes, s.cache_max_ids)  # exactly at the threshold: cached
    first = DomainCache(s)
    r1 = fetch_domain(lanes, "history", ids, Spool.create(s), settings=s, cache=first)
    assert not r1.cached and r1.rows > 0
    keys = _keys(client, first)
    assert len(keys) == 1 and keys[0].decode().endswith(ids_digest(ids))
    assert 0 < client.ttl(keys[0]) <= s.cache_ttl_s
    # A second process (no memory level) is served from Redis without a query.
    other = DomainCache(s, memory=False)
    before = lanes.stats()["slow"]["queries"]
    r2 = fetch_domain(lanes, "history", list(reversed(ids)), Spool.create(s), settings=s,
                      cache=other)
    assert r2.cached and r2.rows == r1.rows
    assert lanes.stats()["slow"]["queries"] == before
    assert Path(r2.path).read_bytes() == Path(r1.path).read_bytes()
    # And the same process from memory, even with Redis gone.
    first._redis = None
    r3 = fetch_domain(lanes, "history", ids, Spool.create(s), settings=s, cache=first)
    assert r3.cached and lanes.stats()["slow"]["queries"] == before


def test_cache_above_the_threshold_stores_nothing_anywhere(cache_lanes) -> None:
    lanes, s, client = cache_lanes
    ids = _ids(lanes, s.cache_max_ids + 1)
    cache = DomainCache(s)
    assert cache.key("history", ids) is None
    fetch_domain(lanes, "history", ids, Spool.create(s), settings=s, cache=cache)
    assert _keys(client, cache) == [] and cache.memory_keys() == []
    before = lanes.stats()["slow"]["queries"]
    r = fetch_domain(lanes, "history", ids, Spool.create(s), settings=s, cache=cache)
    assert not r.cached and lanes.stats()["slow"]["queries"] > before
    assert _keys(client, cache) == [] and cache.memory_keys() == []


def test_partial_results_are_never_cached(cache_lanes, monkeypatch) -> None:
    import dataclasses

    from core.trace import _domains as d

    lanes, s, client = cache_lanes
    real = d.DOMAINS["holds"]

    def broken(chunk: list[str]) -> sa.Select:
        return real.build(chunk).where(sa.text("no_such_column_xyz IS NULL"))

    monkeypatch.setitem(d.DOMAINS, "holds", dataclasses.replace(real, build=broken))
    cache = DomainCache(s)
    r = fetch_domain(lanes, "holds", _ids(lanes, 10), Spool.create(s), settings=s, cache=cache)
    assert r.completeness["status"] == "partial"
    assert _keys(client, cache) == [] and cache.memory_keys() == []


def _request() -> TraceRequest:
    return TraceRequest.build({"lot": "GA*"}, "forward", ["history", "materials", "rejects"])


def test_cancel_mid_trace_returns_every_permit_and_connection(lanes: Lanes, tmp_path: Path
                                                              ) -> None:
    # Small batches, so the history stage has many; the job pauses in its progress report
    # after the third batch (with the next batches in flight) until it is cancelled.
    s = lanes.settings.replace(spool_dir=str(tmp_path), in_list_max=10)
    own = open_lanes(s)
    reached = threading.Event()

    def fn(job):
        plain = job.progress_for

        def progress_for(stage):
            update = plain(stage)

            def hook(**kw):
                update(**kw)
                if stage.name == "history" and stage.done >= 30:
                    reached.set()
                    job.cancel_token.wait(30)

            return hook

        job.progress_for = progress_for
        return run_trace(job, own, _request(), s)

    try:
        manager = JobManager(s)
        job = manager.submit(_request().key, fn, label="cancel me")
        assert reached.wait(60), job.snapshot()
        assert job.state == "running"
        t0 = time.monotonic()
        assert job.cancel() is True
        assert time.monotonic() - t0 < 2.5
        assert job.state == "cancelled" and job.error
        assert _released(own), own.stats()["slow"]
        assert not job.spool.has("history"), "no half-written result is published"
        manager.close()
        assert not job.spool.path.exists()
    finally:
        own.close()


def test_two_sessions_share_one_job_and_jobs_expire(duckdb_lanes: Lanes, tmp_path: Path
                                                    ) -> None:
    s = duckdb_lanes.settings.replace(spool_dir=str(tmp_path))
    manager = JobManager(s)
    calls: list[str] = []
    gate = threading.Event()

    def fn(job):
        calls.append(job.id)
        gate.wait(10)
        return run_trace(job, duckdb_lanes, _request(), s)

    a = manager.submit(_request().key, fn, label="A")
    b = manager.submit(_request().key, fn, label="B")  # another session, same request
    assert a is b
    gate.set()
    assert a.wait(60) and a.state == "done", a.snapshot()
    assert calls == [a.id]
    assert manager.submit(_request().key, fn, label="C") is a  # done, not expired
    result = a.result
    assert result.lineage["nodes"] > 0 and set(result.domains) == {"history", "materials",
                                                                    "rejects"}
    assert [st["name"] for st in a.snapshot()["stages"]] == [
        "seeds", "lineage", "history", "materials", "rejects"]
    hist = a.snapshot()["stages"][2]
    assert hist["done"] == hist["total"] == result.lineage["nodes"] and hist["rows"] > 0
    assert a.spool.rows("history") == result.domains["history"].rows
    # expiry
    assert manager.sweep(now=time.time() + s.job_ttl_s + 1) == [a.id]
    assert manager.get(a.id) is None and not a.spool.path.exists()
    # a failed job is replaced by a new one
    bad = manager.submit("bad", lambda j: (_ for _ in ()).throw(InputError("no such lot")),
                         label="bad")
    bad.wait(10)
    assert bad.state == "failed" and bad.error == "no such lot" and bad.input_error
    # any other error is the product's failure, named, not the user's input
    bug = manager.submit("bug", lambda j: (_ for _ in ()).throw(ValueError("a bug")),
                         label="bug")
    bug.wait(10)
    assert bug.state == "failed" and bug.error == "ValueError: a bug" and not bug.input_error
    assert manager.submit("bad", lambda j: 1, label="again") is not bad
    manager.close()


def test_bad_requests_are_typed_errors() -> None:
    from core.trace import LineageError, SeedError

    with pytest.raises(SeedError, match="Nothing to trace"):
        TraceRequest.build({"lot": " , "})
    with pytest.raises(LineageError, match="direction"):
        TraceRequest.build({"lot": "A"}, "sideways")
    with pytest.raises(SeedError, match="Unknown domain"):
        TraceRequest.build({"lot": "A"}, "backward", ["history", "x; drop"])
    a = TraceRequest.build({"lot": "B, A", "serial": "S1"}, "forward", ["rejects", "history"])
    b = TraceRequest.build({"serial": ["S1"], "lot": ["A", "B"]}, "forward",
                           ["history", "rejects"])
    assert a.key == b.key and a.domains == ("history", "rejects")


def test_unknown_seeds_fail_the_job_with_a_message(duckdb_lanes: Lanes, tmp_path: Path) -> None:
    s = duckdb_lanes.settings.replace(spool_dir=str(tmp_path))
    manager = JobManager(s)
    req = TraceRequest.build({"lot": "NO-SUCH-LOT"})
    job = manager.submit(req.key, lambda j: run_trace(j, duckdb_lanes, req, s), label="x")
    job.wait(30)
    assert job.state == "failed" and "Nothing matched: NO-SUCH-LOT" in job.error
    manager.close()


def test_make_settings_is_importable() -> None:
    assert make_settings("duckdb:////nonexistent").cache_max_ids == 10_000
