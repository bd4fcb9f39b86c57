"""The suspect window (core/defects/_window.py) on hand-built lots with a known bad spell."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from core.defects._window import find_window, lots_in_window, period_rates, period_start


def _lots(spec: dict[int, tuple[int, int]]) -> pd.DataFrame:
    """{day of November: (lots, defects per lot)}; every lot 1000 pcs in, passed at noon."""
    rows = []
    for day, (n, d) in spec.items():
        for i in range(n):
            rows.append({"when": datetime(2026, 11, day, 12) + timedelta(minutes=i),
                         "input": 1000, "defects": d})
    return pd.DataFrame(rows)


def test_the_bad_spell_is_the_window() -> None:
    # baseline 0.4 %; days 10-13 at 2 %, with day 12 idle (no lots): bridged
    spec = {d: (4, 4) for d in range(1, 21)}
    spec.update({10: (4, 20), 11: (5, 20), 13: (4, 20)})
    del spec[12]
    spec[16] = (1, 30)  # one lot: too few to call a day elevated
    rates = period_rates(_lots(spec), 0.004, start=date(2026, 11, 1), end=date(2026, 11, 20))
    assert len(rates) == 20  # the idle day is on the axis
    assert rates.loc[rates["period"] == date(2026, 11, 12), "lots"].item() == 0
    w = find_window(rates)
    assert (w.start, w.end) == (date(2026, 11, 10), date(2026, 11, 13))
    assert w.periods == 3 and w.lots == 13
    assert w.rate == pytest.approx(0.02)
    inside = lots_in_window(_lots(spec), w)
    assert len(inside) == 13


def test_two_quiet_days_end_a_run_and_the_longer_run_wins() -> None:
    spec = {d: (4, 4) for d in range(1, 21)}
    spec.update({3: (4, 20), 6: (4, 20), 7: (4, 20), 8: (4, 20)})  # 3 alone; 6-8 a run
    w = find_window(period_rates(_lots(spec), 0.004))
    assert (w.start, w.end) == (date(2026, 11, 6), date(2026, 11, 8))


def test_thin_days_never_end_a_run() -> None:
    # a bad spell from day 5 to day 15 on a machine that runs few lots a day: most days
    # carry one or two lots (thin), which must not split the window
    spec = {d: (4, 4) for d in range(1, 21)}
    spec.update({d: (1, 20) for d in range(5, 16)})
    spec.update({5: (4, 20), 9: (3, 20), 15: (3, 20)})
    rates = period_rates(_lots(spec), 0.004)
    assert set(rates["state"]) == {"elevated", "quiet", "thin"}
    w = find_window(rates)
    assert (w.start, w.end) == (date(2026, 11, 5), date(2026, 11, 15))
    assert w.periods == 3


def test_nothing_elevated_is_no_window() -> None:
    w = find_window(period_rates(_lots({d: (4, 4) for d in range(1, 10)}), 0.004))
    assert not w.found and w.lots == 0


def test_weeks_start_on_monday_and_the_window_ends_on_sunday() -> None:
    assert period_start(pd.Series([datetime(2026, 11, 19, 8)]), "week").iloc[0] == date(
        2026, 11, 16)
    spec = {d: (4, 4) for d in range(2, 30)}
    spec.update({d: (4, 20) for d in range(16, 23)})  # the week of Mon 16 Nov
    w = find_window(period_rates(_lots(spec), 0.004, period="week"), period="week")
    assert (w.start, w.end) == (date(2026, 11, 16), date(2026, 11, 22))


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="period must be one of"):
        period_rates(_lots({1: (1, 1)}), 0.004, period="month")


def test_a_window_the_engineer_sets_is_summed_over_its_periods() -> None:
    from core.defects._window import window_between

    spec = {d: (4, 4) for d in range(1, 21)}
    spec.update({10: (4, 20), 11: (5, 20)})
    rates = period_rates(_lots(spec), 0.004)
    w = window_between(rates, date(2026, 11, 9), date(2026, 11, 11))
    assert (w.start, w.end, w.lots, w.periods) == (date(2026, 11, 9), date(2026, 11, 11),
                                                   13, 2)
    assert w.rate == pytest.approx((4 * 4 + 9 * 20) / 13000)
    assert not window_between(rates, date(2026, 12, 1), date(2026, 12, 2)).found


def test_sparse_suspects_are_read_by_the_week() -> None:
    from core.defects._window import suggest_period

    assert suggest_period(_lots({d: (4, 4) for d in range(1, 10)})) == "day"
    assert suggest_period(_lots({d: (1, 4) for d in range(1, 10)})) == "week"
