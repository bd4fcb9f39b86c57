"""`mesdash rejects` on the tiny demo: JSON output agrees with core; bad input exits 1."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.cli import main
from core.rejects.load import load_range
from core.rejects.measures import Filters, Slicer
from core.rejects.policy import Policy


def test_json_matches_core(duckdb_lanes: object, demo_duckdb_url: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["rejects", "--db", demo_duckdb_url, "--start", "2026-10-01", "--end",
            "2026-11-19", "--json", "--grain", "week"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    sl = Slicer(load_range(duckdb_lanes, date(2026, 10, 1), date(2026, 11, 19)).table)
    assert out["kpis"] == sl.kpis(Policy(), Filters())
    first = out["reason_pareto"][0]
    assert set(first) == {"reason", "charged", "defect", "share_pct", "cum_pct"}
    assert out["reason_pareto"][-1]["cum_pct"] == pytest.approx(100)
    assert out["trend"] and out["trend"][0]["period"].startswith("2026-W")


def test_csv_has_bom(demo_duckdb_url: str, tmp_path: object) -> None:
    target = tmp_path / "r.csv"  # type: ignore[operator]
    assert main(["rejects", "--db", demo_duckdb_url, "--start", "2026-10-01", "--end",
                 "2026-11-19", "--include-excluded", "--csv", str(target)]) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbftime,lot")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", "2026-10-10", "--end", "2026-10-01"], "before the start"),
        (["--start", "2026-10-xx", "--end", "2026-10-01"], "is not a date"),
        (["--start", "2024-10-01", "--end", "2026-10-01"], "longest allowed"),
        (["--start", "2026-10-01", "--end", "2026-11-19", "--package", "NOPE"],
         "Unknown package"),
    ],
)
def test_bad_input_exits_1(demo_duckdb_url: str, capsys: pytest.CaptureFixture[str],
                           extra: list[str], message: str) -> None:
    assert main(["rejects", "--db", demo_duckdb_url, *extra]) == 1
    assert message in capsys.readouterr().err
