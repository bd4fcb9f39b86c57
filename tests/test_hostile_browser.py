"""Planted markup in a shared link and in the data, in a real browser: shown as text, no
link to follow, no image fetched (issue 15, item 1).

Why beside tests/test_hostile_text.py (AppTest, every parameter and text column): only a
browser shows what Streamlit's markdown renderer and plotly make of the escaped text. The
real server runs on a tiny demo whose name-like text columns end in the planted markup;
the Trace and Reject history pages are opened from links that carry it. No element may
link to the planted host, no image may point at it, and the browser must never request
it (the beacon); the warning must show the link's text literally.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.values import NAMES, split
from tests.hostile import LINK, PLANT, plant_text_columns
from tests.test_browser_smoke import (  # noqa: F401
    PAGE_TIMEOUT_MS,
    VIEWPORT,
    _settle,
    browser,
    serve,
)

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def planted_db(demo_duckdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile_browser") / "planted.duckdb"
    shutil.copyfile(demo_duckdb_url.removeprefix("duckdb:///"), path)
    plant_text_columns(path)
    return path


def test_planted_links_show_as_text(planted_db: Path, browser: Browser,  # noqa: F811
                                    tmp_path: Path) -> None:
    q = urllib.parse.quote
    links = [
        (f"?kind=lot&values={q('GA2611107*')}%0A{q(PLANT)}", "Trace", "matched nothing"),
        (f"reject_history?run=1&mode=list&c={q(PLANT)}&c={q('GA26*')}", "Reject history",
         "matched no container"),
    ]
    requested: list[str] = []
    with serve(f"duckdb:///{planted_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            for path, title, needle in links:
                page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                _settle(page, title)
                alert = page.locator('[data-testid="stAlert"]', has_text=needle).first
                alert.wait_for(timeout=PAGE_TIMEOUT_MS)
                # literally (md_escape's invisible word joiners aside); a name list splits
                # on spaces (core.values), so the link's words come back as listed values
                shown = alert.inner_text().replace("\u2060", "")
                assert ", ".join(split(LINK, NAMES)) in shown, shown
                main = page.locator('[data-testid="stMain"]')
                assert main.locator('a[href*="evil.example"]').count() == 0, path
                assert main.locator('img[src*="host"]').count() == 0, path
                assert page.locator('[data-testid="stException"]').count() == 0, path
        finally:
            context.close()
    hosts = {urllib.parse.urlsplit(u).hostname for u in requested}
    assert not hosts & {"evil.example", "host"}, hosts  # no beacon fetched
