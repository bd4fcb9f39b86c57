"""Trace page (placeholder until the trace UI lands).

Why a placeholder: the frame, navigation and tests need every page to exist now; another
engineer replaces this file with the real page, which calls core.trace on the slow lane.
"""

from __future__ import annotations

import streamlit as st

st.title("Trace")
st.info(
    "Not built yet. This page will trace lot genealogy backward (every ancestor: wafer "
    "lots, splits, merges, rework) and forward (every descendant, down to finished serial "
    "numbers) from a list of lots, wafer lots, work orders or serials, and show the "
    "lineage with each container's events (steps, machines, materials, rejects, holds).",
    icon=":material/construction:",
)
