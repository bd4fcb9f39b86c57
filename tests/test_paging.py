"""core.paging: a page asked for by a link becomes a valid page (hand-computed)."""

from __future__ import annotations

import pytest

from core.paging import clamp_page, page_count, page_size


@pytest.mark.parametrize(("asked", "total", "size", "number", "pages"), [
    ("3", 120, 50, 3, 3),        # the last page, partly full
    ("4", 120, 50, 3, 3),        # beyond the last: the last
    ("99999999999", 120, 50, 3, 3),
    ("0", 120, 50, 1, 3), ("-2", 120, 50, 1, 3),
    ("abc", 120, 50, 1, 3), ("", 120, 50, 1, 3), (None, 120, 50, 1, 3), ("1e309", 10, 5, 1, 2),
    ("2", 0, 50, 1, 1),          # an empty table has one empty page
    ("2", 100, 50, 2, 2),        # exactly full
])
def test_the_page_shown(asked: object, total: int, size: int, number: int, pages: int) -> None:
    shown = clamp_page(asked, total, size)
    assert (shown.number, shown.pages) == (number, pages)
    assert shown.offset == (number - 1) * size


def test_rows_of_a_page() -> None:
    shown = clamp_page("3", 120, 50)
    assert (shown.first_row, shown.last_row) == (101, 120)
    empty = clamp_page("1", 0, 50)
    assert (empty.first_row, empty.last_row) == (0, 0)


def test_page_size_is_clamped_and_nonsense_is_the_default() -> None:
    assert page_size("20", 50, 200) == 20
    assert page_size("5000", 50, 200) == 200
    assert page_size("0", 50, 200) == 1
    assert page_size("x", 50, 200) == 50 and page_size(None, 50, 200) == 50
    assert page_count(101, 50) == 3 and page_count(0, 50) == 1
