"""Lots on hold now from two sources, compared: the live snapshot and the hold history.

Why: a new user saw 48 lots on hold in the live view and 50 in the hold history and had
no way to tell which was right. Both are right about different things: the live snapshot
(dw_mes_lot_v) is authoritative for now and counts held WIP lots (not on a machine, with
a work order, no DUMMY lots); the hold history (dw_mes_holdreleasehistory) counts lots
with a hold not released at its as-of time. So wherever both appear they carry their
source, and a difference is explained by the lots in one and not in the other (lot
name, which source has it, reason, station). The page and the CLI only show this result.

The comparison applies the same hold type and hold reasons to both sides (each side's
own reason: the snapshot's current reason, the history's open holds' reasons). It is made
only when the history's as-of time is the live snapshot's time; otherwise ``comparable``
is False and ``note`` says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from core import fmt
from core.holds import current
from core.holds import history as hist
from core.i18n import N_, _

LIVE = "live snapshot"
HISTORY = "hold history"
SOURCES = {LIVE: "dw_mes_lot_v", HISTORY: "dw_mes_holdreleasehistory"}
SOURCE_LABELS = {LIVE: N_("live snapshot"), HISTORY: N_("hold history")}
"""How a page names each source (with ``_()``); the CLI's JSON keeps LIVE and HISTORY."""
DIFF_COLUMNS = ["lot", "containerid", "source", "reason", "station", "qty"]


@dataclass(frozen=True)
class OnHoldComparison:
    """Lots on hold now by source, and the lots only one source has."""

    live_lots: int | None
    live_qty: int | None
    live_as_of: datetime | None
    history_lots: int
    history_qty: int
    history_as_of: datetime
    comparable: bool
    note: str | None
    differing: pd.DataFrame  # DIFF_COLUMNS, one row per lot in one source only

    @property
    def only_live(self) -> int:
        return int((self.differing["source"] == LIVE).sum())

    @property
    def only_history(self) -> int:
        return int((self.differing["source"] == HISTORY).sum())

    def as_dict(self) -> dict[str, Any]:
        """The CLI's JSON: both counts with their source, and the differing lots."""
        rows = [{k: (None if pd.isna(v) else v) for k, v in r.items()}
                for r in self.differing.to_dict("records")]
        return {
            "comparable": self.comparable,
            "note": self.note,
            "live": {"source": LIVE, "table": SOURCES[LIVE], "as_of": self.live_as_of,
                     "lots": self.live_lots, "qty": self.live_qty},
            "history": {"source": HISTORY, "table": SOURCES[HISTORY],
                        "as_of": self.history_as_of, "lots": self.history_lots,
                        "qty": self.history_qty},
            "only_live": self.only_live,
            "only_history": self.only_history,
            "differing_lots": rows,
        }


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in DIFF_COLUMNS})


def compare(live_lots: pd.DataFrame | None, snapshot: datetime | None,
            view: hist.HistoryView, f: hist.HistoryFilter) -> OnHoldComparison:
    """Compare the snapshot's held lots (``current.load_held_lots``) with the history's open
    lots under ``f``'s hold type and reasons (its record type, day and buckets are not
    used)."""
    flt = hist.HistoryFilter(hold_type=f.hold_type, reasons=f.reasons)
    opened = view.open_lots(flt)
    h_as_of = view.h.as_of
    h_lots, h_qty = len(opened), int(opened["qty"].sum())
    if live_lots is None or snapshot is None:
        return OnHoldComparison(None, None, snapshot, h_lots, h_qty, h_as_of, False,
                                _("The live snapshot is empty: nothing to compare with."),
                                _empty())
    held = current.apply_filter(live_lots, current.LiveFilter(hold_type=f.hold_type,
                                                        reasons=f.reasons))
    k = current.kpis(held)
    if h_as_of != snapshot:
        note = _("The hold history is as of {history}, the live snapshot of {live}: they "
                 "describe different times. Choose a range ending on the snapshot's shift "
                 "day to compare them.").format(history=fmt.datetime(h_as_of, seconds=False),
                                                live=fmt.datetime(snapshot, seconds=False))
        return OnHoldComparison(k["lots"], k["qty"], snapshot, h_lots, h_qty, h_as_of,
                                False, note, _empty())
    lv = held.groupby("containerid", sort=True).agg(
        lot=("lotid", "first"), reason=("reason", lambda s: "; ".join(sorted(set(s)))),
        station=("workcentername", "first"), group=("station_group", "first"),
        qty=("qty", "first")).reset_index()
    lv["station"] = lv["station"].fillna(lv["group"])
    only_live = lv[~lv["containerid"].isin(opened["containerid"])].assign(source=LIVE)
    only_hist = opened[~opened["containerid"].isin(lv["containerid"])].assign(
        source=HISTORY)
    only_hist = only_hist.assign(lot=only_hist["lot"].fillna(only_hist["containerid"]))
    diff = pd.concat([only_live[DIFF_COLUMNS], only_hist[DIFF_COLUMNS]], ignore_index=True)
    diff = diff.sort_values(["source", "lot"], kind="stable").reset_index(drop=True)
    diff["qty"] = diff["qty"].astype("int64")
    return OnHoldComparison(k["lots"], k["qty"], snapshot, h_lots, h_qty, h_as_of, True,
                            None, diff if len(diff) else _empty())
