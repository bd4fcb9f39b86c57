"""The first-listed-machine rule (core/machines.py): the Python and the DuckDB forms agree."""

from __future__ import annotations

import duckdb
import pytest

from core.machines import first, first_sql, listed

CASES = [("A,B", "A"), (" ,B", "B"), (None, None), ("", None), (" A , B", "A"),
         ("DB-003", "DB-003"), ("A,,B", "A"), (",,", None)]


@pytest.mark.parametrize(("equipment", "expected"), CASES)
def test_python_and_sql_agree(equipment: str | None, expected: str | None) -> None:
    assert first(equipment) == expected
    con = duckdb.connect()
    got = con.execute(f"SELECT {first_sql('e')} FROM (SELECT $e::VARCHAR AS e)",
                      {"e": equipment}).fetchone()[0]
    assert got == expected


def test_listed_keeps_order_and_drops_blanks() -> None:
    assert listed("B, A ,,C") == ["B", "A", "C"]
