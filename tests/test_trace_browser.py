"""The Trace page in headless Chromium (the real `streamlit run` server): a link with
machine seeds, selected nodes, a domain tab and timeline lots opened in a fresh context in
English and in 繁體中文 at 1440 and 1024 px (screenshots in artifacts/screenshots/), no
control or button label cut; and a click on a node of the lineage graph (what AppTest
cannot do) selects it, puts it in the URL, scopes the tables, and the link shows the same
in a fresh context."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from tests import test_browser_smoke as smoke
from tests.test_browser_smoke import (  # noqa: F401  (fixtures)
    PAGE_TIMEOUT_MS,
    SHOTS,
    VIEWPORT,
    _settle,
    browser,
    serve,
    tiny_db,
)

MACHINE_LINK = ("?kind=machine&values=DB-005&start=2026-11-01&end=2026-11-10"
                "&direction=forward&domains=history,materials,rejects,holds"
                "&sel=2AEA809E53F0D87C,B52D3053D564119D&tab=materials")
FORWARD_LINK = ("?kind=lot&values=GA26091001-A00-001%0AGA26091001-A00-003"
                "&direction=forward&domains=history,materials")
PORTS = range(8622, 8630)  # this worktree's share of ports; any free one elsewhere


@pytest.fixture(autouse=True)
def _port(monkeypatch: pytest.MonkeyPatch) -> None:
    def free() -> int:
        for port in PORTS:
            with contextlib.suppress(OSError), socket.socket() as s:
                s.bind(("127.0.0.1", port))
                return port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    monkeypatch.setattr(smoke, "_free_port", free)


def _shot(page, name: str, width: int) -> None:
    """The whole page at ``width`` (smoke's _screenshot, which is 1440 px wide)."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(VIEWPORT["height"], height)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})


def _cut_labels(page) -> list[str]:
    """Widget and button labels whose text is wider than their box (cut with an
    ellipsis)."""
    return page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] ' +
            '[data-testid="stMarkdownContainer"], [data-testid="stMain"] button ' +
            '[data-testid="stMarkdownContainer"]')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")


@pytest.mark.parametrize("width", [1440, 1024])
@pytest.mark.parametrize(("lang", "title", "matched", "scope", "tab"), [
    ("en", "Trace", "values matched", "Showing 2 selected lots", "Materials"),
    ("zh-TW", "血緣追溯", "個值中", "2 個已選取的 LOT", "物料"),
])
def test_a_trace_link_in_both_languages(tiny_db: Path, browser, tmp_path: Path,  # noqa: F811
                                        lang: str, title: str, matched: str, scope: str,
                                        tab: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport={**VIEWPORT, "width": width})
        try:
            page = context.new_page()
            page.goto(f"{base}/{MACHINE_LINK}&lang={lang}", wait_until="domcontentloaded")
            _settle(page, title)
            page.get_by_text(matched).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(scope).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(1_500)
            _shot(page, f"trace_{lang}_{width}", width)
            assert page.locator('[data-testid="stException"]').count() == 0
            checked = page.locator('[data-testid="stRadio"] label:has(input:checked)')
            assert any(tab in t for t in checked.all_inner_texts()), checked.all_inner_texts()
            assert page.locator('[data-testid="stPlotlyChart"]').count() == 2  # graph, timeline
            assert not _cut_labels(page), _cut_labels(page)
        finally:
            context.close()


def test_a_click_on_a_node_selects_it_and_the_link_keeps_it(
        tiny_db: Path, browser, tmp_path: Path) -> None:  # noqa: F811
    with serve(f"duckdb:///{tiny_db}", tmp_path / "streamlit.log") as base:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{base}/{FORWARD_LINK}", wait_until="domcontentloaded")
            _settle(page, "Trace")
            page.get_by_text("values matched").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            graph = page.locator('[data-testid="stPlotlyChart"]').first
            graph.locator("g.scatterlayer g.trace g.points path").first.click(force=True)
            page.wait_for_url("**sel=*", timeout=PAGE_TIMEOUT_MS)
            _settle(page, "Trace")
            line = page.get_by_text("selected lot").first
            line.wait_for(timeout=PAGE_TIMEOUT_MS)
            shown = line.inner_text()
            link = page.url
        finally:
            context.close()
        fresh = browser.new_context(viewport=VIEWPORT)
        try:
            page = fresh.new_page()
            page.goto(link, wait_until="domcontentloaded")
            _settle(page, "Trace")
            again = page.get_by_text("selected lot").first
            again.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert again.inner_text() == shown
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            fresh.close()
