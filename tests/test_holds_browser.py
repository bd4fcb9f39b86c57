"""WIP hold and Reject history in headless Chromium (issues 17 and 19): the real server
and browser, where a control's shown value is the browser's own.

- Reset filters: after Quality → Reset, the browser shows All, the URL has no type and
  the count is the unfiltered one; switching to Hold history keeps All (the old reset left
  Quality on screen and sent it back with the next click).
- A link restores what it names in a fresh browser context (view, hold type, matrix
  measure; reject toggles, Pareto dimension and measure).
- Both pages in en and zh-TW at 1024 and 1440 px: no label cut (an element with
  text-overflow: ellipsis or hidden overflow whose scrollWidth exceeds its clientWidth,
  charts and tables aside), no exception; screenshots under artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests import test_browser_smoke as smoke
from tests.test_browser_smoke import (  # noqa: F401
    CHROMIUM_ARGS,
    SHOTS,
    browser,
    serve,
    tiny_db,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000
CUT_JS = """
() => {
  const out = [];
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('.js-plotly-plot, [data-testid="stDataFrame"], '
                   + '[data-testid="stExpanderDetails"]')) continue;
    if (!el.innerText || el.children.length > 3 || el.clientWidth === 0) continue;
    const cs = getComputedStyle(el);
    const clips = cs.textOverflow === 'ellipsis' || cs.overflow === 'hidden'
                  || cs.overflowX === 'hidden';
    if (clips && el.scrollWidth > el.clientWidth + 1) out.push(el.innerText.slice(0, 60));
  }
  return out;
}
"""
LONG_REASON = "大中/安波幅50pcs樣品留樣(PD)"
VIEWS = {  # name: (path and query, title in en, title in zh-TW)
    "wip_hold_live": ("wip_hold?", "WIP hold", "WIP Hold"),
    "wip_hold_history": ("wip_hold?view=history&start=2026-10-01&end=2026-11-21&",
                         "WIP hold", "WIP Hold"),
    "reject_history": ("reject_history?run=1&start=2026-09-01&end=2026-11-19&",
                       "Reject history", "報廢紀錄"),
    # long filter chips (the demo's longest hold reason, 19 characters)
    "wip_hold_filtered": (f"wip_hold?reason={quote(LONG_REASON)}&", "WIP hold", "WIP Hold"),
    "wip_hold_history_filtered": (
        f"wip_hold?view=history&start=2026-10-01&end=2026-11-21&hreason={quote(LONG_REASON)}&",
        "WIP hold", "WIP Hold"),
    "reject_history_filtered": (
        "reject_history?run=1&start=2026-09-01&end=2026-11-19&f_reason=231_WIRE_BREAK&"
        "f_station_group=TMTT&", "Reject history", "報廢紀錄"),
}


@pytest.fixture(scope="module")
def base(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
         ) -> Iterator[str]:
    """One server for the module (MESDASH_TEST_PORT pins its port, e.g. a port a
    developer was given; else a free one)."""
    port = os.environ.get("MESDASH_TEST_PORT")
    original = smoke._free_port
    if port:
        smoke._free_port = lambda: int(port)  # type: ignore[assignment]
    try:
        log = tmp_path_factory.mktemp("holds_browser") / "streamlit.log"
        with serve(f"duckdb:///{tiny_db}", log) as url:
            yield url
    finally:
        smoke._free_port = original  # type: ignore[assignment]



def settle(page: Page, title: str) -> None:
    page.locator("h1", has_text=title).first.wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                            timeout=TIMEOUT_MS)
    page.wait_for_timeout(1_500)


def checked(page: Page, text: str) -> bool:
    button = page.locator('[data-testid="stButtonGroup"] button', has_text=text).first
    return button.get_attribute("aria-checked") == "true"


def click_option(page: Page, text: str) -> None:
    page.locator('[data-testid="stButtonGroup"] button', has_text=re.compile(f"^{text}$")
                 ).first.click()
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                            timeout=TIMEOUT_MS)
    page.wait_for_timeout(1_000)


def metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def query(page: Page) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)


def test_reset_in_the_browser(base: str, browser: Browser) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{base}/wip_hold", wait_until="domcontentloaded")
        settle(page, "WIP hold")
        all_lots = metric(page, "Lots on hold (live snapshot)")
        click_option(page, "Quality")
        assert checked(page, "Quality") and query(page)["type"] == ["quality"]
        quality_lots = metric(page, "Lots on hold (live snapshot)")
        assert quality_lots != all_lots
        page.get_by_role("button", name="Reset filters").click()
        page.wait_for_timeout(1_500)
        assert checked(page, "All") and not checked(page, "Quality")
        assert "type" not in query(page)
        assert metric(page, "Lots on hold (live snapshot)") == all_lots
        click_option(page, "Hold history")
        page.locator('[data-testid="stMetric"]', has_text="hold history").first.wait_for(
            timeout=TIMEOUT_MS)
        assert checked(page, "All") and "type" not in query(page)
        click_option(page, "Live holds")
        assert checked(page, "All") and "type" not in query(page)
        assert metric(page, "Lots on hold (live snapshot)") == all_lots
    finally:
        context.close()


def test_links_restore_in_a_fresh_context(base: str, browser: Browser) -> None:  # noqa: F811
    for path, title, expect in (
        ("wip_hold?type=non-quality&matrix=lots", "WIP hold", ("Non-quality", "LOT")),
        ("wip_hold?view=history&start=2026-10-01&end=2026-11-21&grain=week&record=released",
         "WIP hold", ("Hold history", "Week", "Released")),
        ("reject_history?run=1&start=2026-09-01&end=2026-11-19&measure=defect&grain=month",
         "Reject history", ("Uncharged defect", "Month")),
    ):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        try:
            page = context.new_page()
            page.goto(f"{base}/{path}", wait_until="domcontentloaded")
            settle(page, title)
            for text in expect:
                assert checked(page, text), (path, text)
        finally:
            context.close()


@pytest.mark.parametrize("width", [1024, 1440])
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_no_label_is_cut(base: str, browser: Browser, lang: str, width: int) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 1000})
    cut: dict[str, Any] = {}
    try:
        page = context.new_page()
        for name, (path, en, zh) in VIEWS.items():
            page.goto(f"{base}/{path}lang={lang}", wait_until="domcontentloaded")
            settle(page, zh if lang == "zh-TW" else en)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            if found := page.evaluate(CUT_JS):
                cut[name] = found
            tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                                 ".scrollHeight")
            page.set_viewport_size({"width": width, "height": max(1000, min(tall, 9000))})
            page.wait_for_timeout(800)
            page.screenshot(path=str(SHOTS / f"{name}_{lang}_{width}.png"), full_page=True)
            page.set_viewport_size({"width": width, "height": 1000})
    finally:
        context.close()
    assert not cut, cut
