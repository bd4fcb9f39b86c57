"""Paging arithmetic every paged table shares: a page asked for (from a link, so any
text) becomes a valid page of the rows there are.

Why one home: four pages paged four ways (one clamped a page past the end, one did not,
one read it from the link, three kept it in the session only). The rule is: a page is a
whole number from 1; anything else (empty, text, 0, negative) is page 1; a page beyond
the last is the last; an empty table has one (empty) page. The page size is a whole
number clamped to 1..settings.page_size_max; not a number, it is the default size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSlice:
    """Page ``number`` of ``pages`` (1-based), ``size`` rows from row ``offset``."""

    number: int
    pages: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        """1-based number of the page's first row (0 when there are none)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)


def parse_whole(text: object, default: int) -> int:
    """A whole number from a link's text; ``default`` when it is not one."""
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return default
    return value


def page_size(text: object, default: int, maximum: int) -> int:
    """The rows per page a link asks for, clamped to 1..maximum (``default`` when it is
    not a whole number)."""
    return min(max(parse_whole(text, default), 1), maximum)


def page_count(total: int, size: int) -> int:
    """Pages of ``size`` rows that hold ``total`` rows (at least one)."""
    return max(1, math.ceil(max(total, 0) / max(size, 1)))


def clamp_page(asked: object, total: int, size: int) -> PageSlice:
    """The page shown when ``asked`` is asked for: 1 for nonsense, the last beyond it."""
    pages = page_count(total, size)
    number = parse_whole(asked, 1)
    return PageSlice(min(max(number, 1), pages), pages, size, total)
