"""`mesdash holds` (the live hold picture) and `mesdash hold-history` (a range of holds).

Same core as the WIP hold page: ``holds`` reads the live snapshot on the realtime lane
(KPIs, station group × package matrix in qty or lots, reason pareto, days-at-station
buckets, WIP summary); ``hold-history`` loads a range of shift days once on the slow lane
and prints the KPIs, the trend per day, week or month (partial periods marked), the
reason pareto, the duration buckets and "on hold now" from both sources with the lots
that differ (core.holds.reconcile). Bad input (hold type, dates, range, period, matrix
measure) is a UsageError (exit code 1), never a traceback.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from core import labels
from core.config import load_settings
from core.holds import HOLD_TYPE_LABELS, HOLD_TYPES
from core.i18n import _


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    type_help = _("hold type: {types}").format(types=" | ".join(HOLD_TYPES))
    p = sub.add_parser("holds", help=_("lots on hold now: KPIs, matrix, reason pareto"))
    p.add_argument("--type", default="all", help=type_help)
    p.add_argument("--matrix", default="qty", metavar="qty|lots",
                   help=_("what the station group x package matrix counts: qty (pcs, the "
                        "factory's hold report; default) or lots"))
    p.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    p.set_defaults(func=run_holds)
    h = sub.add_parser("hold-history", help=_("hold history per shift day: KPIs, trend, paretos"))
    h.add_argument("--start", help=_("first shift day, YYYY-MM-DD (default: a week ending at "
                                   "the live snapshot's shift day)"))
    h.add_argument("--end", help=_("last shift day, YYYY-MM-DD"))
    h.add_argument("--type", default="all", help=type_help)
    h.add_argument("--record", default="new", choices=("new", "on_hold", "released"),
                   help=_("records the reason pareto counts (default: new)"))
    h.add_argument("--grain", default="day", metavar="day|week|month",
                   help=_("trend period (default: day); a period the range or the as-of "
                        "time covers only in part is marked partial"))
    h.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    h.add_argument("--json", action="store_true", help=_("print one JSON object"))
    h.set_defaults(func=run_history)


def _plain(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return [{k: _plain(v) for k, v in r.items()} for r in value.to_dict("records")]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


SHOWN_AS = {"reason": "hold_reason", "new": "new_holds", "future": "future_holds",
            "count": "holds", "pct": "share_pct"}
"""What a hold table's raw column is shown as: a hold's reason (not a loss reason), the
trend's counts as the glossary's measures, a pareto's share."""


def _table(df: pd.DataFrame, index: bool = False) -> str:
    """A text table with its columns' labels (core.labels, in the command's language)."""
    if not len(df):
        return _("(none)")
    df = df.rename(columns=SHOWN_AS)
    shown = df.rename(columns={c: labels.label(str(c)) for c in df.columns})
    if index and df.index.name:
        shown.index.name = labels.label(str(df.index.name))
    return shown.to_string(index=index)


def run_holds(args: argparse.Namespace) -> int:
    from core.db import open_lanes
    from core.holds import current, parse_hold_type

    # a HoldInputError is an InputError: main prints it and exits 1
    hold_type = parse_hold_type(args.type)
    measure = current.parse_matrix_measure(args.matrix)
    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    lanes = open_lanes(settings)
    try:
        o = current.overview(lanes, settings, hold_type, measure)
    finally:
        lanes.close()
    if args.json:
        out = dict(o)
        m = o["matrix"]
        out["matrix"] = {"measure": measure, "rows": list(m.index), "columns": list(m.columns),
                         "values": m.to_numpy().tolist()}
        print(json.dumps(_plain(out), ensure_ascii=False, indent=2))
        return 0
    snap = o["snapshot"]
    print(_("snapshot   {time}").format(time=f"{snap:%Y-%m-%d %H:%M}") if snap
          else _("snapshot   (empty)"))
    if snap and current.is_stale(snap, settings):
        print(_("WARNING    the snapshot is older than {seconds} s: stale?").format(
            seconds=settings.snapshot_stale_s))
    k = o["kpis"]
    print(_("hold type  {type}").format(type=_(HOLD_TYPE_LABELS[hold_type])))
    print(_("source     live snapshot (dw_mes_lot_v)"))
    print(_("lots       {lots:,}   qty {qty:,} pcs (each lot once)   station groups "
            "{groups}").format(lots=k["lots"], qty=k["qty"], groups=k["station_groups"]))
    print(_("days at station (not hold duration): avg {avg}, max {max}").format(
        avg=k["avg_days_at_station"], max=k["max_days_at_station"]))
    w = o["wip"]
    print(_("WIP        RUN {run:,}  QUEUE {queue:,}  HOLD quality {quality:,}  non-quality "
            "{non_quality:,}").format(run=w["RUN"]["lots"], queue=w["QUEUE"]["lots"],
                                      quality=w["HOLD"]["quality"]["lots"],
                                      non_quality=w["HOLD"]["non_quality"]["lots"]))
    unit = _("qty, pcs") if measure == "qty" else _("lots")
    total = {current.TOTAL: _("Total")}  # the matrix's sums: a word, not a name
    print("\n" + _("station group x package ({unit})").format(unit=unit) + "\n"
          + _table(o["matrix"].rename(index=total, columns=total), index=True))
    print("\n" + _("reason pareto (lots)") + "\n" + _table(o["reason_pareto"]))
    print("\n" + _("days at station") + "\n" + _table(o["age_buckets"]))
    return 0


def run_history(args: argparse.Namespace) -> int:
    from core.db import open_lanes
    from core.holds import (
        check_range,
        current,
        history,
        parse_day,
        parse_hold_type,
        reconcile,
        shift_day,
    )
    from core.realtime import snapshot_time

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    # HoldInputError is an InputError: main prints it and exits 1
    hold_type = parse_hold_type(args.type)
    grain = history.parse_grain(args.grain)
    start = parse_day(args.start, "start", settings)
    end = parse_day(args.end, "end", settings)
    if start and end:
        check_range(start, end, settings.hold_history_max_days, settings)
    lanes = open_lanes(settings)
    try:
        snap = snapshot_time(lanes)
        end = end or shift_day(snap or datetime.now(), settings.shift_day_offset_minutes)
        start = start or end - timedelta(days=history.DEFAULT_DAYS - 1)
        h = history.load_history(lanes, settings, start, end, now=snap)
        held = current.load_held_lots(lanes, settings) if snap is not None else None
    finally:
        lanes.close()
    f = history.HistoryFilter(hold_type=hold_type, record_type=args.record)
    rep = history.report(h, f, grain)
    with history.HistoryView(h) as v:
        cmp = reconcile.compare(held, snap, v, f)
    rep["hold_type"], rep["record"] = hold_type, args.record
    rep["on_hold_now_sources"] = cmp.as_dict()
    if args.json:
        print(json.dumps(_plain(rep), ensure_ascii=False, indent=2))
        return 0
    k = rep["kpis"]
    as_of = f"{h.as_of:%Y-%m-%d %H:%M}"
    print(_("shift days {start} – {end} (a day starts at {time} the day before); as of "
            "{as_of}; {rows:,} holds loaded in {seconds:.2f} s; hold type {type}").format(
        start=h.start, end=h.end, time=settings.shift_day_start, as_of=as_of, rows=h.rows,
        seconds=h.load_s, type=_(HOLD_TYPE_LABELS[hold_type])))
    print(_("on hold at {as_of} (hold history) {lots:,} lots, {qty:,} pcs   new {new:,} lots"
            "   released {released:,} holds   net change {net:+,}").format(
        as_of=as_of, lots=k["on_hold_now"], qty=k["on_hold_now_qty"], new=k["new"],
        released=k["released"], net=k["net_change"]))
    print(_sources_text(cmp))
    print(_("hold duration (h): released avg {avg} max {max}; still open avg {open_avg} max "
            "{open_max}").format(avg=k["released_avg_h"], max=k["released_max_h"],
                                 open_avg=k["open_avg_h"], open_max=k["open_max_h"]))
    trend = rep["trend"].drop(columns=["covered_from", "covered_to"])
    trend["partial"] = trend["partial"].map({True: _("partial"), False: ""})
    per = {"day": _("per shift day"), "week": _("per week"), "month": _("per month")}
    print("\n" + per.get(grain, grain) + "\n" + _table(trend))
    if rep["trend"]["partial"].any():
        print(_("partial: a period the range or the as-of time covers only in part"))
    print("\n" + _("reason pareto: {record} (count and qty)").format(
        record=_(history.RECORD_TYPE_LABELS[args.record])) + "\n" + _table(rep["reason_pareto"]))
    buckets = rep["duration_buckets"]
    buckets["kind"] = buckets["kind"].map(lambda k: _(history.DURATION_KINDS.get(k, k)))
    print("\n" + _("hold duration buckets") + "\n" + _table(buckets))
    return 0


def _sources_text(cmp: Any) -> str:
    """The two "on hold now" counts with their source, and the lots that differ."""
    live_n = "–" if cmp.live_lots is None else f"{cmp.live_lots:,}"
    lines = [_("on hold now (live snapshot) {lots} lots").format(lots=live_n)
             + ("" if cmp.live_as_of is None else _(" as of {time}").format(
                 time=f"{cmp.live_as_of:%Y-%m-%d %H:%M}"))]
    if not cmp.comparable:
        lines.append("  " + _("not compared: {note}").format(note=cmp.note))
    elif cmp.differing.empty:
        lines.append("  " + _("both sources list the same lots"))
    else:
        lines.append("  " + _("{n} lot(s) differ: {live} only in the live snapshot, "
                              "{history} only in the hold history").format(
            n=len(cmp.differing), live=cmp.only_live, history=cmp.only_history))
        lines.append(_table(cmp.differing).replace("\n", "\n  ").join(["  ", ""]))
    return "\n".join(lines)
