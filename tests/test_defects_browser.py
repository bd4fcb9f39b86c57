"""The Defect trace and Containment pages in headless Chromium, in English and 繁體中文 at
1440 px: the suspects view and a containment result are saved as screenshots under
artifacts/screenshots/ for a person to look at; what AppTest cannot do is done here: a
tab click lands in the URL, a suspect card opens the machine context dialog, and no
control label is cut (scrollWidth > clientWidth)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import tests.test_browser_smoke as smoke
from tests.test_browser_smoke import (  # noqa: F401  (fixtures)
    PAGE_TIMEOUT_MS,
    SHOTS,
    VIEWPORT,
    _screenshot,
    _settle,
    browser,
    serve,
    tiny_db,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

RUN = "station=TMTT&start=2026-09-01&end=2026-11-20&run=1"
CONTAIN = "kind=machine&name=DB-003&start=2026-09-01&end=2026-11-20"
WORDS = {
    "en": {"title": "Defect trace", "machines": "Machines", "context": "Machine context",
           "contain": "Containment", "window": "Suspect window", "trend": "Daily trend"},
    "zh-TW": {"title": "不良追溯", "machines": "機台", "context": "機台脈絡",
              "contain": "圍堵", "window": "可疑區間", "trend": "每日趨勢"},
}

CUT_LABELS = """() => [...document.querySelectorAll(
    '[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *, '
    + '[data-testid="stWidgetLabel"] *, button[role="tab"] *, button *')]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText)"""


@pytest.fixture(autouse=True)
def port(monkeypatch: pytest.MonkeyPatch) -> None:
    """MES_TEST_PORT (a port set aside for this run) instead of any free port."""
    if os.environ.get("MES_TEST_PORT"):
        monkeypatch.setattr(smoke, "_free_port", lambda: int(os.environ["MES_TEST_PORT"]))


def _clean(page: Page, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, (name, exceptions.all_inner_texts())
    cut = page.evaluate(CUT_LABELS)
    assert not cut, (name, cut)


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_suspects_and_containment_in_chromium(
    tiny_db: Path, browser: Browser, tmp_path: Path, lang: str,  # noqa: F811
) -> None:
    words = WORDS[lang]
    suffix = "en" if lang == "en" else "zh_tw"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/defect_trace?{RUN}&lang={lang}", wait_until="domcontentloaded")
            _settle(page, words["title"])
            page.get_by_text(words["window"]).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            _settle(page, words["title"])
            _clean(page, "suspects")
            _screenshot(page, f"defects_suspects_{suffix}")
            # a suspect card opens the machine context as a dialog, its name in the link
            page.get_by_role("button", name=words["context"]).first.click()
            dialog = page.get_by_role("dialog")
            dialog.wait_for(timeout=PAGE_TIMEOUT_MS)
            dialog.locator('[data-testid="stPlotlyChart"]').first.wait_for(
                timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(1_500)
            assert "machine=" in page.url
            page.screenshot(path=str(SHOTS / f"defects_machine_context_{suffix}.png"))
            page.keyboard.press("Escape")
            dialog.wait_for(state="detached", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(1_000)
            assert "machine=" not in page.url
            # a tab click lands in the link (a stable id, whatever the language)
            page.get_by_role("tab", name=words["machines"], exact=True).first.click()
            page.wait_for_function("() => location.search.includes('tab=machine')",
                                   timeout=PAGE_TIMEOUT_MS)
            page.get_by_role("tab", name=words["trend"], exact=True).first.click()
            page.wait_for_function("() => location.search.includes('tab=trend')",
                                   timeout=PAGE_TIMEOUT_MS)
            _settle(page, words["title"])
            _screenshot(page, f"defects_trend_{suffix}")
            # a containment result
            page.goto(f"{base}/containment?{CONTAIN}&lang={lang}",
                      wait_until="domcontentloaded")
            _settle(page, words["contain"])
            page.locator('[data-testid="stMetric"]').first.wait_for(timeout=PAGE_TIMEOUT_MS)
            _settle(page, words["contain"])
            _clean(page, "containment")
            _screenshot(page, f"containment_{suffix}")
            # at 1024 px nothing is cut either (the KPI cards wrap)
            page.set_viewport_size({"width": 1024, "height": 900})
            page.wait_for_timeout(1_500)
            _clean(page, "containment at 1024 px")
            page.goto(f"{base}/defect_trace?{RUN}&lang={lang}", wait_until="domcontentloaded")
            _settle(page, words["title"])
            page.locator('[data-testid="stMetric"]').first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(1_500)
            _clean(page, "suspects at 1024 px")
        finally:
            context.close()


def test_a_bar_and_a_row_open_the_machine_context_in_chromium(
    tiny_db: Path, browser: Browser, tmp_path: Path,  # noqa: F811
) -> None:
    """The clicks AppTest cannot make: a bar of the machines' chart and a row of their
    table each open the context dialog (its machine in the link); Escape closes it and
    the link forgets it, and the selection left behind does not reopen it."""
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/defect_trace?{RUN}&tab=machine", wait_until="domcontentloaded")
            _settle(page, "Defect trace")
            chart = page.locator('[data-testid="stPlotlyChart"]:visible').first
            chart.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(1_000)
            chart.locator("g.point path").first.click(force=True)
            dialog = page.get_by_role("dialog")
            dialog.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "machine=" in page.url and "Machine context: " in dialog.inner_text()
            page.keyboard.press("Escape")
            dialog.wait_for(state="detached", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(2_000)
            assert "machine=" not in page.url and page.get_by_role("dialog").count() == 0
            grid = page.locator('[data-testid="stDataFrame"]:visible').first
            grid.scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            box = grid.bounding_box()
            assert box is not None
            # the third row's selection cell (header 38 px, rows 35 px: tables.show)
            page.mouse.click(box["x"] + 18, box["y"] + 38 + 35 * 2 + 17)
            dialog.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "machine=" in page.url
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            context.close()


def test_a_shared_link_opens_the_same_tab_and_sort_in_a_fresh_context(
    tiny_db: Path, browser: Browser, tmp_path: Path,  # noqa: F811
) -> None:
    """Issue 19: the tab and the sort a user set travel in the link: a new browser (no
    session, no history) opened on it shows that tab selected and that sort chosen, and
    the same suspects table as the session that made the link."""
    link = f"defect_trace?{RUN}&tab=machine&sort=rate"
    shown: list[str] = []
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        for _visit in range(2):
            context = browser.new_context(viewport=VIEWPORT)
            try:
                page = context.new_page()
                page.goto(f"{base}/{link}", wait_until="domcontentloaded")
                _settle(page, WORDS["en"]["title"])
                page.locator('[data-testid="stMetric"]').first.wait_for(
                    timeout=PAGE_TIMEOUT_MS)
                _settle(page, WORDS["en"]["title"])
                tab = page.get_by_role("tab", name=WORDS["en"]["machines"], exact=True).first
                assert tab.get_attribute("aria-selected") == "true"
                panel = page.locator('[role="tabpanel"]:visible').first
                assert panel.get_by_role("radio", name="Defect rate").first.is_checked()
                shown.append(panel.inner_text())
            finally:
                context.close()
    assert shown[0] == shown[1]
