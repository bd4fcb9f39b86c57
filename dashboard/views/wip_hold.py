"""WIP hold page (placeholder until the hold analysis UI lands).

Why a placeholder: the frame, navigation and tests need every page to exist now; another
engineer replaces this file with the real page, which calls core for current holds and
hold history.
"""

from __future__ import annotations

import streamlit as st

st.title("WIP hold")
st.info(
    "Not built yet. This page will list the lots on hold now, split into quality and "
    "non-quality holds, and show the hold history per shift day (on hold at the end of "
    "the day, new holds, releases, future holds) with released-hold durations in buckets "
    "(<4 h, 4–24 h, 1–3 d, >3 d).",
    icon=":material/construction:",
)
