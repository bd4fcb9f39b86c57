"""The completeness banner: one way every page says a result is partial or truncated.

Why: a record from core.completeness carries the status and, in words, why (which
batches failed, which bound cut it, which input it was derived from); pages show that
reason as it is, so a derived result (jobs from history, the defect analysis from its
events) is never shown as complete beside a partial input. UI only: no rule in here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.completeness import status_text
from core.i18n import _
from core.text import md_escape

ERROR_CHARS = 160
"""How much of the first failed batch's database error a banner quotes."""


def status_mark(record: Mapping[str, Any] | None) -> str:
    """" · partial" / " · truncated" for a tab or a label; "" when complete."""
    status = (record or {}).get("status") or "complete"
    return "" if status == "complete" else f" · {status_text(status)}"


def completeness_banner(record: Mapping[str, Any] | None, what: str, *,
                        complete: str | None = None, consequence: str = "") -> None:
    """``what``'s record as a banner: partial an error, truncated a warning, complete the
    caption ``complete`` (nothing when None). ``consequence``: what it means for the
    numbers shown beside it."""
    record = record or {}
    status = record.get("status") or "complete"
    if status == "complete":
        if complete:
            st.caption(complete)
        return
    # the reason and the error quote ids, names and database text: shown literally
    word = status_text(status)
    text = f"**{what}: {word}** — {md_escape(record.get('reason') or word)}."
    failed = record.get("failed_batches") or []
    if failed:
        error = str(failed[0].get("error", ""))
        text += " " + _("First error: {error}").format(
            error=md_escape(error[:ERROR_CHARS]) + ("…" if len(error) > ERROR_CHARS else "")
        ) + "."
    if consequence:
        text += f" {consequence}"
    if status == "partial":
        st.error(text, icon=":material/report:")
    else:
        st.warning(text, icon=":material/content_cut:")
