"""Every page in both languages at 1024 and 1440 px in headless Chromium: screenshots,
no cut control label, and the not-found page of an unknown path (issues 17 and 19).

Why a browser: whether a label fits is decided by fonts and layout, which only a browser
computes. A label is cut when its text is wider than its box (``scrollWidth >
clientWidth``): Streamlit then ends it with "…" and the user cannot read the option.
The pages come from tests/test_browser_smoke.PAGES (one list for every browser test);
screenshots go to artifacts/screenshots/i18n_<page>_<lang>_<width>.png for a person.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_browser_smoke import (
    PAGE_TIMEOUT_MS,
    PAGES,
    SETTLE_MS,
    SHOTS,
    browser,  # noqa: F401 (fixture)
    serve,
    tiny_db,  # noqa: F401 (fixture)
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WIDTHS = (1024, 1440)
EVERY_PAGE = [*PAGES, *[p for p in [("containment", "Containment", "containment")]
                        if p[0] not in {q[0] for q in PAGES}]]
"""The smoke test's pages, plus any page it leaves out (Containment opens on its form)."""
LANGS = {"en": "Data as of", "zh-TW": "資料時間"}
"""Each language and a text the frame's sidebar shows in it once the page has run."""

# Text Streamlit ends with "…" when it does not fit: widget labels (their markdown box has
# text-overflow: ellipsis), metric labels and values, tab and button captions. Cut when the
# text is wider than the box. Dataframe cells are drawn on a canvas and not checked here.
CUT_LABELS_JS = """() => {
  const out = [];
  const roots = ['[data-testid="stMain"]', '[data-testid="stSidebar"]']
    .map(s => document.querySelector(s)).filter(Boolean);
  for (const root of roots) {
    for (const el of root.querySelectorAll('*')) {
      if (!el.offsetParent || !el.innerText || !el.innerText.trim()) continue;
      const style = getComputedStyle(el);
      if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) {
        out.push(el.innerText.trim().slice(0, 80));
      }
    }
  }
  return out;
}"""


def _wait_ready(page: Page, marker: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(marker).first.wait_for(
        timeout=PAGE_TIMEOUT_MS)
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                            timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)


def _shot(page: Page, name: str, width: int) -> None:
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebar"]']
            .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": width, "height": max(900, height)})
    page.wait_for_timeout(SETTLE_MS // 3)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def _url(base: str, path: str, lang: str) -> str:
    return f"{base}/{path}{'&' if '?' in path else '?'}lang={lang}"


def test_every_page_in_both_languages_at_both_widths(tiny_db: Path, browser: Browser,  # noqa: F811
                                                     tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    cut: dict[str, list[str]] = {}
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            try:
                page = context.new_page()
                for lang, marker in LANGS.items():
                    for path, _title, name in EVERY_PAGE:
                        page.goto(_url(base, path, lang), wait_until="domcontentloaded")
                        _wait_ready(page, marker)
                        shot = f"i18n_{name}_{lang}_{width}"
                        _shot(page, shot, width)
                        exceptions = page.locator('[data-testid="stException"]')
                        assert exceptions.count() == 0, (shot, exceptions.all_inner_texts())
                        labels = page.evaluate(CUT_LABELS_JS)
                        if labels:
                            cut[shot] = labels
            finally:
                context.close()
    assert not cut, f"cut labels: {cut}"


def test_an_unknown_path_says_so_and_links_every_page(tiny_db: Path, browser: Browser,  # noqa: F811
                                                      tmp_path: Path) -> None:
    """/nonexistent: a "Page not found" page with a link per page, the address kept and no
    Streamlit dialog; a link opens its page; the /trace alias still forwards."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        try:
            page = context.new_page()
            page.goto(f"{base}/nonexistent", wait_until="domcontentloaded")
            _wait_ready(page, "Data as of")
            main = page.locator('[data-testid="stMain"]')
            main.get_by_text("Page not found").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "/nonexistent does not exist" in main.inner_text()
            assert page.locator('[role="dialog"]').count() == 0
            assert page.url.split("?")[0].endswith("/nonexistent"), page.url
            links = main.locator('[data-testid="stPageLink"]')
            assert links.count() == 6, main.inner_text()
            _shot(page, "not_found_en_1024", 1024)
            page.goto(f"{base}/nonexistent?lang=zh-TW", wait_until="domcontentloaded")
            _wait_ready(page, "資料時間")
            main.get_by_text("找不到頁面").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            _shot(page, "not_found_zh-TW_1024", 1024)
            main.locator('[data-testid="stPageLink"]').filter(has_text="系統").first.click()
            page.wait_for_url("**/system*", timeout=PAGE_TIMEOUT_MS)
            _wait_ready(page, "資料時間")
            assert page.locator("h1", has_text="系統").count() == 1
            page.goto(f"{base}/trace?kind=lot&values=GA%2A", wait_until="domcontentloaded")
            _wait_ready(page, "Data as of")
            assert "Page not found" not in page.locator('[data-testid="stMain"]').inner_text()
        finally:
            context.close()
