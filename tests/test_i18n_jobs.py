"""Job progress in the reader's language (issue 17): a stage keeps its msgid and format
arguments (``message`` + ``message_args``), through the RQ job's meta too, and is made
into text where it is shown.

Why: jobs run on threads or RQ workers and one job is shared by sessions in different
languages, so the job cannot format its messages; a message with a number formatted on
the job's thread could not be translated at all. These tests run the real jobs (trace,
defect trace, containment, reject-history load) on the tiny demo and check every stage
name and message they make is a catalog message whose zh-TW text takes its arguments.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from core import i18n
from core.db import open_lanes
from core.jobs import Job, Spool, job_label, stage_text
from tests.conftest import make_settings

PO = i18n.LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "mesdash.po"


def _catalog() -> dict[str, str]:
    with PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="zh_TW") if m.id}


def _in(lang: str, stage: dict[str, Any]) -> tuple[str, str]:
    i18n.set_language(lang)
    try:
        return stage_text(stage)
    finally:
        i18n.set_language("en")


def test_a_stage_message_is_formatted_in_the_readers_language(tmp_path: Path) -> None:
    settings = make_settings("duckdb:///unused.duckdb", spool_dir=str(tmp_path))
    job = Job("k", "l", Spool.create(settings))
    stage = job.stage("detection", total=2)
    job.progress_for(stage)(done=1, message="{lots:,} lots passed {station}",
                            message_args={"lots": 1234, "station": "TMTT"})
    snap = job.snapshot()["stages"][0]
    assert snap["message"] == "{lots:,} lots passed {station}"
    assert snap["message_args"] == {"lots": 1234, "station": "TMTT"}
    assert _in("en", snap) == ("detection", "1,234 lots passed TMTT")
    assert _in("zh-TW", snap) == (i18n.translations("zh-TW").gettext("detection"),
                                  "1,234 個 LOT 經過 TMTT")
    # a job's label too: a msgid and its arguments, formatted where shown
    labelled = Job("k2", "Reject history {start} ~ {end}", Spool.create(settings),
                   {"start": "2026-09-01", "end": "2026-11-19"})
    i18n.set_language("zh-TW")
    try:
        assert job_label(labelled) == "報廢紀錄 2026-09-01 ~ 2026-11-19"
    finally:
        i18n.set_language("en")
    assert job_label(labelled) == "Reject history 2026-09-01 ~ 2026-11-19"
    assert labelled.snapshot()["label_args"] == {"start": "2026-09-01", "end": "2026-11-19"}
    # a new message without arguments drops the old ones
    job.progress_for(stage)(message="from cache")
    assert job.snapshot()["stages"][0]["message_args"] == {}


def _run_jobs(url: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Every stage the real jobs make, each job run to its end."""
    from core.contain import build_suspect, run_contain
    from core.defects import DefectRequest, run_defect_analysis
    from core.rejects._load_job import RejectRequest, run_reject_load
    from core.trace import TraceRequest, run_trace

    settings = make_settings(url, spool_dir=str(tmp_path / "sp"), in_list_max=50)
    lanes = open_lanes(settings)
    stages: list[dict[str, Any]] = []
    trace = TraceRequest.build({"lot": "GA2609100*"}, "forward")
    defects = DefectRequest.build(settings, station="TMTT", start="2026-09-01",
                                  end="2026-11-20")
    suspect = build_suspect("machine", "DB-003", settings=settings, start="2026-09-01",
                            end="2026-11-20")
    rejects = RejectRequest("range", date(2026, 9, 1), date(2026, 11, 19))
    works = [
        (trace, lambda j: run_trace(j, lanes, trace, settings)),
        (defects, lambda j: run_defect_analysis(j, lanes, defects, settings)),
        (suspect, lambda j: run_contain(j, lanes, suspect, settings)),
        (rejects, lambda j: run_reject_load(j, lanes, rejects, settings)),
    ]
    try:
        for request, work in works:  # the pages' and the CLI's labels, with their args
            job = Job(uuid.uuid4().hex, request.label, Spool.create(settings),
                      request.label_args)
            job.run(work)
            assert job.state == "done", job.error
            stages += job.snapshot()["stages"]
            stages.append({"name": job.label, "message": job.label,
                           "message_args": job.label_args})
            job.spool.delete()
    finally:
        lanes.close()
    return stages


def test_every_stage_of_the_real_jobs_is_a_catalog_message(
        demo_duckdb_url: str, tmp_path: Path) -> None:
    catalog = _catalog()
    stages = _run_jobs(demo_duckdb_url, tmp_path)
    assert any(s["message_args"] for s in stages)  # numbers travel as arguments
    for s in stages:
        assert catalog.get(s["name"]), ("stage name not in the catalog", s["name"])
        if s["message"]:
            assert catalog.get(s["message"]), ("message not in the catalog", s["message"])
            # the zh-TW text takes exactly the job's arguments
            assert catalog[s["message"]].format(**s["message_args"])
            assert s["message"].format(**s["message_args"])
            name, text = _in("zh-TW", s)
            assert text == catalog[s["message"]].format(**s["message_args"])
            assert name == catalog[s["name"]]


def test_the_rq_meta_carries_the_message_arguments(
        demo_duckdb_url: str, redis_url: str, tmp_path: Path) -> None:
    import shutil

    from core.jobs import Task
    from tests import rq_tasks
    from tests.test_rq_jobs import Team, wait_until

    db = tmp_path / "team.duckdb"
    shutil.copyfile(Path(demo_duckdb_url.removeprefix("duckdb:///")), db)
    team = Team(f"duckdb:///{db}", redis_url, tmp_path)
    try:
        team.worker("w1")
        team.wait_workers(1)
        replica = team.replica()
        task = Task(rq_tasks.slow_steps, {"steps": 2, "step_s": 0.05, "tag": "m",
                                          "message": "{lots:,} lots passed {station}",
                                          "message_args": {"lots": 4321, "station": "TMTT"}})
        job = replica.submit("test:i18n-meta", task, label="Containment of {names}",
                             label_args={"names": "DB-003"})
        assert wait_until(lambda: not job.active, 60), team.logs()
        assert job.state == "done", job.error
        restarted = team.replica()  # reads the job's meta from Redis only
        found = restarted.by_key("test:i18n-meta")
        assert found is not None
        snap = found.snapshot()["stages"][-1]
        assert snap["message_args"] == {"lots": 4321, "station": "TMTT"}
        assert found.stages[-1].message_args == {"lots": 4321, "station": "TMTT"}
        assert _in("zh-TW", snap)[1] == "4,321 個 LOT 經過 TMTT"
        assert found.label_args == {"names": "DB-003"}
        i18n.set_language("zh-TW")
        assert job_label(found) == "DB-003 的圍堵"
        assert restarted.overview()[0]["job"] == "DB-003 的圍堵"  # the System page's row
    finally:
        team.close()


@pytest.fixture(autouse=True)
def _english_after() -> Any:
    yield
    i18n.set_language("en")
