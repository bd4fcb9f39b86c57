"""Browser smoke test: the real `streamlit run dashboard/app.py` server in headless Chromium.

Why: AppTest runs the script in-process and never renders anything; only a real server
and browser show what a user sees (page routing by URL, the sidebar frame, fragments,
layout). Every page is opened against a tiny demo DuckDB, checked for exception boxes and
saved as a full-page screenshot under artifacts/screenshots/ for a person to look at.
The server always gets terminated, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 60
PAGE_TIMEOUT_MS = 60_000
SETTLE_MS = 1_500
VIEWPORT = {"width": 1440, "height": 1000}
# (url path, title shown on the page, screenshot name)
PAGES = [
    ("", "Trace", "trace"),
    ("defect_trace", "Defect trace", "defect_trace"),
    ("reject_history", "Reject history", "reject_history"),
    ("wip_hold", "WIP hold", "wip_hold"),
    ("system", "System", "system"),
    ("trace?kind=lot&values=GA%2A", "Trace", "trace_by_its_path"),  # forwards to /, traces
]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
        ".ci/run does this.",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def tiny_db(demo_duckdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's tiny demo database (conftest builds it with build_demo)."""
    source = Path(demo_duckdb_url.removeprefix("duckdb:///"))
    path = tmp_path_factory.mktemp("browser") / "tiny.duckdb"
    shutil.copyfile(source, path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def streamlit_cmd(port: int) -> list[str]:
    """The dashboard as a headless server on loopback ``port`` (every browser test)."""
    return [sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
            "--server.port", str(port), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]


def wait_healthy(base: str, proc: subprocess.Popen, logs: Callable[[], str]) -> None:
    """Until ``base`` answers its health check; AssertionError with ``logs()`` when the
    server exits or takes longer than SERVER_START_S."""
    deadline = time.monotonic() + SERVER_START_S
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{logs()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no health in {SERVER_START_S} s:\n{logs()}")
        time.sleep(0.3)


@contextlib.contextmanager
def serve(db_url: str, log_path: Path) -> Iterator[str]:
    """A streamlit server for ``db_url``; yields its base URL, always terminates it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(
        MES_DB_URL=db_url,
        MES_SECRETS_FILE=str(log_path.with_name("no-secrets.toml")),
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(streamlit_cmd(port), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, proc, log_path.read_text)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _settle(page: Page, title: str) -> None:
    page.locator("h1", has_text=title).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(
        state="detached", timeout=PAGE_TIMEOUT_MS
    )
    page.wait_for_timeout(SETTLE_MS)


def _screenshot(page: Page, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main container, so
    the viewport is grown to the content's height first (full_page alone would cut it)."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebar"]',
                              '[data-testid="stAppViewContainer"]']
            .map(s => document.querySelector(s)).filter(Boolean)
            .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height)})
    page.wait_for_timeout(SETTLE_MS // 3)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(VIEWPORT)


def test_every_page_in_chromium(tiny_db: Path, browser: Browser, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            for path, title, name in PAGES:
                page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                _settle(page, title)
                page.get_by_text("Data as of").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                _screenshot(page, name)
                exceptions = page.locator('[data-testid="stException"]')
                assert exceptions.count() == 0, (name, exceptions.all_inner_texts())
                assert page.get_by_text("Page not found").count() == 0, name
                if "?" in path:  # a link with a query: the page ran it
                    page.get_by_text("values matched").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
                assert "RUN" in sidebar and "QUEUE" in sidebar and "HOLD" in sidebar, sidebar
        finally:
            context.close()


def test_unreachable_database_in_chromium(browser: Browser, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = "postgresql+psycopg://nobody:sekret@127.0.0.1:1/x"
    with serve(url, tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/", wait_until="domcontentloaded")
            alert = page.get_by_text("Cannot reach the MES database").first
            alert.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.locator('[data-testid="stStatusWidget"]').wait_for(
                state="detached", timeout=PAGE_TIMEOUT_MS
            )
            page.wait_for_timeout(SETTLE_MS)
            _screenshot(page, "unreachable_database")
            assert page.locator('[data-testid="stException"]').count() == 0
            assert "sekret" not in page.content()
        finally:
            context.close()


def test_reject_history_clicks_filter_and_land_in_the_url(
    tiny_db: Path, browser: Browser, tmp_path: Path
) -> None:
    """The chart clicks AppTest cannot make: a trend bar filters the period, a pareto bar
    filters the detail list, and both are in the address (a shared link keeps them)."""
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/reject_history", wait_until="domcontentloaded")
            _settle(page, "Reject history")
            page.get_by_text("Detail", exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "run=1" in page.url and "start=" in page.url  # the bare open ran
            charts = page.locator('[data-testid="stPlotlyChart"]')
            charts.nth(0).locator("g.point path").first.click(force=True)
            page.wait_for_url("**period=*", timeout=PAGE_TIMEOUT_MS)
            _settle(page, "Reject history")
            page.get_by_text("Clear period filter").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            charts.nth(1).locator("g.point path").first.click(force=True)
            page.wait_for_url("**sel_val=*", timeout=PAGE_TIMEOUT_MS)
            _settle(page, "Reject history")
            page.get_by_text("Clear bar filter").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "period=" in page.url and "sel_dim=reason" in page.url
            assert page.locator('[data-testid="stException"]').count() == 0
            _screenshot(page, "reject_history_clicked")
        finally:
            context.close()


def test_deep_link_first_shows_the_frame(tiny_db: Path, browser: Browser, tmp_path: Path) -> None:
    """The first request after a fresh server start is a deep link to a page that is not
    the default (/system); the frame still runs on it: the sidebar shows the backend
    caption and the snapshot's "Data as of". This is what keeps the pages out of a folder
    named ``pages/`` beside app.py: with one (Streamlit 1.67, st.navigation) this first
    visit runs the page alone in legacy multipage mode, file-name navigation and no frame
    (seen: this test fails when dashboard/views/ is renamed dashboard/pages/)."""
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/system", wait_until="domcontentloaded")
            _settle(page, "System")
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Data as of").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            text = sidebar.inner_text()
            assert "Backend" in text and "duckdb" in text, text
            assert page.url.rstrip("/").endswith("/system"), page.url
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            context.close()


def test_suspects_and_a_containment_in_chromium(tiny_db: Path, browser: Browser,
                                                tmp_path: Path) -> None:
    """The defect trace opens on its suspects (cards, lift chart, window) and a suspect's
    Contain button opens its containment: screenshots of both, no exception box."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    link = "defect_trace?station=TMTT&start=2026-09-01&end=2026-11-20&run=1"
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/{link}", wait_until="domcontentloaded")
            _settle(page, "Defect trace")
            page.get_by_text("#1 · ").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text("Suspect window").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(SETTLE_MS)
            _screenshot(page, "defect_trace_suspects")
            assert page.locator('[data-testid="stException"]').count() == 0
            page.get_by_role("button", name="Contain: lots, descendants").first.click()
            _settle(page, "Containment")
            page.get_by_text("Hold list (in WIP)").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(SETTLE_MS)
            _screenshot(page, "containment")
            assert "/containment" in page.url and "kind=machine" in page.url, page.url
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            context.close()
