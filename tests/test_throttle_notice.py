"""Redis going away during a run is said by the running command and page, not only by the
System page: "degraded: the shared throttle (Redis) is unreachable: this process limits
itself alone".

A Redis server of the test's own (redis-server on a free port) serves the throttle, and
is shut down mid-run: between two slow queries of the lanes, while ``mesdash trace``
waits on a PostgreSQL lock held by the test (its history domain), and before the
dashboard's Reject history page runs its load.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.db import _throttle as throttle_module
from core.db import open_lanes
from core.db._throttle import DEGRADED_NOTICE, FailoverThrottle
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
ONE = sa.select(sa.literal(1).label("one"))


class SpareRedis:
    """A redis-server of this test alone, on a free port; ``stop()`` ends it mid-run."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture
def spare_redis() -> Iterator[SpareRedis]:
    server = SpareRedis()
    try:
        yield server
    finally:
        server.proc.kill()
        server.proc.wait(30)


@pytest.fixture
def long_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis is not tried again within the test (the retry pause would end 'degraded')."""
    monkeypatch.setattr(throttle_module, "REDIS_RETRY_S", 3600.0)


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mesdash.notice"]


def test_lanes_say_so_once_when_redis_goes_away_between_queries(
    empty_duckdb_url: str, spare_redis: SpareRedis, long_outage: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mesdash.notice")
    lanes = open_lanes(make_settings(empty_duckdb_url, redis_url=spare_redis.url))
    try:
        throttle = lanes.slow.throttle
        assert isinstance(throttle, FailoverThrottle)
        assert lanes.slow.fetch_arrow(ONE).num_rows == 1
        assert throttle.status()["kind"] == "redis"
        assert lanes.notices() == [] and _notices(caplog) == [] and throttle.fallbacks == 0
        spare_redis.stop()  # mid-run: the next query's permit finds no Redis
        assert lanes.slow.fetch_arrow(ONE).num_rows == 1
        assert lanes.notices() == [DEGRADED_NOTICE]
        assert DEGRADED_NOTICE == ("degraded: the shared throttle (Redis) is unreachable: "
                                   "this process limits itself alone")
        said = _notices(caplog)
        assert len(said) == 1 and said[0].startswith(DEGRADED_NOTICE + " (")
        assert throttle.fallbacks == 1
        assert lanes.slow.fetch_arrow(ONE).num_rows == 1  # still down: said once per outage
        assert len(_notices(caplog)) == 1
        assert throttle.status()["degraded"] is True
    finally:
        lanes.close()


def _wait_for(check: Callable[[], bool], what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within a minute")
        time.sleep(0.05)


def test_cli_trace_says_so_when_redis_goes_away_mid_run(
    pg_url: str, demo_pg_schema: str, spare_redis: SpareRedis, tmp_path: Path
) -> None:
    engine = sa.create_engine(pg_url)

    def waiting_on_lock() -> bool:
        with engine.connect() as c:  # a new transaction: a fresh pg_stat_activity
            return bool(c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name = 'mesdash-slow' AND datname = current_database()"
            )).scalar())

    locker = engine.connect()
    tx = locker.begin()
    locker.execute(sa.text(f'LOCK TABLE "{demo_pg_schema}".dw_mes_lotwiphistory '
                           "IN ACCESS EXCLUSIVE MODE"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(MES_SECRETS_FILE="/nonexistent", PYTHONPATH=str(ROOT), MES_DB_URL=pg_url,
               MES_SCHEMA=demo_pg_schema, MES_REDIS_URL=spare_redis.url,
               MES_SPOOL_DIR=str(tmp_path / "spool"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "trace", "--lot", "GA2609100*-A00-001"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # seeds and lineage ran with Redis permits; the history domain waits on the lock
        _wait_for(waiting_on_lock, "slow query waiting on the lock", proc)
        spare_redis.stop()
        tx.rollback()  # history finishes; the next domains ask a throttle without Redis
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        locker.close()
        engine.dispose()
    assert proc.returncode == 0, err
    assert "history:" in out and "materials:" in out
    said = [line for line in err.splitlines() if "degraded" in line]
    assert len(said) == 1, err
    assert said[0].startswith(f"mesdash: {DEGRADED_NOTICE} (")
    assert "Traceback" not in err


def test_page_says_so_when_redis_goes_away_mid_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_duckdb_url: str,
    spare_redis: SpareRedis, long_outage: None,
) -> None:
    for key in list(os.environ):
        if key.startswith("MES_"):
            monkeypatch.delenv(key)
    db = tmp_path / "tiny.duckdb"
    shutil.copyfile(demo_duckdb_url.removeprefix("duckdb:///"), db)
    monkeypatch.setenv("MES_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("MES_DB_URL", f"duckdb:///{db}")
    monkeypatch.setenv("MES_REDIS_URL", spare_redis.url)
    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    st.cache_resource.clear()
    st.cache_data.clear()
    expected = DEGRADED_NOTICE[:1].upper() + DEGRADED_NOTICE[1:]
    try:
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        assert expected not in [w.value for w in at.warning]
        spare_redis.stop()  # mid-run: the page's load (a job) asks a throttle without Redis
        at.switch_page("views/reject_history.py").run()
        for _ in range(20):  # rerun while the load runs, as the page's fragment does
            assert not at.exception, [e.value for e in at.exception]
            if expected in [w.value for w in at.warning]:
                break
            at.run()
        assert expected in [w.value for w in at.warning]
        assert [t.value for t in at.title] == ["Reject history"]
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
