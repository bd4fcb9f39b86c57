"""The suspect window: since when (and until when) a suspect's lots fail more than the rest.

The problem (issue 16): once a machine is the first suspect, the engineer must know which
of its lots to contain. A machine goes bad at a time (a worn tool, a bad setup after a
maintenance job) and is fixed at a time; the lots it ran outside that window are no more
at risk than any other. So the lots that passed the suspect are grouped by when they
passed it (day or week), each period's defect rate at detection is set against the rate
of the lots that never passed it (the baseline, one number over the whole range), and the
window is the longest run of **elevated** periods.

A period is **elevated** when it has at least ``min_lots`` lots and its rate is at least
``factor`` times the baseline, **quiet** when it has that many lots and a lower rate, and
**thin** when it has fewer lots (too few to say either: a day without production, or one
lot). A run of elevated periods is ended only by more than ``gap`` quiet periods in a row;
thin periods never end it, so a weekend or a slow day does not split a window.
This is deliberately simple and explained on the page in these words; the engineer moves
the window's ends by hand when they know better (a maintenance job, a setup change).

Input is one row per lot that passed the suspect: ``when`` (its pass there), ``input``
and ``defects`` (at detection); plain pandas, as the number of lots of one machine is
small (hundreds to a few thousand).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from core.i18n import N_, _

PERIODS = ("day", "week")
RULE = N_("A period is elevated when at least {min_lots} of the suspect's lots passed it "
        "then and their defect rate at detection is at least {factor:g}x the rate of the lots "
        "that never passed it; the window is the longest run of elevated periods (one quiet "
        "period inside it is bridged; periods with fewer lots never end it).")
"""The rule in words, for the page (format with min_lots and factor)."""
MIN_LOTS = 3
FACTOR = 1.5
RULE_TEXT = RULE.format(min_lots=MIN_LOTS, factor=FACTOR)
"""The rule in English (the CLI, docs); the page shows ``rule_text()``."""


def rule_text() -> str:
    """The window rule in words, in the current language."""
    return _(RULE).format(min_lots=MIN_LOTS, factor=FACTOR)


@dataclass(frozen=True)
class Window:
    start: date | None  # first day of the first elevated period (None: nothing elevated)
    end: date | None  # last day of the last elevated period
    periods: int  # elevated periods in the run
    lots: int  # lots that passed the suspect in the window
    rate: float  # their defect rate
    baseline: float  # the rate of the lots that never passed the suspect

    @property
    def found(self) -> bool:
        return self.start is not None


def suggest_period(lots: pd.DataFrame, *, min_lots: int = MIN_LOTS) -> str:
    """"day" when most days the suspect ran carry enough lots to judge, else "week" (a
    machine that runs one or two lots a day is read by the week)."""
    per_day = period_start(lots["when"], "day").value_counts()
    return "day" if len(per_day) and (per_day >= min_lots).mean() >= 0.5 else "week"


def period_start(when: pd.Series, period: str) -> pd.Series:
    """The first day of each timestamp's day or ISO week (Monday)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    days = pd.to_datetime(when).dt.normalize()
    if period == "week":
        days = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days.dt.date


def period_rates(lots: pd.DataFrame, baseline: float, *, period: str = "day",
                 start: date | None = None, end: date | None = None,
                 min_lots: int = MIN_LOTS, factor: float = FACTOR) -> pd.DataFrame:
    """One row per period from ``start`` to ``end`` (empty periods included, so the time
    axis has no holes): lots, input, defects, rate, baseline and whether it is elevated."""
    step = timedelta(days=7 if period == "week" else 1)
    df = lots.assign(period=period_start(lots["when"], period))
    grouped = df.groupby("period").agg(lots=("input", "size"), input=("input", "sum"),
                                        defects=("defects", "sum"))
    first = start or (grouped.index.min() if len(grouped) else None)
    last = end or (grouped.index.max() if len(grouped) else None)
    if first is None or last is None:
        return pd.DataFrame(columns=["period", "lots", "input", "defects", "rate",
                                     "baseline", "elevated", "state"])
    first = period_start(pd.Series([pd.Timestamp(first)]), period).iloc[0]
    axis = []
    d = first
    while d <= last:
        axis.append(d)
        d = d + step
    out = grouped.reindex(axis, fill_value=0).rename_axis("period").reset_index()
    out["rate"] = (out["defects"] / out["input"]).where(out["input"] > 0, 0.0)
    out["baseline"] = baseline
    enough = out["lots"] >= min_lots
    out["elevated"] = enough & (out["rate"] >= factor * baseline) & (out["rate"] > 0)
    out["state"] = ["elevated" if up else "quiet" if ok else "thin"
                    for up, ok in zip(out["elevated"], enough, strict=True)]
    return out


def find_window(rates: pd.DataFrame, *, period: str = "day", gap: int = 1) -> Window:
    """The longest run of elevated periods in ``period_rates``'s table: up to ``gap`` quiet
    periods in a row are bridged, thin ones always; ties go to the later run (the current
    one)."""
    best: tuple[int, int] | None = None  # (first index, last index)
    run_first = run_last = None
    quiet = 0
    for i, state in enumerate(rates["state"].tolist()):
        if state == "elevated":
            if run_first is None:
                run_first = i
            run_last = i
            quiet = 0
        elif state == "quiet" and run_first is not None:
            quiet += 1
            if quiet > gap:
                best = _longer(best, (run_first, run_last), rates)
                run_first = run_last = None
                quiet = 0
    if run_first is not None:
        best = _longer(best, (run_first, run_last), rates)
    baseline = float(rates["baseline"].iloc[0]) if len(rates) else 0.0
    if best is None:
        return Window(None, None, 0, 0, 0.0, baseline)
    return _summary(rates.iloc[best[0]: best[1] + 1], period, baseline)


def window_between(rates: pd.DataFrame, start: date, end: date, *,
                   period: str = "day") -> Window:
    """The window the engineer set (``start`` to ``end``, whole periods): its lots, their
    rate and how many of its periods are elevated."""
    baseline = float(rates["baseline"].iloc[0]) if len(rates) else 0.0
    first = period_start(pd.Series([pd.Timestamp(start)]), period).iloc[0]
    part = rates[(rates["period"] >= first) & (rates["period"] <= end)]
    if part.empty:
        return Window(None, None, 0, 0, 0.0, baseline)
    return _summary(part, period, baseline)


def _summary(part: pd.DataFrame, period: str, baseline: float) -> Window:
    step = timedelta(days=7 if period == "week" else 1)
    inp = int(part["input"].sum())
    return Window(
        start=part["period"].iloc[0], end=part["period"].iloc[-1] + step - timedelta(days=1),
        periods=int(part["elevated"].sum()), lots=int(part["lots"].sum()),
        rate=float(part["defects"].sum() / inp) if inp else 0.0, baseline=baseline,
    )


def _longer(best: tuple[int, int] | None, run: tuple[int, int],
            rates: pd.DataFrame) -> tuple[int, int]:
    if best is None:
        return run
    size = int(rates["elevated"].iloc[run[0]: run[1] + 1].sum())
    best_size = int(rates["elevated"].iloc[best[0]: best[1] + 1].sum())
    return run if size >= best_size else best


def lots_in_window(lots: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The lots that passed the suspect inside ``window`` (ends included, whole days)."""
    if not window.found:
        return lots.iloc[0:0]
    when = pd.to_datetime(lots["when"])
    lo = datetime.combine(window.start, datetime.min.time())
    hi = datetime.combine(window.end + timedelta(days=1), datetime.min.time())
    return lots[(when >= lo) & (when < hi)]
