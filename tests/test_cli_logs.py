"""When the database dies under a command, stderr holds one clear line, not library
tracebacks; ``--verbose`` shows the details.

Reproduced for real: a PostgreSQL session of the test holds an exclusive lock on the
reject table, ``mesdash rejects`` waits on it, and every backend of the command waiting
on a lock is killed with pg_terminate_backend until the command ends. SQLAlchemy's pool
then fails to roll the dead connection back and logs "Exception during reset or
similar" with three chained tracebacks (to stderr, through logging's last resort,
before core/cli/logs.py routed it). And a server URL on a closed port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from core.db._engines import make_engine
from core.schema import metadata

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(MES_SECRETS_FILE="/nonexistent", PYTHONPATH=str(ROOT), **extra)
    return env


def _killed_mid_command(pg_url: str, schema: str, *flags: str) -> subprocess.CompletedProcess:
    metadata.create_all(make_engine(pg_url, schema=schema, pool=None, read_only=False))
    engine = sa.create_engine(pg_url)
    locker = engine.connect()
    tx = locker.begin()
    locker.execute(sa.text(f'LOCK TABLE "{schema}".dw_mes_lotrejecthistory '
                           "IN ACCESS EXCLUSIVE MODE"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "rejects", "--start", "2026-11-01",
         "--end", "2026-11-10", *flags],
        cwd=ROOT, env=_env(MES_DB_URL=pg_url, MES_SCHEMA=schema),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = 0
    try:
        while proc.poll() is None:
            with engine.connect() as c:  # a new transaction: a fresh pg_stat_activity
                killed += len(c.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND application_name LIKE 'mesdash-%' "
                    "AND datname = current_database()")).all())
            _poll(proc)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        tx.rollback()
        locker.close()
        engine.dispose()
    assert killed >= 1
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _poll(proc: subprocess.Popen) -> None:
    try:
        proc.wait(0.05)
    except subprocess.TimeoutExpired:
        pass


def test_a_killed_connection_is_one_clear_line(pg_url: str, pg_schema: str) -> None:
    res = _killed_mid_command(pg_url, pg_schema)
    assert res.returncode == 3, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines == ["mesdash: The database could not run a query on the slow lane: "
                     "terminating connection due to administrator command"], res.stderr
    assert res.stdout == ""


def test_verbose_shows_the_details(pg_url: str, pg_schema: str) -> None:
    res = _killed_mid_command(pg_url, pg_schema, "--verbose")
    assert res.returncode == 3, res.stderr
    assert "Exception during reset or similar" in res.stderr  # SQLAlchemy's pool record
    assert "Traceback" in res.stderr and "AdminShutdown" in res.stderr
    assert "ERROR mesdash.cli: details of the error below" in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        "mesdash: The database could not run a query on the slow lane: "
        "terminating connection due to administrator command")


def test_closed_port_is_one_clear_line_and_verbose_adds_the_traceback() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    quiet = subprocess.run([sys.executable, "-m", "core.cli", "db", "check", "--db", url],
                           cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 3
    assert len(quiet.stderr.strip().splitlines()) == 1
    assert quiet.stderr.startswith("mesdash: Cannot connect to the database at "
                                   "postgresql+psycopg://postgres@127.0.0.1:1/test")
    loud = subprocess.run([sys.executable, "-m", "core.cli", "-v", "db", "check", "--db", url],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert loud.returncode == 3
    assert "Traceback" in loud.stderr and "Connection refused" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()
