"""core.jobs: one key rule for every kind of request, and the JobBackend interface that
today's thread backend implements (issue 18 plugs a second one in behind it)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import pytest

from core.defects._request import DefectRequest
from core.jobs import JobBackend, JobManager, ThreadBackend, job_key, key_prefix
from core.rejects._load_job import KEY_PREFIX, RejectRequest
from core.trace import TraceRequest
from tests.conftest import make_settings


def test_one_key_rule_names_the_kind_and_ignores_order() -> None:
    a = job_key("defects", {"a": 1, "b": [1, 2], "d": dt.date(2026, 3, 1)})
    b = job_key("defects", {"d": dt.date(2026, 3, 1), "b": [1, 2], "a": 1})
    assert a == b and a.startswith("defects:") and len(a) == len("defects:") + 24
    assert job_key("trace", {"a": 1}) != job_key("defects", {"a": 1})
    assert job_key("rejects", {"a": 1}, scope="db1") != job_key("rejects", {"a": 1}, scope="db2")
    assert job_key("rejects", {"a": 2}) != job_key("rejects", {"a": 1})
    with pytest.raises(ValueError):
        job_key("a:b", {})


def test_every_request_kind_keys_by_the_one_rule(tmp_path: Path) -> None:
    s = make_settings(f"duckdb:///{tmp_path}/x.duckdb")
    t1 = TraceRequest.build({"lot": "B\nA"}, "backward", ("history",))
    t2 = TraceRequest.build({"lot": "A\nB"}, "backward", ("history",))
    assert t1.key == t2.key and t1.key.startswith("trace:")
    d = DefectRequest.build(s, station="TMTT", start="2026-03-01", end="2026-03-02")
    assert d.key().startswith("defects:") and d.key() == DefectRequest.build(
        s, station="TMTT", start="2026-03-01", end="2026-03-02").key()
    r = RejectRequest("range", dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert r.key(s).startswith(KEY_PREFIX) and key_prefix("rejects") == KEY_PREFIX
    other_db = make_settings(f"duckdb:///{tmp_path}/y.duckdb")
    assert r.key(s) != r.key(other_db), "another database is another load"
    assert RejectRequest("list", values=("B", "A")).key(s) == RejectRequest(
        "list", values=("A", "B")).key(s)
    assert str(tmp_path) not in r.key(s), "no URL in a key"
    from core.contain import build_suspect
    from core.contain import job_key as contain_key

    c = build_suspect("machine", ["DB-003"], settings=s, start="2026-03-01", end="2026-03-02")
    assert contain_key(c) == job_key("contain", c.as_json())


def test_thread_backend_serves_the_interface_by_key(tmp_path: Path) -> None:
    s = make_settings(f"duckdb:///{tmp_path}/x.duckdb", spool_dir=str(tmp_path / "spool"))
    backend = ThreadBackend(s)
    assert isinstance(backend, JobBackend) and JobManager is ThreadBackend
    gate = threading.Event()

    def fn(job):
        job.stage("waiting")
        gate.wait(30)
        return 42

    job = backend.submit("k:1", fn, label="x")
    assert backend.by_key("k:1") is job and backend.result("k:1") is None
    gate.set()
    assert job.wait(30) and backend.result("k:1") == 42
    assert backend.progress("k:1")["state"] == "done"
    assert [st["name"] for st in backend.progress("k:1")["stages"]] == ["waiting"]
    assert backend.progress("k:2") is None and backend.result("k:2") is None
    other = backend.submit("k:3", lambda j: j.cancel_token.wait(30), label="y")
    assert backend.cancel("k:3") is True and other.state == "cancelled"
    assert backend.result("k:3") is None and backend.cancel("k:404") is True
    backend.close()


def test_cli_wait_maps_each_outcome_to_one_exit(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli.run_job import job_manager, wait_for
    from core.db import DatabaseUnavailable
    from core.defects import DefectInputError

    s = make_settings(f"duckdb:///{tmp_path}/x.duckdb", spool_dir=str(tmp_path / "spool"))

    def fails(exc: Exception):
        def fn(job):
            job.stage("work", total=2)
            raise exc
        return fn

    with job_manager(s) as manager:
        done = manager.submit("k:ok", lambda j: 1, label="ok")
        assert wait_for(done, what="x") is None
        bad = manager.submit("k:bad", fails(DefectInputError("end before start")), label="b")
        with pytest.raises(DefectInputError, match="end before start"):
            wait_for(bad, what="x")
        lane = manager.submit("k:lane", fails(DatabaseUnavailable("down")), label="l")
        with pytest.raises(DatabaseUnavailable):
            wait_for(lane, what="x")
        boom = manager.submit("k:boom", fails(RuntimeError("boom")), label="r")
        assert wait_for(boom, what="thing", show_progress=False) == 3
        gone = manager.submit("k:cancel", lambda j: j.cancel_token.wait(30), label="c")
        gone.cancel()
        assert wait_for(gone, what="thing", show_progress=False) == 4
    err = capsys.readouterr().err
    assert "mesdash: thing failed: RuntimeError: boom" in err
    assert "mesdash: thing cancelled" in err
    assert manager.jobs() == [] and not done.spool.path.exists(), "closed after the command"


def test_jobs_and_spools_come_from_core_jobs_only() -> None:
    import core.trace

    root = Path(__file__).resolve().parent.parent
    old = re.compile(r"core\.trace\.(jobs|spool)\b")  # not core.trace._spool_reads
    found = [str(p.relative_to(root)) for d in ("core", "dashboard", "tests", "bench")
             for p in (root / d).rglob("*.py")
             if p.name != "test_jobs.py" and old.search(p.read_text(encoding="utf-8"))]
    assert found == []
    assert not {"Job", "JobManager", "Spool", "SpoolError", "Stage"} & set(core.trace.__all__)
