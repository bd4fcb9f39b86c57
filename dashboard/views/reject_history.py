"""Reject history page (placeholder until the reject history UI lands).

Why a placeholder: the frame, navigation and tests need every page to exist now; another
engineer replaces this file with the real page, which calls core on the slow lane.
"""

from __future__ import annotations

import streamlit as st

st.title("Reject history")
st.info(
    "Not built yet. This page will show charged scrap and uncharged defects over a date "
    "range by day, station, machine, package and reason code, with reject and defect "
    "rates on a move-in counted once per reject event, pareto charts with a top-80% view, "
    "and visible toggles for the default exclusion policy.",
    icon=":material/construction:",
)
