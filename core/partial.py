"""What an incomplete result is missing, in words: which part, which batches, which limit.

Why: a trace or a defect trace can finish with a part cut by a limit (``truncated``) or
with IN-list batches that failed (``partial``). Pages show banners; the command line and
the analysis summary had only "see the banners", which names nothing where there are no
banners. Every completeness record (``{"status", "failed_batches", "limit"}``, as the
trace domains and the lineage write it) is put into words here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHOWN_BATCHES = 5  # failed batches named one by one; the rest are counted


def describe(name: str, completeness: Mapping[str, Any] | None) -> str | None:
    """One sentence on what ``name`` is missing, or None when it is complete."""
    c = completeness or {}
    status = c.get("status")
    if status in (None, "complete"):
        return None
    if status == "truncated":
        limit = c.get("limit") or "a limit"
        return f"{name}: truncated by {limit}; what lies beyond it is left out."
    failed = list(c.get("failed_batches") or [])
    if status == "partial" and failed:
        ids = sum(int(f.get("ids") or 0) for f in failed)
        shown = "; ".join(_batch(f) for f in failed[:SHOWN_BATCHES])
        more = len(failed) - SHOWN_BATCHES
        rest = f"; and {more} more batch{'es' if more > 1 else ''}" if more > 0 else ""
        return (f"{name}: partial, {len(failed)} batch{'es' if len(failed) > 1 else ''} of "
                f"{ids:,} containers failed and their rows are missing ({shown}{rest}).")
    return f"{name}: {status}."


def describe_all(completeness: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """A sentence for every incomplete part, in the record's order."""
    return [s for name, c in completeness.items() if (s := describe(name, c))]


def _batch(failed: Mapping[str, Any]) -> str:
    error = str(failed.get("error") or "").strip().splitlines()
    why = f": {error[0][:120]}" if error else ""
    return f"ids {failed.get('first_id')}…{failed.get('last_id')}{why}"
