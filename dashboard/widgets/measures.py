"""The "Measures on this page" help: a page's part of core/glossary.py, one call per page.

Why: a number someone pastes into a report should say what it counts; every data page
ends with the definitions and formulas of the measures it shows, the same table README's
glossary and `mesdash glossary` print.
"""

from __future__ import annotations

import streamlit as st

from core import glossary, i18n
from core.i18n import _


def measures_help(page: str) -> None:
    """An expander with the glossary rows of ``page`` (defects, rejects, holds, trace,
    contain). The table is the product's own text, never data."""
    with st.expander(_("Measures on this page"), icon=":material/menu_book:"):
        st.markdown(glossary.page_table(page, i18n.current()))
