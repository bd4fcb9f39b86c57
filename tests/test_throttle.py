"""The slow-lane throttle against a real Redis: a cap shared by processes, leases that
free the permit of a holder that died, and a degraded local mode when Redis is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import redis as redis_lib
import sqlalchemy as sa

from core.db import LaneBusy, open_lanes
from core.db._throttle import FailoverThrottle, LocalThrottle, RedisThrottle, make_throttle
from tests.conftest import make_settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fresh_name() -> str:
    return f"test:{uuid.uuid4().hex[:10]}"


def test_local_throttle_caps_and_reports() -> None:
    t = LocalThrottle(2)
    a, b = t.acquire(0.1), t.acquire(0.1)
    assert t.status()["in_use"] == 2
    with pytest.raises(LaneBusy):
        t.acquire(0.1)
    t.release(a)
    c = t.acquire(0.1)
    t.release(b)
    t.release(c)
    assert t.in_use() == 0 and t.waiting() == 0


WORKER = textwrap.dedent(
    """
    import sys, time, redis
    sys.path.insert(0, {root!r})
    from core.db._throttle import RedisThrottle
    MAX_LUA = ("local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
               "if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end")
    client = redis.Redis.from_url({url!r})
    t = RedisThrottle(client, {permits}, name={name!r}, lease_s=5)
    for _ in range({rounds}):
        p = t.acquire(30)
        n = client.incr({name!r} + ':now')
        client.eval(MAX_LUA, 1, {name!r} + ':max', n)
        time.sleep(0.05)
        client.decr({name!r} + ':now')
        t.release(p)
    t.close()
    """
)


def test_redis_throttle_holds_its_cap_across_two_processes(redis_url: str) -> None:
    name = fresh_name()
    code = WORKER.format(root=ROOT, url=redis_url, permits=2, name=name, rounds=8)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    for p in procs:
        assert p.wait(60) == 0
    client = redis_lib.Redis.from_url(redis_url)
    # three processes wanted a permit at once, but never more than two held one
    assert int(client.get(f"{name}:max")) == 2
    assert int(client.get(f"{name}:now")) == 0
    assert client.zcard(f"mesdash:throttle:{name}") == 0
    client.delete(f"{name}:max", f"{name}:now")


HOLDER = textwrap.dedent(
    """
    import sys, time, redis
    sys.path.insert(0, {root!r})
    from core.db._throttle import RedisThrottle
    t = RedisThrottle(redis.Redis.from_url({url!r}), 1, name={name!r}, lease_s=1.5)
    t.acquire(5)
    print('held', flush=True)
    time.sleep(60)
    """
)


def test_a_holder_that_dies_loses_its_permit_after_the_lease(redis_url: str) -> None:
    name = fresh_name()
    code = HOLDER.format(root=ROOT, url=redis_url, name=name)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = RedisThrottle(redis_lib.Redis.from_url(redis_url), 1, name=name, lease_s=1.5)
        # alive, the holder renews its lease: nobody else gets in meanwhile
        with pytest.raises(LaneBusy):
            mine.acquire(2.5)
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        t0 = time.monotonic()
        permit = mine.acquire(5)
        assert time.monotonic() - t0 <= 2.0  # at most one lease after the death
        mine.release(permit)
        mine.close()
    finally:
        holder.kill()


def test_redis_throttle_counts_waiters(redis_url: str) -> None:
    import threading

    t = RedisThrottle(redis_lib.Redis.from_url(redis_url), 1, name=fresh_name(), lease_s=5)
    held = t.acquire(1)
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(t.acquire(5)))
    waiter.start()
    deadline = time.monotonic() + 3
    while t.waiting() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert t.status()["waiting"] == 1 and t.status()["in_use"] == 1
    t.release(held)
    waiter.join(5)
    assert len(got) == 1 and t.waiting() == 0
    t.release(got[0])  # type: ignore[arg-type]
    assert t.in_use() == 0
    t.close()


def test_with_redis_down_the_lanes_work_with_a_degraded_local_throttle(
    empty_duckdb_url: str,
) -> None:
    # Nothing listens on port 1: the same as a stopped Redis server.
    settings = make_settings(empty_duckdb_url, redis_url="redis://127.0.0.1:1/0")
    lanes = open_lanes(settings)
    try:
        assert isinstance(lanes.slow.throttle, FailoverThrottle)
        assert lanes.slow.fetch_arrow(sa.select(sa.literal(1).label("one"))).num_rows == 1
        status = lanes.stats()["slow"]["throttle"]
        assert status["kind"] == "local" and status["degraded"] is True
        assert "Redis unreachable" in status["detail"]
        assert status["in_use"] == 0
    finally:
        lanes.close()


def test_failover_uses_redis_when_it_answers(redis_url: str) -> None:
    t = make_throttle(2, redis_url=redis_url, db_url=f"duckdb:///{fresh_name()}", lease_s=5,
                      timeout_s=2.0)
    p = t.acquire(1)
    st = t.status()
    assert st["kind"] == "redis" and not st["degraded"] and st["in_use"] == 1
    t.release(p)
    assert t.in_use() == 0
    t.close()
