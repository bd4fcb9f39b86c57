"""Defect trace page (placeholder until the mid-section defect analysis UI lands).

Why a placeholder: the frame, navigation and tests need every page to exist now; another
engineer replaces this file with the real page, which calls core on the slow lane.
"""

from __future__ import annotations

import streamlit as st

st.title("Defect trace")
st.info(
    "Not built yet. Starting from a detection station (usually TMTT) and a date range, "
    "this page will rank upstream machines, materials and wafer lots by the defect rate of "
    "the lots exposed to them against the lots that were not, and follow defective lots "
    "forward to their downstream rejects.",
    icon=":material/construction:",
)
