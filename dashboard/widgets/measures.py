"""The "Measures on this page" help: a page's part of core/glossary.py, one call per page.

Why: a number someone pastes into a report should say what it counts; every data page
ends with the definitions and formulas of the measures it shows, the same table README's
glossary and `mesdash glossary` print.
"""

from __future__ import annotations

import streamlit as st

from core import glossary


def measures_help(page: str) -> None:
    """An expander with the glossary rows of ``page`` (defects, rejects, holds, trace,
    contain). The table is the product's own text, never data."""
    with st.expander("Measures on this page", icon=":material/menu_book:"):
        st.markdown(glossary.markdown_table(page))
