"""A row of KPI cards that never cuts a label or a value, each with its help text.

Why: pages put five ``st.metric`` in ``st.columns(5)``; at 1024 px each column is about
130 px wide and Streamlit cut the labels ("Count reasons not sha…", "Defect rate (…").
Here the cards sit in a horizontal container that wraps: a card is as wide as its label
and value need, and when the row does not fit the page,
the next card goes to a new line instead of being squeezed. A card whose label is a
measure of core/glossary.py takes its label (with unit) and its help (definition and
formula) from there, in the current language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from core import glossary


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str  # formatted already (core.fmt)
    help: str | None = None
    delta: str | None = None
    delta_color: str = "normal"


def measure_kpi(key: str, value: str, *, delta: str | None = None,
                delta_color: str = "normal") -> Kpi:
    """A card for the glossary measure ``key``: its label (current language, with unit)
    and its definition and formula as help."""
    return Kpi(glossary.label(key), value, glossary.help_text(key), delta, delta_color)


def kpi_row(items: Sequence[Kpi], *, border: bool = True) -> None:
    """``items`` as cards in one wrapping row (labels and values never truncated)."""
    with st.container(horizontal=True, gap="small"):
        for k in items:
            st.metric(k.label, k.value, delta=k.delta, delta_color=k.delta_color,  # type: ignore[arg-type]
                      help=k.help, border=border, width="content")
