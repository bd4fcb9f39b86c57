"""The one pager on the pages (AppTest, tiny demo): the page is in the link, a page beyond
the last shows the last, and turning a page writes the link."""

from __future__ import annotations

from pathlib import Path

from tests.test_app_pages import APP, TIMEOUT_S, app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_holds_page import _page as holds_page
from tests.test_rejects_page import _open as rejects_page


def _one(value: object) -> str:
    return value[0] if isinstance(value, list) else str(value)


def test_reject_detail_page_is_in_the_link_and_clamps_to_the_last(on_tiny: Path) -> None:  # noqa: F811
    at = rejects_page({"run": "1", "start": "2026-09-01", "end": "2026-11-19",
                       "size": "7", "page": "999999"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    pager = at.number_input(key="rj.page")
    total = int(next(c.value for c in at.caption if "reject records" in c.value)
                .split(" ", 1)[0].replace(",", ""))
    last = -(-total // 7)
    assert last > 2 and pager.value == last and _one(at.query_params["page"]) == str(last)
    assert at.number_input(key="rj.size").value == 7
    assert len(next(d.value for d in at.dataframe if "workorder" in d.value.columns)) \
        == total - (last - 1) * 7
    pager.set_value(2).run()
    assert not at.exception
    assert _one(at.query_params["page"]) == "2"
    pager = at.number_input(key="rj.page")
    assert pager.value == 2
    pager.set_value(1).run()
    assert "page" not in at.query_params  # page 1 is the default: left out of the link


def test_lots_on_hold_page_is_in_the_link(on_tiny: Path) -> None:  # noqa: F811
    at = holds_page(lots_page="999", lots_size="1")
    pager = at.number_input(key="wh_lots.page")
    assert pager.value > 1 and _one(at.query_params["lots_page"]) == str(pager.value)
    assert any(f"Rows {pager.value:,}–{pager.value:,} of {pager.value:,}" == c.value
               for c in at.caption), [c.value for c in at.caption]
