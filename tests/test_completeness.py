"""Completeness travels (issue 13, item 9): a result derived from a partial or truncated
input is never "complete", and says which input made it so, in words.

One rule (core.completeness.derive) on hand records, then end to end with a batch
that really fails in the database (tests/faults.py: a view over the table that raises a
conversion error for one container's rows), on DuckDB and PostgreSQL:
- trace: a failed history batch makes the jobs domain (machine windows from history)
  partial, naming history; the CLI's JSON and the Trace page say so;
- defect trace backward: a failed materials or history batch makes the analysis partial;
  the CLI's JSON, the summary and the page's banner say so;
- defect trace forward: a cut lineage or a failed downstream batch makes it incomplete.
The hand data have known answers, so each test also sees the rows the failure took.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core import completeness as comp
from core import schema as t
from core.cli import main
from core.db import open_lanes
from core.defects import DefectRequest
from core.defects._defect_job import DefectResult, run_defect_analysis
from core.jobs import Job, JobManager, Spool
from core.text import md_unescape
from core.trace import TraceRequest, run_trace
from tests import defects_factory as f
from tests import test_trace_engine as hand
from tests.conftest import make_settings
from tests.faults import poison
from tests.test_app_pages import app_env, tiny_db  # noqa: F401

# --- the rule on hand records ----------------------------------------------------------------


def _failed(n: int) -> list[dict[str, object]]:
    return [{"first_id": f"ID{i}A", "last_id": f"ID{i}Z", "ids": 1000, "error": "boom"}
            for i in range(n)]


def test_derived_is_the_worst_of_its_inputs_and_names_them() -> None:
    history = comp.fetched(_failed(3), batches=228)
    assert history["status"] == "partial"
    assert history["reason"].startswith("3 of 228 batches failed (containers ID0A…ID0Z;")
    jobs = comp.derive(comp.fetched(batches=4, unit="machines"), {"history": history})
    assert jobs["status"] == "partial"
    assert jobs["derived_from"] == {"history": "partial"}
    assert jobs["reason"].startswith(
        "derived from history, which is partial: 3 of 228 batches failed")
    assert jobs["failed_batches"] == [] and jobs["batches"] == 4  # its own fetch was whole
    # a cut ranks above failed batches; every incomplete input is named
    cut = comp.of_lineage("trace_max_nodes (10 containers)")
    both = comp.derive(None, {"lineage": cut, "history": history, "materials": None})
    assert both["status"] == "truncated"
    assert both["derived_from"] == {"lineage": "truncated", "history": "partial",
                                    "materials": "complete"}
    assert "derived from lineage, which is truncated: cut by trace_max_nodes" in both["reason"]
    assert "derived from history, which is partial" in both["reason"]
    # complete inputs leave a complete result complete, with no reason
    ok = comp.derive(comp.fetched(batches=2), {"history": comp.fetched(batches=9)})
    assert ok["status"] == "complete" and ok["reason"] is None
    # a chain keeps what it was derived from: jobs <- history <- lineage
    chained = comp.derive(comp.fetched(), {"history": comp.derive(comp.fetched(),
                                                                  {"lineage": cut})})
    assert chained["status"] == "truncated"
    assert chained["reason"] == "derived from history, which is truncated: derived from lineage"
    json.dumps(both)  # JSON-ready


# --- hand-built trace with one poisoned history row ----------------------------------------


def _hand_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    if backend == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'hand.duckdb'}", "dwh"
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    hand._load(url, schema)
    return url, schema


@pytest.fixture(params=["duckdb", "postgresql"])
def history_fails(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The trace engine's hand data whose lot GA-A cannot have its history read. GA-A is
    the only lot on machine EQ1 while its job J1 ran, so the jobs domain misses J1."""
    url, schema = _hand_db(request.param, tmp_path, request)
    poison(url, schema, t.lotwiphistory, "specname", f"containerid = '{hand.N['GA-A']}'")
    return url, schema


def _trace(url: str, schema: str, tmp_path: Path, domains: list[str]):
    settings = make_settings(url, schema=schema, in_list_max=4, spool_dir=str(tmp_path / "sp"))
    lanes = open_lanes(settings)
    request = TraceRequest.build({"lot": "GA-A8"}, "backward", domains)
    job = Job(request.key, request.label, Spool.create(settings))
    try:
        job.run(lambda j: run_trace(j, lanes, request, settings))
        assert job.state == "done", job.error
        return job.result, job.spool
    finally:
        lanes.close()


def test_jobs_from_a_partial_history_are_partial_and_say_why(
    history_fails: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = history_fails
    result, spool = _trace(url, schema, tmp_path, ["history", "jobs"])
    history = result.domains["history"].completeness
    # GA-A8's ancestry: GA-A1..GA-A8, GA-A, WAF1: 10 containers, 3 batches of 4
    assert history["status"] == "partial" and history["batches"] == 3
    assert len(history["failed_batches"]) == 1
    jobs = result.domains["jobs"]
    assert jobs.rows == 0  # J1 overlapped GA-A's stay only: its window was lost
    assert jobs.completeness["status"] == "partial"
    assert jobs.completeness["failed_batches"] == []  # the jobs' own query did not fail
    assert jobs.completeness["derived_from"] == {"history": "partial", "lineage": "complete"}
    assert jobs.completeness["reason"].startswith(
        "derived from history, which is partial: 1 of 3 batches failed (containers ")
    assert spool.meta("jobs")["completeness"]["status"] == "partial"
    # the timeline draws history: partial too
    assert result.timeline_completeness()["status"] == "partial"
    spool.delete()


def test_jobs_are_complete_when_history_is(tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    url, schema = _hand_db("duckdb", tmp_path, request)
    result, spool = _trace(url, schema, tmp_path, ["history", "jobs"])
    assert result.domains["jobs"].rows == 1  # J1 during GA-A's stay on EQ1
    for d in result.domains.values():
        assert d.completeness["status"] == "complete" and d.completeness["reason"] is None
    spool.delete()


def test_a_cut_lineage_makes_every_domain_truncated(tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    url, schema = _hand_db("duckdb", tmp_path, request)
    settings = make_settings(url, schema=schema, trace_max_nodes=3,
                             spool_dir=str(tmp_path / "sp"))
    lanes = open_lanes(settings)
    req = TraceRequest.build({"lot": "GA-A8"}, "backward", ["history"])
    job = Job(req.key, req.label, Spool.create(settings))
    try:
        job.run(lambda j: run_trace(j, lanes, req, settings))
    finally:
        lanes.close()
    res = job.result
    assert res.lineage_completeness["status"] == "truncated"
    history = res.domains["history"].completeness
    assert history["status"] == "truncated" and history["failed_batches"] == []
    assert "derived from lineage, which is truncated: cut by trace_max_nodes" in (
        history["reason"])
    job.spool.delete()


def test_cli_trace_json_says_jobs_are_partial_because_of_history(
    history_fails: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, schema = history_fails
    monkeypatch.setenv("MES_SCHEMA", schema)
    monkeypatch.setenv("MES_IN_LIST_MAX", "4")
    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    rc = main(["trace", "--db", url, "--lot", "GA-A8", "--domains", "history,jobs",
               "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    data = json.loads(out.out)
    jobs = data["domains"]["jobs"]["completeness"]
    assert jobs["status"] == "partial"
    assert jobs["derived_from"]["history"] == "partial"
    assert "derived from history, which is partial: 1 of 3 batches failed" in jobs["reason"]
    assert data["domains"]["history"]["completeness"]["failed_batches"][0]["error"]
    assert data["lineage_completeness"]["status"] == "complete"
    # and the text output says it in words
    rc = main(["trace", "--db", url, "--lot", "GA-A8", "--domains", "history,jobs"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "jobs: 0 rows, partial: derived from history, which is partial" in text


# --- the defect trace ------------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgresql"])
def factory_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'factory.duckdb'}", "dwh"
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    f.build(url, schema)
    return url, schema


def _defects(url: str, schema: str, tmp_path: Path, direction: str = "backward",
             **overrides: object) -> DefectResult:
    settings = make_settings(url, schema=schema, spool_dir=str(tmp_path / "sp"),
                             **{"in_list_max": 2, **overrides})
    lanes = open_lanes(settings)
    manager = JobManager(settings)
    try:
        req = DefectRequest.build(settings, station="TMTT", start="2026-06-01",
                                  end="2026-06-30", direction=direction)
        job = manager.submit(req.key(), lambda j: run_defect_analysis(j, lanes, req, settings),
                             label="defects")
        assert job.wait(120)
        assert job.state == "done", job.error
        return job.result
    finally:
        manager.close()
        lanes.close()


def _factors(res: DefectResult) -> set[tuple[str, str]]:
    return {(r["factor_kind"], r["factor"]) for r in res.backward.factors.to_pylist()}


def test_defect_analysis_from_partial_materials_is_partial(
    factory_db: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = factory_db
    whole = _defects(url, schema, tmp_path / "a")
    assert whole.completeness["analysis"]["status"] == "complete"
    assert ("material", "LF / LF-1") in _factors(whole)
    poison(url, schema, t.lotmaterialshistory, "specname", f"containerid = '{f.cid('P1')}'")
    res = _defects(url, schema, tmp_path / "b")
    assert ("material", "LF / LF-1") not in _factors(res)  # P1's material lot is lost
    assert res.completeness["materials"]["status"] == "partial"
    analysis = res.completeness["analysis"]
    assert analysis["status"] == "partial"
    assert analysis["derived_from"] == {"lineage": "complete", "history": "complete",
                                        "materials": "partial"}
    assert analysis["reason"].startswith("derived from materials, which is partial: 1 of ")
    assert "**Incomplete data.** The analysis is partial: derived from materials" in (
        res.summary)
    # each part says what it is built from: materials' pareto partial, the others whole
    assert res.completeness_of("material")["status"] == "partial"
    assert res.completeness_of("lot_detail")["status"] == "partial"
    for part in ("machine", "affected_machines", "wafer", "detection_machine", "kpis"):
        assert res.completeness_of(part)["status"] == "complete", part


def test_defect_analysis_from_partial_history_is_partial(
    factory_db: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = factory_db
    poison(url, schema, t.lotwiphistory, "specname", f"containerid = '{f.cid('P1')}'")
    res = _defects(url, schema, tmp_path)
    assert res.kpis["detection_input"] == 3500  # detection (TMTT rows) is untouched
    assert ("machine", "焊接_DB / M1") not in _factors(res)  # only P1 ran on M1 upstream
    analysis = res.completeness["analysis"]
    assert analysis["status"] == "partial"
    assert "derived from history, which is partial" in analysis["reason"]


def test_forward_from_a_cut_lineage_or_failed_downstream_batch_is_incomplete(
    factory_db: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = factory_db
    whole = _defects(url, schema, tmp_path / "a", "forward")
    assert whole.kpis["downstream_rejects"] == 7
    assert whole.completeness["analysis"]["status"] == "complete"
    # three defective lots (A, B, C) and room for two: the lineage is cut
    cut = _defects(url, schema, tmp_path / "b", "forward", trace_max_nodes=2)
    assert cut.completeness["lineage"]["status"] == "truncated"
    assert cut.completeness["downstream"]["status"] == "truncated"
    analysis = cut.completeness["analysis"]
    assert analysis["status"] == "truncated"
    assert "derived from lineage, which is truncated: cut by trace_max_nodes (2 " in (
        analysis["reason"])
    # A's reject at FQC (the 7 downstream pcs) cannot be read: downstream is partial
    poison(url, schema, t.lotrejecthistory, "equipmentname",
           f"containerid = '{f.cid('A')}' AND workcentername = 'FQC'")
    res = _defects(url, schema, tmp_path / "c", "forward")
    assert res.kpis["defective_lots"] == 3  # detection read A's TMTT rejects
    assert res.kpis["downstream_rejects"] == 0
    assert res.completeness["downstream"]["status"] == "partial"
    assert res.completeness["analysis"]["status"] == "partial"
    assert "derived from downstream, which is partial" in res.completeness["analysis"]["reason"]


def test_cli_defects_json_says_the_analysis_is_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'factory.duckdb'}"
    f.build(url, "dwh")
    poison(url, "dwh", t.lotmaterialshistory, "specname", f"containerid = '{f.cid('P1')}'")
    monkeypatch.setenv("MES_DB_URL", url)
    monkeypatch.setenv("MES_IN_LIST_MAX", "2")
    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    rc = main(["defects", "--station", "TMTT", "--start", "2026-06-01", "--end", "2026-06-30",
               "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    data = json.loads(out.out)
    analysis = data["completeness"]["analysis"]
    assert analysis["status"] == "partial"
    assert analysis["reason"].startswith("derived from materials, which is partial: 1 of ")
    assert data["completeness"]["materials"]["failed_batches"][0]["first_id"]


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def tiny_poisoned(tiny_db: Path,  # noqa: F811
                   tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the tiny demo whose first TMTT lot (in the default range) cannot have
    its history or materials read."""
    path = tmp_path / f"poisoned-{uuid.uuid4().hex[:6]}.duckdb"
    shutil.copyfile(tiny_db, path)
    with duckdb.connect(str(path), read_only=True) as con:
        cid, name = con.execute(
            "SELECT h.containerid, c.containername FROM dwh.dw_mes_lotwiphistory h "
            "JOIN dwh.dw_mes_container c USING (containerid) "
            "WHERE h.workcentername = 'TMTT' AND h.trackintimestamp >= DATE '2026-09-01' "
            "ORDER BY 1 LIMIT 1").fetchall()[0]
    url = f"duckdb:///{path}"
    poison(url, "dwh", t.lotmaterialshistory, "specname", f"containerid = '{cid}'")
    # history: only its rows at a station before TMTT (detection reads TMTT rows)
    poison(url, "dwh", t.lotwiphistory, "specname",
           f"containerid = '{cid}' AND workcentername <> 'TMTT'")
    yield path, name


def test_pages_show_derived_results_as_partial(
    app_env: pytest.MonkeyPatch, tiny_poisoned: tuple[Path, str],  # noqa: F811
) -> None:
    from tests.test_app_pages import _app, _assert_clean, _texts
    from tests.test_defects_page import finish_jobs

    path, lot = tiny_poisoned
    app_env.setenv("MES_DB_URL", f"duckdb:///{path}")
    app_env.setenv("MES_IN_LIST_MAX", "2")
    # the Trace page: jobs from the partial history are partial, tab and banner say why
    at = _app()
    at.query_params.update({"kind": "lot", "values": lot, "direction": "backward",
                            "domains": "history,jobs"})
    at.run()
    at.switch_page("views/trace.py").run()
    finish_jobs()
    at.run()
    _assert_clean(at)
    labels = list(at.radio(key="trace.tab").options)  # the event tables' picker
    assert any(lab.startswith("History (") and lab.endswith("· partial)") for lab in labels)
    assert any(lab.startswith("Machine jobs (") and lab.endswith("· partial)")
               for lab in labels), labels
    errors = [md_unescape(str(e.value)) for e in at.main.error]
    assert any(e.startswith("**Timeline: partial** — derived from history, which is partial")
               for e in errors), errors
    at.radio(key="trace.tab").set_value("jobs").run()  # the jobs table and its banner
    errors = [md_unescape(str(e.value)) for e in at.main.error]
    assert any("**Machine jobs: partial** — derived from history, which is partial" in e
               for e in errors), errors
    # the Defect trace page: the analysis is partial, banner and summary say so
    at = _app()
    at.query_params.update({"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20",
                            "run": "1"})
    at.run()
    at.switch_page("views/defect_trace.py").run()
    finish_jobs()
    at.run()
    _assert_clean(at)
    errors = [md_unescape(str(e.value)) for e in at.main.error]
    assert any(e.startswith("**Analysis: partial** — derived from history, which is partial")
               for e in errors), errors
    assert any("derived from materials, which is partial" in e for e in errors), errors
    assert any("**Incomplete data.** The analysis is partial" in md_unescape(x)
               for x in _texts(at.main))
    labels = [tab.label for tab in at.tabs]
    assert {"Machines · partial", "Materials · partial", "Wafer lots",
            "Lot detail · partial"} <= set(labels), labels
    assert any(x.startswith(":material/report: Upstream machines: partial, derived from "
                            "history, which is partial")
               for x in map(md_unescape, _texts(at.main)))
