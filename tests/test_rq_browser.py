"""Two dashboard processes (streamlit replicas) and two `mesdash worker` processes on one
job queue, driven by headless Chromium: the same trace opened on both replicas at once is
one job on the queue, and both pages show its result.

Why a browser test besides tests/test_rq_pages.py: there the two "replicas" are one
process whose cached backend is dropped; here they are two real servers, as behind a
proxy with session affinity (README "Serving a team").
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from tests.test_browser_smoke import (
    PAGE_TIMEOUT_MS,
    ROOT,
    browser,  # noqa: F401
    streamlit_cmd,
    wait_healthy,
)
from tests.test_rq_jobs import Team, team  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

PORTS = (8613, 8614)


@contextmanager
def replicas(team: Team) -> Iterator[list[str]]:  # noqa: F811
    procs = []
    env = {**team.env(), "PYTHONUNBUFFERED": "1"}
    try:
        for port in PORTS:
            log = (team.tmp / f"replica{port}.log").open("wb")
            procs.append(subprocess.Popen(streamlit_cmd(port), cwd=ROOT, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        bases = [f"http://127.0.0.1:{port}" for port in PORTS]
        for base, proc in zip(bases, procs, strict=True):
            wait_healthy(base, proc, team.logs)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()



def test_the_same_trace_on_two_replicas_is_one_job(team: Team, browser: Browser  # noqa: F811
                                                    ) -> None:
    team.worker("w1")
    team.worker("w2")
    team.wait_workers(2)
    with replicas(team) as bases:
        pages = [browser.new_context().new_page() for _ in bases]
        for page, base in zip(pages, bases, strict=True):  # both at once, no waiting
            page.goto(f"{base}/?kind=lot&values=AW-0036&direction=backward",
                      wait_until="commit")
        for page in pages:
            page.get_by_text("values matched").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.context.close()
    probe = team.replica()
    ran = probe.queue.finished_job_registry.get_job_ids()
    assert len(ran) == 1 and "-trace-" in ran[0], ran
    assert os.path.isdir(team.overrides["spool_dir"])
