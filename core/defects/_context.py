"""A machine's context on the defect trace: its lots and their defects over time.

Why: issue 16 asks that a machine's context (its lots, defects over time, maintenance
jobs) be one click from any chart or table of the defect trace that shows machines. The
backward analysis has each machine's exposed lots already (``BackwardResult.exposed_lots``
and ``suspect_window``); the forward analysis keeps, per later machine, the descendants
that entered it and their rejects there (``machine_lots``). This module reads one
machine's rows of the latter and sums them per day, and splits the lot detail's list of
upstream machines, so the page neither parses nor computes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

LIST_SEPARATOR = "; "
"""How the lot detail joins a lot's upstream machines (``BackwardResult.lot_detail``)."""


def lot_machines(text: Any) -> list[str]:
    """The upstream machines ("station group / machine") of one lot detail row."""
    if not isinstance(text, str) or not text:
        return []
    return [m for m in (p.strip() for p in text.split(LIST_SEPARATOR)) if m]


def machine_name(factor: str) -> str:
    """The machine of a factor: "焊接_DB / DB-003" -> "DB-003" (a bare name unchanged)."""
    return str(factor).rpartition(" / ")[2]


def forward_machine_lots(forward: dict[str, Any] | None, machine: str) -> pd.DataFrame:
    """The descendants that entered later machine ``machine`` (first track-in ``when``,
    the qty they brought, their rejects there), in time order."""
    table = (forward or {}).get("machine_lots")
    cols = ["containerid", "containername", "when", "input", "rejects", "uncharged"]
    if not isinstance(table, pa.Table):
        return pd.DataFrame(columns=cols)
    rows = table.filter(pc.equal(table["machine"], machine)).select(cols)
    return rows.to_pandas()


def forward_machine_days(lots: pd.DataFrame) -> pd.DataFrame:
    """Per day (of the first track-in on the machine): lots, input, rejects, uncharged and
    the reject rate (charged rejects / input; null without input)."""
    cols = ["day", "lots", "input", "rejects", "uncharged", "rate"]
    timed = lots[lots["when"].notna()]
    if timed.empty:
        return pd.DataFrame(columns=cols)
    day = pd.to_datetime(timed["when"]).dt.date
    out = (timed.assign(day=day).groupby("day", sort=True)
           .agg(lots=("containerid", "nunique"), input=("input", "sum"),
                rejects=("rejects", "sum"), uncharged=("uncharged", "sum"))
           .reset_index())
    out["rate"] = out["rejects"] / out["input"].where(out["input"] > 0)
    return out[cols]
