"""KPI cards that wrap instead of being cut: a row of cards, each as wide as its label
and number need, that flows onto more rows when the page is narrow.

Why: five st.columns of KPI cards fit at 1440 px, but at 1024 px (with the sidebar open)
each column is about 110 px wide and the cards cut their labels and even their numbers
("偵測站投…", "6,40…", issue 17 item 5). Here each card is given the width of its label
(CJK characters count double) or of its number, whichever is wider, and the row wraps.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import streamlit as st

LABEL_PX = 7.6
"""Width of a Latin character of a card's label (14 px font); a wide (CJK) one counts 2."""
VALUE_PX = 21.0
"""Width of a character of a card's number (2.25 rem font)."""
HELP_PX = 34
"""The help icon and the gap before it."""
MIN_PX = 120


def card_width(label: str, value: str) -> int:
    """Pixels a card needs to show ``label`` and ``value`` whole."""
    units = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)
    return int(max(MIN_PX, units * LABEL_PX + HELP_PX, len(value) * VALUE_PX)) + 8


class _Slot:
    """One card's place in the row: ``slot.metric(label, value, help=...)``."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def metric(self, label: str, value: str, *, help: str | None = None) -> None:
        self._row.metric(label, value, help=help, width=card_width(label, value))


def kpi_slots(n: int) -> list[_Slot]:
    """``n`` places for KPI cards in one row that wraps."""
    row = st.container(horizontal=True, gap="medium")
    return [_Slot(row) for _ in range(n)]
