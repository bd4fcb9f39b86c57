"""Reject history: bad input is a clear sentence, the demo agrees across backends, and
every registered reject query compiles for Oracle (tests/test_oracle.py covers those)."""

from __future__ import annotations

from datetime import date

import pytest

from core.rejects._inputs import (
    RejectInputError,
    check_range,
    default_range,
    known_values,
    parse_values,
)
from core.rejects._load import load_range
from core.rejects._measures import Filters
from core.rejects._policy import Policy
from core.rejects._slicer import Slicer
from tests.conftest import make_settings

S = make_settings("duckdb:////nonexistent.duckdb")
TODAY = date(2026, 11, 20)


def test_default_range_is_30_days_ending_yesterday() -> None:
    assert default_range(S, TODAY) == (date(2026, 10, 21), date(2026, 11, 19))
    assert check_range(None, "", S, TODAY) == (date(2026, 10, 21), date(2026, 11, 19))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-10", "2026-11-01", "before the start date"),
        ("2025-01-01", "2026-01-01", "366 days; the longest allowed is 365"),
        ("2026-13-01", "2026-11-01", "is not a date: write it as YYYY-MM-DD"),
        ("yesterday", "2026-11-01", "is not a date"),
        ("2026-11-01", None, "both a start and an end"),
    ],
)
def test_bad_ranges(start: str, end: str | None, message: str) -> None:
    with pytest.raises(RejectInputError, match=message):
        check_range(start, end, S, TODAY)


def test_365_days_is_allowed() -> None:
    assert check_range("2025-01-01", "2025-12-31", S) == (date(2025, 1, 1), date(2025, 12, 31))


def test_container_values_limit() -> None:
    values = [f"GA2601{i:05d}" for i in range(10_000)]
    assert len(parse_values("\n".join(values), S)) == 10_000
    # the one list rule (core.values): a space separates names, so "one more" is two
    with pytest.raises(RejectInputError, match=r"10,002 container values exceed the limit "
                       r"of 10,000 \(setting seed_max_values\)"):
        parse_values([*values, "one more"], S)
    assert parse_values(" a, b;a\n\nc ", S) == ["a", "b", "c"]


@pytest.mark.parametrize("text", ["A\x00B", "GA26\x07*", "x" * 10_000])
def test_values_no_name_can_hold_are_a_message_before_any_query(text: str) -> None:
    """A NUL reached PostgreSQL as a query error ('text fields cannot contain NUL')."""
    with pytest.raises(RejectInputError, match=r"control characters|longer than"):
        parse_values(f"LOT-1\n{text}", S)


def test_unknown_values_are_named() -> None:
    good, msg = known_values(["SOT-23", "NOPE"], ["SOT-23", "SOD-323"], "package")
    assert good == ["SOT-23"]
    assert msg == "Unknown package ignored (not in the loaded data): NOPE."
    assert known_values(["SOT-23"], ["SOT-23"], "package") == (["SOT-23"], None)


def test_demo_duckdb_and_postgresql_agree(duckdb_lanes: object, pg_lanes: object) -> None:
    start, end = date(2026, 9, 1), date(2026, 11, 19)
    a, b = Slicer(load_range(duckdb_lanes, start, end).table), Slicer(
        load_range(pg_lanes, start, end).table)
    for policy in (Policy(), Policy(True, True, True, True, True)):
        ka, kb = a.kpis(policy, Filters()), b.kpis(policy, Filters())
        assert ka == kb
        assert ka["charged"] > 0 and ka["movein"] > 0
        pa_, pb = a.pareto(policy, Filters(), "reason"), b.pareto(policy, Filters(), "reason")
        assert pa_.to_dict("records") == pb.to_dict("records")
        ta, tb = a.trend(policy, Filters(), "week"), b.trend(policy, Filters(), "week")
        assert ta.to_dict("records") == tb.to_dict("records")


def test_demo_movein_is_less_than_the_naive_sum(lanes: object) -> None:
    table = load_range(lanes, date(2026, 9, 1), date(2026, 11, 19)).table
    k = Slicer(table).kpis(Policy(True, True, True, True, True), Filters())
    naive = sum(table.column("moveinqty").to_pylist())
    assert 0 < k["movein"] < naive


def test_wildcards_follow_the_trace_seed_rule_including_a_trailing_backslash() -> None:
    from core.rejects._resolve import is_pattern, like_pattern, regex
    from core.trace._seeds import parse_value

    for value in ("GA26*", "W\\_01*", "x_y", "a*\\", "100\\%"):
        v = parse_value(value)
        assert is_pattern(value) == (v.pattern is not None)
        if v.pattern is not None:
            assert like_pattern(value) == v.pattern
    # a lone trailing backslash is a literal backslash, escaped for LIKE ... ESCAPE '\'
    assert parse_value("a*\\").pattern == "a%\\\\"
    assert regex("a*\\").match("abc\\") and not regex("a*\\").match("abc")
    assert regex("W\\_01*").match("W_01-7") and not regex("W\\_01*").match("WX01")
