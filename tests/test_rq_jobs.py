"""The job queue (job_backend = rq) on a real Redis with real `mesdash worker` processes.

Each test has its own queue name (so its RQ keys, spools and job ids are its own), its own
copy of the tiny demo database (so its slow-lane throttle key is its own) and its own
workers, started as subprocesses (``python -m core.cli worker``) and killed at the end.
Two ``RqBackend`` instances stand for two dashboard replicas; a third, made later, for a
replica restarted while a job runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from core.jobs import NoWorker, QueueUnavailable, Task, ThreadBackend, WorkerLost
from core.jobs.rq import RqBackend
from tests import rq_tasks
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
LEASE_S = 3.0
WAIT_S = 3.0


def wait_until(cond: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()


class Team:
    """One test's deployment: settings (env for the workers), replicas, workers."""

    def __init__(self, url: str, redis_url: str, tmp: Path, schema: str = "dwh") -> None:
        self.queue = f"t{uuid.uuid4().hex[:10]}"
        self.redis_url = redis_url
        self.overrides: dict[str, Any] = {
            "redis_url": redis_url, "job_backend": "rq", "rq_queue": self.queue,
            "spool_dir": str(tmp / "spool"), "worker_wait_s": WAIT_S,
            "worker_lease_s": LEASE_S, "slow_lease_s": LEASE_S, "job_ttl_s": 600,
        }
        self.url, self.schema = url, schema
        self.settings = make_settings(url, schema=schema, **self.overrides)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.backends: list[RqBackend] = []
        self.tmp = tmp

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
        env.update({f"MES_{k.upper()}": str(v) for k, v in self.overrides.items()})
        env.update(MES_DB_URL=self.url, MES_SCHEMA=self.schema, PYTHONPATH=str(ROOT),
                   MES_SECRETS_FILE="/nonexistent")
        return env

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--name",
                                 f"{self.queue}-{name}"], cwd=ROOT, env=self.env(),
                                stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def wait_workers(self, n: int, timeout: float = 30) -> None:
        probe = self.replica()
        assert wait_until(lambda: probe.workers_alive() >= n, timeout), self.logs()

    def replica(self) -> RqBackend:
        backend = RqBackend(self.settings)
        self.backends.append(backend)
        return backend

    def permits_in_use(self) -> int:
        """Unexpired permits of this database's shared slow-lane throttle."""
        from core.db._throttle import throttle_name

        r = redis.Redis.from_url(self.redis_url)
        key = f"mesdash:throttle:{throttle_name(self.settings.effective_db_url, 'slow')}"
        secs, micros = r.time()
        return int(r.zcount(key, secs * 1000 + micros // 1000, "+inf"))

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT,
                              env=self.env(), capture_output=True, text=True, timeout=timeout)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.tmp.glob("*.log"))

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for backend in self.backends:
            backend.close()
        r = redis.Redis.from_url(self.redis_url)
        for key in r.scan_iter(f"*{self.queue}*"):
            r.delete(key)


@pytest.fixture
def team(demo_duckdb_url: str, redis_url: str, tmp_path: Path) -> Iterator[Team]:
    src = Path(demo_duckdb_url.removeprefix("duckdb:///"))
    db = tmp_path / "team.duckdb"
    shutil.copyfile(src, db)
    t = Team(f"duckdb:///{db}", redis_url, tmp_path)
    yield t
    t.close()


def steps(team: Team, **request: Any) -> tuple[str, Task]:
    """A slow job's key and task (``rq_tasks.slow_steps``)."""
    request.setdefault("tag", uuid.uuid4().hex[:6])
    return f"test:{request['tag']}", Task(rq_tasks.slow_steps, request)


def test_two_replicas_share_one_job_and_a_restarted_replica_finds_it(team: Team) -> None:
    team.worker("w1")
    team.worker("w2")
    team.wait_workers(2)
    check = team.cli("db", "check", "--json")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["jobs"] == {
        "backend": "rq", "queue": team.queue, "queued": 0, "workers": 2, "running": 0,
        "redis": team.redis_url}
    a, b = team.replica(), team.replica()
    key, task = steps(team, steps=12, step_s=0.25)
    ja = a.submit(key, task, label="steps")
    jb = b.submit(key, task, label="steps")
    assert ja.id == jb.id, "the same request from two replicas is one job"
    # a replica restarted while the job runs finds it by key, with its progress
    assert wait_until(lambda: ja.state == "running" and ja.stages and ja.stages[-1].done >= 2,
                      15), team.logs()
    restarted = team.replica()
    jc = restarted.by_key(key)
    assert jc is not None and jc.id == ja.id and jc.state == "running"
    snap = jc.snapshot()["stages"][-1]
    assert snap["name"] == "steps" and snap["total"] == 12 and 1 <= snap["done"] <= 12
    assert jc.wait(20) and jc.state == "done" and ja.wait(5) and jb.wait(5)
    assert ja.result == jb.result == jc.result == {"steps": 12, "tag": task.request["tag"]}
    assert restarted.progress(key)["stages"][-1]["done"] == 12
    # one job ran: a third submit after it finished is served the finished job
    assert b.submit(key, task, label="steps").id == ja.id
    finished = [i for i in a.queue.finished_job_registry.get_job_ids()]
    assert len(finished) == 1, finished


def test_the_same_trace_from_two_replicas_runs_once_on_a_worker(team: Team) -> None:
    from core.trace import TraceRequest, run_trace

    team.worker("w1")
    team.wait_workers(1)
    a, b = team.replica(), team.replica()
    request = TraceRequest.build({"lot": "AW-0036"}, "backward")
    ja = a.submit(request.key, Task(run_trace, request), label=request.label)
    jb = b.submit(request.key, Task(run_trace, request), label=request.label)
    assert ja.id == jb.id and ja.wait(30) and ja.state == "done", (ja.error, team.logs())
    assert jb.wait(5) and jb.result.as_json(jb.spool) == ja.result.as_json(ja.spool)
    # the same JSON as the CLI's, through the queue and --local
    queued = team.cli("trace", "--lot", "AW-0036", "--json")
    local = team.cli("trace", "--lot", "AW-0036", "--json", "--local")
    assert queued.returncode == local.returncode == 0, queued.stderr + local.stderr
    assert queued.stdout == local.stdout
    assert len(a.queue.finished_job_registry.get_job_ids()) == 1, "the CLI shared the job"
    # containment through the queue: the same answer as in-process (timings aside)
    args = ("contain", "--machine", "DF-002", "--start", "2026-10-01", "--end", "2026-11-19",
            "--json")
    queued, local = team.cli(*args), team.cli(*args, "--local")
    assert queued.returncode == local.returncode == 0, queued.stderr + local.stderr
    timing = ("seconds", "stages")
    q, loc = json.loads(queued.stdout), json.loads(local.stdout)
    assert {k: v for k, v in q.items() if k not in timing} == {
        k: v for k, v in loc.items() if k not in timing} and q["exposed"]
    assert len(a.queue.finished_job_registry.get_job_ids()) == 2


def test_finished_jobs_expire_with_their_spools(team: Team) -> None:
    team.overrides["job_ttl_s"] = 2
    team.settings = make_settings(team.url, **team.overrides)
    team.worker("w1")
    team.wait_workers(1)
    replica = team.replica()
    key, task = steps(team, steps=1, step_s=0.01)
    job = replica.submit(key, task, label="short")
    assert job.wait(10) and job.state == "done" and job.spool.path.is_dir()
    assert replica.by_key(key) is not None
    time.sleep(3.5)
    assert team.replica().by_key(key) is None, "expired on the queue"
    assert str(job.spool.path) in replica.sweep(force=True)
    assert not job.spool.path.exists(), "its spool deleted"


def test_a_reject_load_on_a_worker_is_sliced_on_the_replica(team: Team) -> None:
    import datetime as dt

    from core.db import open_lanes
    from core.rejects import Policy, RejectRequest, RejectView, run_reject_load
    from core.rejects._load_job import SPOOL_DOMAIN
    from core.rejects._measures import Filters

    team.worker("w1")
    team.wait_workers(1)
    request = RejectRequest("range", dt.date(2026, 11, 1), dt.date(2026, 11, 19))
    replica = team.replica()
    job = replica.submit(request.key(team.settings), Task(run_reject_load, request),
                         label=request.label)
    assert job.wait(30) and job.state == "done", job.error
    view = job.result
    assert isinstance(view, RejectView) and job.spool.has(SPOOL_DOMAIN)
    # the worker sent only the load's facts through Redis; the rows came from the spool
    native = replica.queue.fetch_job(job.id).return_value()
    assert native["result"].loaded.table.num_rows == 0
    lanes = open_lanes(make_settings(team.url))
    try:
        thread = ThreadBackend(make_settings(team.url, spool_dir=str(team.tmp / "local")))
        local = thread.submit("x", Task(run_reject_load, request, lanes=lanes,
                                        settings=thread.settings), label="local")
        assert local.wait(30) and local.state == "done"
        assert view.slicer.rows == local.result.slicer.rows > 0
        assert view.slicer.kpis(Policy(), Filters()) == local.result.slicer.kpis(Policy(),
                                                                                  Filters())
        thread.close()
    finally:
        lanes.close()


def test_cancel_from_the_other_replica_stops_the_query_and_returns_the_permit(
        team: Team) -> None:
    team.worker("w1")
    team.wait_workers(1)
    a, b = team.replica(), team.replica()
    key, task = steps(team, steps=1, step_s=0.05, heavy=True)
    job = a.submit(key, task, label="heavy")
    assert wait_until(lambda: job.stages and job.stages[-1].name == "heavy query"
                      and team.permits_in_use() == 1, 20), team.logs()
    time.sleep(0.5)  # the query is running on the worker, holding the permit
    t0 = time.monotonic()
    assert b.cancel(key), "cancelled from the other replica, ended within 2 s"
    assert time.monotonic() - t0 < 2.5
    assert job.wait(1) and job.state == "cancelled"
    assert wait_until(lambda: team.permits_in_use() == 0, 2.0), "its permit returned"
    # the worker serves the next job at once
    key2, task2 = steps(team, steps=2, step_s=0.05)
    nxt = b.submit(key2, task2, label="next")
    assert nxt.wait(10) and nxt.state == "done"


def test_a_worker_killed_mid_job_is_worker_lost_its_permit_frees_and_retry_runs(
        team: Team) -> None:
    w1 = team.worker("w1")
    team.wait_workers(1)
    replica = team.replica()
    key, task = steps(team, steps=1, step_s=0.05, heavy=True)
    job = replica.submit(key, task, label="heavy")
    assert wait_until(lambda: job.stages and job.stages[-1].name == "heavy query"
                      and team.permits_in_use() == 1, 20), team.logs()
    os.kill(w1.pid, signal.SIGKILL)
    t0 = time.monotonic()
    assert job.wait(LEASE_S + 3), "the page sees it end within the lease"
    lost_after = time.monotonic() - t0
    assert job.state == "failed" and isinstance(job.exception, WorkerLost), job.error
    assert "worker lost" in (job.error or "") and lost_after <= LEASE_S + 2.5
    assert wait_until(lambda: team.permits_in_use() == 0, LEASE_S + 1.5), \
        "the dead worker's permit lapses within one lease"
    # another replica reads the same, and a retry (fresh) runs on a new worker
    other = team.replica().by_key(key)
    assert other is not None and other.id == job.id and isinstance(other.exception, WorkerLost)
    assert job.retryable
    team.worker("w2")
    team.wait_workers(1)
    task.request["heavy"] = False
    again = job.resubmit()
    assert again.id != job.id and again.wait(15) and again.state == "done", again.error


def test_no_worker_fails_within_worker_wait_s_and_the_cli_exits_4(team: Team) -> None:
    replica = team.replica()
    key, task = steps(team, steps=1)
    job = replica.submit(key, task, label="nobody")
    t0 = time.monotonic()
    assert job.wait(WAIT_S + 3)
    assert WAIT_S - 0.5 <= time.monotonic() - t0 <= WAIT_S + 2.5
    assert job.state == "failed" and isinstance(job.exception, NoWorker)
    assert "No worker is running" in (job.error or "")
    assert replica.queue.count == 0, "withdrawn from the queue, not left to run later"
    done = team.cli("trace", "--lot", "AW-0036", "--json")
    assert done.returncode == 4 and "No worker is running" in done.stderr, done.stderr
    assert done.stdout == ""


def test_with_redis_down_rq_says_so_and_the_thread_backend_still_works(
        team: Team, tmp_path: Path) -> None:
    dead = "redis://127.0.0.1:1/0"
    down = make_settings(team.url, **{**team.overrides, "redis_url": dead,
                                      "redis_timeout_s": 0.5})
    key, task = steps(team, steps=1)
    with pytest.raises(QueueUnavailable, match=r"job queue .* is unreachable"):
        RqBackend(down).submit(key, task, label="x")
    env = {**team.env(), "MES_REDIS_URL": dead, "MES_REDIS_TIMEOUT_S": "0.5"}
    done = subprocess.run([sys.executable, "-m", "core.cli", "trace", "--lot", "AW-0036"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "job queue" in done.stderr, done.stderr
    env["MES_JOB_BACKEND"] = "thread"
    done = subprocess.run([sys.executable, "-m", "core.cli", "trace", "--lot", "AW-0036",
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and '"AW-0036"' in done.stdout, done.stderr
    worker = subprocess.run([sys.executable, "-m", "core.cli", "worker", "--burst"], cwd=ROOT,
                            env={**env, "MES_JOB_BACKEND": "rq"}, capture_output=True,
                            text=True, timeout=60)
    assert worker.returncode == 3 and "unreachable" in worker.stderr, worker.stderr
    check = subprocess.run([sys.executable, "-m", "core.cli", "db", "check"], cwd=ROOT,
                           env={**env, "MES_JOB_BACKEND": "rq"}, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 3 and "job queue" in check.stdout, check.stdout


def test_a_queued_job_cancelled_is_withdrawn_at_once(team: Team) -> None:
    from core.jobs import JobBackend

    replica = team.replica()
    assert isinstance(replica, JobBackend)
    key, task = steps(team, steps=1)
    job = replica.submit(key, task, label="queued")
    assert job.state == "queued"
    t0 = time.monotonic()
    assert replica.cancel(key) and time.monotonic() - t0 < 1.0
    assert job.state == "cancelled" and replica.queue.count == 0
    again = replica.submit(key, task, label="queued")
    assert again.id != job.id, "a cancelled job is replaced, not served"


def test_a_trace_on_postgresql_runs_on_a_worker(
        pg_url: str, demo_pg_schema: str, redis_url: str, tmp_path: Path) -> None:
    team = Team(pg_url, redis_url, tmp_path, schema=demo_pg_schema)
    try:
        team.worker("w1")
        queued = team.cli("trace", "--lot", "AW-0036", "--json")
        local = team.cli("trace", "--lot", "AW-0036", "--json", "--local")
        assert queued.returncode == 0 and queued.stdout == local.stdout, queued.stderr
        assert '"AW-0036"' in queued.stdout
    finally:
        team.close()


def test_cancel_on_postgresql_interrupts_the_query_on_the_worker(
        pg_url: str, demo_pg_schema: str, redis_url: str, tmp_path: Path) -> None:
    team = Team(pg_url, redis_url, tmp_path, schema=demo_pg_schema)
    try:
        app = team.worker("w1")  # its sessions on the server: by their client ports
        team.wait_workers(1)
        a, b = team.replica(), team.replica()
        key, task = steps(team, steps=1, step_s=0.05, heavy=True)
        job = a.submit(key, task, label="pg_sleep")
        assert wait_until(lambda: job.stages and job.stages[-1].name == "heavy query", 20)
        assert wait_until(lambda: _sleeping(pg_url, app) == 1, 5), "the query runs on the server"
        t0 = time.monotonic()
        assert b.cancel(key) and time.monotonic() - t0 < 2.5
        assert job.wait(1) and job.state == "cancelled", job.error
        assert wait_until(lambda: not _sleeping(pg_url, app), 2.0), \
            "the query stopped on the server, not only on the page"
    finally:
        team.close()


def _sleeping(pg_url: str, worker: subprocess.Popen[bytes]) -> int:
    """The worker's sessions running a statement on the server (found by the client
    ports of the worker's connections: other processes may run pg_sleep too)."""
    import psutil
    import sqlalchemy as sa

    ports = [c.laddr.port for c in psutil.Process(worker.pid).net_connections("tcp")
             if c.raddr and c.raddr.port == 5432]
    if not ports:
        return 0
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as c:
            return int(c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND wait_event = 'PgSleep' AND client_port = ANY(:ports)"),
                {"ports": ports}).scalar() or 0)
    finally:
        engine.dispose()


def test_rq_needs_redis_and_checks_its_bounds(tmp_path: Path) -> None:
    from core.config import SettingsError

    with pytest.raises(SettingsError, match="job_backend = rq needs redis_url"):
        make_settings(f"duckdb:///{tmp_path}/x.duckdb", job_backend="rq")
    with pytest.raises(SettingsError, match="worker_lease_s"):
        make_settings(f"duckdb:///{tmp_path}/x.duckdb", worker_lease_s=1)
    with pytest.raises(SettingsError, match="job_backend"):
        make_settings(f"duckdb:///{tmp_path}/x.duckdb", job_backend="celery")


def test_a_task_travels_without_its_process_parts(tmp_path: Path) -> None:
    import pickle

    from core.trace import DomainCache, TraceRequest, run_trace

    s = make_settings(f"duckdb:///{tmp_path}/x.duckdb")
    request = TraceRequest.build({"lot": "AW-0036"}, "backward")
    task = Task(run_trace, request, lanes=object(), settings=s,
                local={"cache": DomainCache(s)})
    back = pickle.loads(pickle.dumps(task))
    assert back.fn is run_trace and back.request == request
    assert back.lanes is None and back.settings is None and back.local == {}
    bound = back.bound("lanes", s, lambda cls: cls(s))
    assert bound.lanes == "lanes" and bound.settings is s
    assert isinstance(bound.local["cache"], DomainCache), "the worker's own cache"
