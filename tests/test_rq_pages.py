"""The pages on the job queue (job_backend = rq) through AppTest, with a real worker
process: two dashboard sessions on two "replicas" (the second after the process's
cached backend was dropped, as a restarted replica) are served one job; the System page
shows the backend, workers and queue; Redis down is a message on the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.test_app_pages import APP, TIMEOUT_S, _texts, app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_rq_jobs import Team, wait_until

TRACE_URL = {"kind": "lot", "values": "AW-0036", "direction": "backward",
             "domains": "history,holds"}


@pytest.fixture
def rq_app(on_tiny: Path, app_env: pytest.MonkeyPatch, redis_url: str,  # noqa: F811
           tmp_path: Path) -> Iterator[Team]:
    team = Team(f"duckdb:///{on_tiny}", redis_url, tmp_path)
    for key, value in team.overrides.items():
        app_env.setenv(f"MES_{key.upper()}", str(value))
    yield team
    team.close()


def _trace_session() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params.update(TRACE_URL)
    at.run()
    at.switch_page("views/trace.py").run()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(m.label == "Containers" for m in at.metric) or at.main.error:
            break
        time.sleep(0.3)
        at.run()
    return at


def test_two_sessions_on_two_replicas_share_one_trace_job(rq_app: Team) -> None:
    rq_app.worker("w1")
    rq_app.wait_workers(1)
    first = _trace_session()
    assert not first.exception and not first.main.error, _texts(first.main)
    assert any(m.label == "Containers" for m in first.metric), _texts(first.main)
    st.cache_resource.clear()  # this replica restarts: a new backend, the same queue
    second = _trace_session()
    assert not second.exception and not second.main.error, _texts(second.main)
    assert {m.label: m.value for m in second.metric} == {m.label: m.value
                                                        for m in first.metric}
    probe = rq_app.replica()
    assert len(probe.queue.finished_job_registry.get_job_ids()) == 1, "one job served both"
    system = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    system.switch_page("views/system.py").run()
    assert not system.exception
    metrics = {m.label: m.value for m in system.metric}
    assert metrics["Job backend"] == f"rq · {rq_app.queue}"
    assert metrics["Workers alive"] == "1" and metrics["Queued"] == "0"


def test_redis_down_is_a_message_on_the_page(rq_app: Team, app_env: pytest.MonkeyPatch  # noqa: F811
                                             ) -> None:
    app_env.setenv("MES_REDIS_URL", "redis://127.0.0.1:1/0")
    app_env.setenv("MES_REDIS_TIMEOUT_S", "0.3")
    at = _trace_session()
    assert not at.exception, [e.value for e in at.exception]
    assert any("job queue" in e.value and "unreachable" in e.value for e in at.main.error), \
        _texts(at.main)
    system = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    system.switch_page("views/system.py").run()
    assert not system.exception
    assert any("unreachable" in e.value for e in system.main.error), _texts(system.main)


def _steps_page() -> None:
    """A page holding a job of 20 steps on the queue, found by key or submitted."""
    import os

    import streamlit as st

    from core.config import load_settings
    from core.jobs import Task
    from dashboard.job_manager import get_job_manager
    from dashboard.widgets.job_progress import job_result
    from tests import rq_tasks

    settings = load_settings()
    manager = get_job_manager(settings)
    key = os.environ["STEPS_KEY"]
    job = manager.by_key(key) or manager.submit(
        key, Task(rq_tasks.slow_steps, {"steps": 20, "step_s": 0.3, "tag": key}),
        label="twenty steps")
    st.session_state["job_id"] = job.id
    job_result(job, key="steps", settings=settings, what="The steps", again="")


def test_a_restarted_replica_shows_the_running_job_s_progress(
        rq_app: Team, app_env: pytest.MonkeyPatch) -> None:  # noqa: F811
    rq_app.worker("w1")
    rq_app.wait_workers(1)
    app_env.setenv("STEPS_KEY", f"test:{rq_app.queue}")
    first = AppTest.from_function(_steps_page, default_timeout=TIMEOUT_S).run()
    assert not first.exception, [e.value for e in first.exception]
    job_id = first.session_state["job_id"]
    st.cache_resource.clear()  # the replica restarts while the job runs
    time.sleep(1.5)
    second = AppTest.from_function(_steps_page, default_timeout=TIMEOUT_S).run()
    assert not second.exception, [e.value for e in second.exception]
    assert second.session_state["job_id"] == job_id, "found by key, not run again"
    shown = " ".join(p.value["text"] if isinstance(p.value, dict) else str(p.proto.text)
                     for p in second.get("progress"))
    assert "**steps**" in shown and "/ 20" in shown, shown
    assert any(b.label.startswith("Cancel") for b in second.button)


def _lost_page() -> None:
    """A page holding a slow job on the queue (tests.rq_tasks), shown by job_result."""
    import os

    import streamlit as st

    from core.config import load_settings
    from core.jobs import Task
    from dashboard.job_manager import get_job_manager
    from dashboard.widgets.job_progress import job_result
    from tests import rq_tasks

    settings = load_settings()
    manager = get_job_manager(settings)
    key = os.environ["LOST_KEY"]
    job = manager.by_key(key) or manager.submit(
        key, Task(rq_tasks.slow_steps, {"steps": 1, "step_s": 0.05, "heavy": True,
                                        "tag": key}), label="heavy")
    st.session_state["job_id"] = job.id
    job_result(job, key="lost", settings=settings, what="The heavy job",
               again="Press Run again.")
    st.success("done")


def test_worker_lost_on_the_page_offers_run_again(rq_app: Team,
                                                  app_env: pytest.MonkeyPatch  # noqa: F811
                                                  ) -> None:
    import os
    import signal

    worker = rq_app.worker("w1")
    rq_app.wait_workers(1)
    app_env.setenv("LOST_KEY", f"test:{rq_app.queue}")
    at = AppTest.from_function(_lost_page, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    first = at.session_state["job_id"]
    probe = rq_app.replica()
    assert wait_until(lambda: (probe.get(first).stages or [None])[-1] is not None
                      and probe.get(first).stages[-1].name == "heavy query", 20)
    os.kill(worker.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not at.main.error:
        time.sleep(0.5)
        at.run()
    assert any("worker lost" in e.value for e in at.main.error), _texts(at.main)
    rq_app.worker("w2")
    rq_app.wait_workers(1)
    run_again = [b for b in at.button if b.label == "Run again"]
    assert run_again, [b.label for b in at.button]
    run_again[0].click().run()
    assert at.session_state["job_id"] != first, "Run again submitted a new job"
